"""Responses the sandbox sends that the official spec does not describe, each with the reason.

``validate_responses=True`` skips exactly these; everything else must validate. Keep this list
and the "Deliberate deviations" table in docs/sandbox-clio.md in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    method: str  # "*" for any
    path: str  # regex over the request path
    status: int | None  # None for any
    reason: str
    always: bool = False  # skip even when the spec documents the status (the body differs on purpose)


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "PUT",
        r"^/api/v4/webhooks/\d+/activate(\.json)?$",
        None,
        "Delayed activation is described only in the Webhooks tag text, not as a path.",
    ),
    Deviation("*", r"^/api/v4/", 410, "410 for an invalid X-API-VERSION is documented in prose, not per operation."),
    Deviation(
        "*", r"^/api/v4/", 404, "Unknown routes and records answer 404; the spec lists 404 only on some operations."
    ),
    Deviation("*", r"^/api/v4/", 412, "412 on a stale If-Match is documented in prose for every PATCH."),
    Deviation("*", r"^/api/v4/", 422, "422 validation errors exist on more operations than the spec lists."),
    Deviation("*", r"^/api/v4/", 429, "429 applies to every operation; the spec lists it on most, not all."),
    Deviation("*", r"^/api/v4/", 400, "400 for bad fields/paging applies to every operation."),
    Deviation(
        "*",
        r"^/api/v4/",
        401,
        "401 answers Clio's OAuth shape {error: invalid_token, error_description} [SUP-401], "
        "while the spec points 401 at the Error schema.",
        always=True,
    ),
    Deviation("*", r"^/api/v4/", 403, "403 applies to every operation."),
    Deviation("*", r"^/api/v4/", 500, "Injected faults."),
    Deviation("*", r"^/api/v4/", 503, "Injected faults."),
)


@dataclass(frozen=True)
class FieldDeviation:
    """A field whose served value the spec types wrongly; errors matching ``pattern`` are skipped."""

    pattern: str  # regex over a validator message
    reason: str


FIELD_DEVIATIONS: tuple[FieldDeviation, ...] = (
    FieldDeviation(
        r"\.(services_)?(secondary_)?taxable_sub_total: -?\d+\.\d+ is not of type 'integer'",
        "The spec types Bill's four taxable sub-totals as integers although they are money; the "
        "sandbox serves them to the cent (a whole-number value would be wrong money).",
    ),
)


def matching(method: str, path: str, status: int) -> Deviation | None:
    for d in DEVIATIONS:
        if d.method in {"*", method} and (d.status is None or d.status == status) and re.search(d.path, path):
            return d
    return None


def filter_violations(method: str, path: str, status: int, errors: list[str]) -> list[str]:
    """Drop errors for deviations. A listed status is only skipped when *undocumented*; if the spec
    documents it, the body must still validate (e.g. a documented 404 must use the Error schema)."""
    errors = [e for e in errors if not any(re.search(f.pattern, e) for f in FIELD_DEVIATIONS)]
    if not errors:
        return errors
    dev = matching(method, path, status)
    if dev is None:
        return errors
    if dev.status is None or dev.always:
        return []
    return [] if errors[0].startswith("undocumented:") else errors
