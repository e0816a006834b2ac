"""The Docker-free local runtime: the whole stack from template.yaml on one machine.

``clio-xero local up`` (and the tests) use :class:`~clio_xero_tools.local.runtime.LocalRuntime`:

1. a moto server on 127.0.0.1 stands in for AWS; the data resources (table, queues, bucket, key,
   topic) are created **from template.yaml itself** through moto's CloudFormation;
2. each ``AWS::Serverless::Function`` is imported in-process and invoked with its own environment
   (resolved from the stack, exactly the variables the template gives it);
3. ``HttpApi`` events are served on 127.0.0.1 as API Gateway HTTP API v2 events;
4. ``SQS`` events are polled and delivered in batches with partial-failure semantics;
5. ``Schedule`` events run at their rate.

Limits (see docs/architecture.md, "The local runtime"): handlers run in this Python, not the Lambda runtime; IAM is
not enforced; invocations are serialised (one at a time), like a reserved concurrency of one.
"""
