"""The sync engine: mapping store, per-record-type syncers, the queue worker, backfill and sweep."""
