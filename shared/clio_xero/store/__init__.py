"""The DynamoDB single-table store and its adapters: connections, Clio webhook secrets, mappings,
settings, sweep cursors and backfill checkpoints.

Key design (one table, ``pk``/``sk`` + GSI ``gsi1``; see docs/architecture.md):

=================================  ===============================  ===============================
item                               pk / sk                          gsi1pk / gsi1sk
=================================  ===============================  ===============================
connection                         ``CONN#<id>`` / ``#CONNECTION``   ``XEROTENANT#<tenant>`` / ``CONN#<id>``
Clio webhook secret (by id)        ``CONN#<id>`` / ``CLIOHOOK#<wid>``
Clio webhook secret (no id yet)    ``CONN#<id>`` / ``CLIOHOOK#pending#<hash>``  (expires after a day)
=================================  ===============================  ===============================
"""
