"""Limits shared by both receivers."""

MAX_BODY_BYTES = 1_000_000  # 1 MB: larger deliveries are answered 413 and not stored
