"""Serve both sandboxes on loopback (``clio-xero sandbox up``, ``local up --sandbox``, the demo)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from clio_xero.clock import Clock
from clio_xero.sandbox._base import ServedApp, serve
from clio_xero.sandbox.clio import ClioSandbox
from clio_xero.sandbox.xero import XeroSandbox


@dataclass
class ServedSandboxes:
    clio: ClioSandbox
    xero: XeroSandbox
    clio_server: ServedApp
    xero_server: ServedApp

    def describe(self) -> list[str]:
        return [
            f"Clio Manage sandbox  {self.clio_server.url}  (API {self.clio_server.url}/api/v4, "
            f"OAuth {self.clio_server.url}/oauth/authorize, admin {self.clio_server.url}/_sandbox/)",
            f"Xero sandbox         {self.xero_server.url}  (API {self.xero_server.url}/api.xro/2.0, "
            f"identity {self.xero_server.url}/connect/authorize, admin {self.xero_server.url}/_sandbox/)",
        ]


def build_sandboxes(*, seed: bool, clock: Clock | None = None) -> tuple[ClioSandbox, XeroSandbox]:
    clio = ClioSandbox(clock=clock)
    xero = XeroSandbox(clock=clock)
    if seed:
        from clio_xero.sandbox.clio.seed import seed_firm
        from clio_xero.sandbox.xero.seed import seed_org

        firm = seed_firm(clio)
        matching = [(name, email) for name, email in firm.contact_names[:100] if email]
        seed_org(xero, matching_contacts=matching)
    return clio, xero


@contextmanager
def serve_sandboxes(
    *, clio_port: int = 0, xero_port: int = 0, seed: bool = True, clock: Clock | None = None
) -> Iterator[ServedSandboxes]:
    clio, xero = build_sandboxes(seed=seed, clock=clock)
    clio_server = serve(clio.wsgi_app, port=clio_port)
    try:
        xero_server = serve(xero.wsgi_app, port=xero_port)
        try:
            yield ServedSandboxes(clio, xero, clio_server, xero_server)
        finally:
            xero_server.close()
    finally:
        clio_server.close()
