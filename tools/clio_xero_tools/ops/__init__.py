"""What the operator commands do, without the CLI: status, the error list, retry, replay, the DLQ, settings.

Each module takes an :class:`~clio_xero_tools.ops.stack.OpsStack` (boto3 clients + the stack's resource
names) and returns plain models; ``clio_xero_tools.cli.ops`` only parses options and prints. Scripts and
tests can call these directly.
"""
