"""A useful subset of Xero's ``where`` filter, parsed into a predicate over response JSON.

Supported (what integrations actually send, per docs/facts-xero.md#batching and the SDK examples)::

    Status=="AUTHORISED" AND Type=="ACCREC"
    Contact.ContactID==Guid("...")         ContactID=guid("...")   (a single = is accepted too)
    Name.Contains("smith")  Name.StartsWith("Ab")  Name.EndsWith("Ltd")
    ContactNumber!=null     AmountDue>=100.5        Date>=DateTime(2026,01,01)
    IsCustomer==true        (A OR B) AND NOT C       && and || as synonyms

The predicate runs against the record as serialised for the response, so field names are exactly
the ones clients see. String comparisons are case-insensitive (UNCONFIRMED: Xero's store is SQL
Server with a case-insensitive collation as far as anyone has observed). Anything else raises
:class:`WhereError`, which the API answers with a 400 rather than silently ignoring the filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Predicate", "WhereError", "parse_where"]

Predicate = Callable[[Mapping[str, Any]], bool]


class WhereError(ValueError):
    """The ``where`` expression is outside the supported subset or malformed."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|>=|<=|=|>|<|&&|\|\||\(|\)|,|\.)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Tok]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise WhereError(f"cannot parse where clause near {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text.upper() != text.upper()):
            raise WhereError(f"expected {text or 'more input'} in where clause")
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in ("op", "ident") and tok.text.upper() in texts

    def parse(self) -> Predicate:
        pred = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise WhereError(f"unexpected {extra.text!r} in where clause")
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at("OR", "||"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.at("AND", "&&"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def unary(self) -> Predicate:
        if self.at("NOT"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if self.at("("):
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        path = [self.take().text]
        if path[0] in ("(", ")") or not path[0][:1].isalpha():
            raise WhereError(f"expected a field name, got {path[0]!r}")
        while self.at("."):
            self.take(".")
            name = self.take().text
            if name in ("Contains", "StartsWith", "EndsWith") and self.at("("):
                self.take("(")
                arg = self.value()
                self.take(")")
                if not isinstance(arg, str):
                    raise WhereError(f"{name}() needs a string argument")
                return _method(tuple(path), name, arg)
            path.append(name)
        tok = self.take()
        if tok.kind != "op" or tok.text not in ("==", "!=", "=", ">", "<", ">=", "<="):
            raise WhereError(f"expected a comparison operator after {'.'.join(path)}")
        return _compare(tuple(path), "==" if tok.text == "=" else tok.text, self.value())

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            return tok.text[1:-1].replace('\\"', '"')
        if tok.kind == "number":
            return Decimal(tok.text)
        word = tok.text.upper()
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if word == "NULL":
            return None
        if word == "GUID":
            self.take("(")
            guid = self.take()
            self.take(")")
            if guid.kind != "string":
                raise WhereError("Guid() needs a quoted value")
            return _Guid(guid.text[1:-1].lower())
        if word in ("DATETIME", "DATE"):
            self.take("(")
            nums = [int(self.take().text)]
            while self.at(","):
                self.take(",")
                nums.append(int(self.take().text))
            self.take(")")
            full = nums + [0, 1, 1, 0, 0, 0][len(nums) :]
            try:
                return datetime(full[0], full[1], full[2], full[3], full[4], full[5], tzinfo=UTC)
            except (TypeError, ValueError) as exc:
                raise WhereError(f"bad DateTime(): {exc}") from None
        raise WhereError(f"unsupported value {tok.text!r} in where clause")


@dataclass(frozen=True)
class _Guid:
    value: str


def _field(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = record
    for name in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(name)
    return cur


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        m = _MS_DATE.match(value)
        if m:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(m.group(1)))
    return None


def _normalise(field: Any, want: Any) -> tuple[Any, Any]:
    """Bring a record value and a literal to comparable Python values."""
    if isinstance(want, _Guid):
        return (str(field).lower() if field is not None else None), want.value
    if isinstance(want, datetime):
        return _as_datetime(field), want
    if isinstance(want, Decimal):
        try:
            return (Decimal(str(field)) if field is not None and not isinstance(field, bool) else None), want
        except InvalidOperation:
            return None, want
    if isinstance(want, str):
        return (str(field).casefold() if field is not None else None), want.casefold()
    return field, want


def _compare(path: tuple[str, ...], op: str, want: Any) -> Predicate:
    def pred(record: Mapping[str, Any]) -> bool:
        got, lit = _normalise(_field(record, path), want)
        if op == "==":
            return bool(got == lit)
        if op == "!=":
            return bool(got != lit)
        if got is None or lit is None:
            return False
        try:
            if op == ">":
                return bool(got > lit)
            if op == "<":
                return bool(got < lit)
            if op == ">=":
                return bool(got >= lit)
            return bool(got <= lit)
        except TypeError:
            return False

    return pred


def _method(path: tuple[str, ...], name: str, arg: str) -> Predicate:
    needle = arg.casefold()

    def pred(record: Mapping[str, Any]) -> bool:
        value = _field(record, path)
        if not isinstance(value, str):
            return False
        hay = value.casefold()
        if name == "Contains":
            return needle in hay
        if name == "StartsWith":
            return hay.startswith(needle)
        return hay.endswith(needle)

    return pred


def parse_where(text: str) -> Predicate:
    """Compile a ``where`` expression; raise :class:`WhereError` if it is outside the subset."""
    tokens = _tokenize(text)
    if not tokens:
        return lambda _r: True
    return _Parser(tokens).parse()
