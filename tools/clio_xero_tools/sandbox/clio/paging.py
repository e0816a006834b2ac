"""Cursor and offset paging, as pure functions over an ordered list of ids.

docs/facts-clio.md#paging: ``limit`` 1-200 (default 200); cursor paging (``order=id(asc)``, no
``offset``) follows ``meta.paging.next`` which carries ``page_token``; offset paging caps at
10,000 records and answers 422 beyond.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

DEFAULT_LIMIT = 200
MAX_LIMIT = 200
OFFSET_CAP = 10_000


class PagingError(ValueError):
    """Bad paging parameters; ``status`` is what the API answers (400 or 422)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Page:
    ids: list[int]
    next_token: str | None = None  # cursor paging
    next_offset: int | None = None  # offset paging
    previous_offset: int | None = None


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise PagingError(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        # UNCONFIRMED: whether Clio clamps or rejects; rejecting makes client bugs visible.
        raise PagingError(f"limit must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def encode_token(after_id: int, descending: bool) -> str:
    raw = json.dumps({"after": after_id, "desc": descending}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[int, bool]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return int(data["after"]), bool(data["desc"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise PagingError(f"invalid page_token {token!r}") from None


def cursor_page(sorted_ids: list[int], *, limit: int, token: str | None, descending: bool) -> Page:
    """One cursor page of ``sorted_ids`` (already ordered by id in the requested direction)."""
    ids = sorted_ids
    if token is not None:
        after, desc = decode_token(token)
        if desc != descending:
            raise PagingError("page_token does not match the requested order")
        ids = [i for i in ids if (i < after if descending else i > after)]
    page = ids[:limit]
    more = len(ids) > limit
    return Page(ids=page, next_token=encode_token(page[-1], descending) if more and page else None)


def offset_page(ordered_ids: list[int], *, limit: int, offset: int) -> Page:
    """One offset page; offsets at or past the cap answer 422 like Clio's ``ArgumentError``."""
    if offset < 0:
        raise PagingError("offset must not be negative")
    if offset >= OFFSET_CAP:
        raise PagingError(
            f"offset paging is limited to {OFFSET_CAP} records; use cursor paging (order=id(asc))",
            status=422,
        )
    page = ordered_ids[offset : offset + limit]
    more = len(ordered_ids) > offset + limit and offset + limit < OFFSET_CAP
    return Page(
        ids=page,
        next_offset=offset + limit if more else None,
        previous_offset=max(0, offset - limit) if offset > 0 else None,
    )
