"""The operator commands' backends that only the CLI runs: replay, settings.

Status, the error list, retry and the dead-letter queue live in :mod:`clio_xero.admin` (the console
function runs them in Lambda too). Each module takes an :class:`~clio_xero.admin.stack.OpsStack`
and returns plain models; ``clio_xero_tools.cli.ops`` only parses options and prints.
"""
