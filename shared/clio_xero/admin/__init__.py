"""What the operator reads and asks for, in the runtime so the console function can use it in Lambda:
status, the per-record error list, retry, the dead-letter queue.

Each module takes an :class:`~clio_xero.admin.stack.OpsStack` (boto3 clients + the stack's resource
names) and returns plain models. The CLI (``clio_xero_tools.cli.ops``) and the console
(``clio_xero.console``) only parse input and present the result: one implementation for both.
"""
