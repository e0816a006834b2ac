"""The few HTML pages a person sees while connecting. Every value is escaped."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from clio_xero.intake.http import HttpResponse

# No caching, no referrer (a connect link or OAuth code must not leak to another site), no framing.
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'",
    "x-content-type-options": "nosniff",
}


def page(status: int, title: str, paragraphs: Sequence[str], *, links: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    items = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if links:
        items += (
            "<ul>"
            + "".join(
                f'<li><a href="{html.escape(href, quote=True)}">{html.escape(text)}</a></li>' for text, href in links
            )
            + "</ul>"
        )
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;line-height:1.5}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{items}</body></html>"
    )
    return HttpResponse(
        status=status, body=body, headers={"content-type": "text/html; charset=utf-8", **SECURITY_HEADERS}
    )


def redirect(location: str, *, cookies: Mapping[str, str] | None = None) -> HttpResponse:
    headers = {"location": location, **SECURITY_HEADERS}
    headers.update(cookies or {})
    return HttpResponse(status=302, body="", headers=headers)


def refused(reason: str) -> HttpResponse:
    return page(403, "Connect link refused", [reason])
