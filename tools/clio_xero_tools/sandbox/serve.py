"""Serve both sandboxes on loopback (``clio-xero sandbox up``, ``local up --sandbox``, the demo)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from clio_xero.clock import Clock
from clio_xero_tools.sandbox._base import ServedApp, serve
from clio_xero_tools.sandbox.clio import ClioSandbox
from clio_xero_tools.sandbox.xero import XeroSandbox

log = logging.getLogger(__name__)


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


VALIDATE_ENV = "CLIO_XERO_SANDBOX_VALIDATE"


def validation_requested() -> bool:
    """Validate every response against the official specs? (The test suite turns this on.)"""
    return os.environ.get(VALIDATE_ENV, "") not in ("", "0", "false")


def build_sandboxes(
    *, seed: bool, clock: Clock | None = None, validate: bool | None = None
) -> tuple[ClioSandbox, XeroSandbox]:
    validate = validation_requested() if validate is None else validate
    clio = ClioSandbox(clock=clock, validate_responses=validate)
    xero = XeroSandbox(clock=clock, validate_responses=validate)
    if seed:
        from clio_xero_tools.sandbox.clio.seed import seed_firm
        from clio_xero_tools.sandbox.xero.seed import seed_org

        firm = seed_firm(clio)
        matching = [(name, email) for name, email in firm.contact_names[:100] if email]
        seed_org(xero, matching_contacts=matching)
    return clio, xero


class WebhookPump:
    """Delivers due webhooks from both sandboxes every ``interval`` seconds (served mode).

    Tests call ``deliver_due_webhooks()`` themselves; people running `sandbox up` or
    `local up --sandbox` expect webhooks to just arrive, as they do from the real services.
    """

    def __init__(self, sandboxes: tuple[ClioSandbox, XeroSandbox], interval: float) -> None:
        self._sandboxes = sandboxes
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for sandbox in self._sandboxes:
                try:
                    sandbox.deliver_due_webhooks()
                except Exception:  # a receiver being down must not stop the pump
                    log.exception("webhook delivery from %s failed", type(sandbox).__name__)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@contextmanager
def serve_sandboxes(
    *,
    clio_port: int = 0,
    xero_port: int = 0,
    seed: bool = True,
    clock: Clock | None = None,
    deliver_every: float | None = None,
    validate: bool | None = None,
) -> Iterator[ServedSandboxes]:
    """Both sandboxes on loopback; ``deliver_every`` seconds, if set, a thread delivers webhooks.

    With validation on (``validate``, default from ``CLIO_XERO_SANDBOX_VALIDATE``), leaving the
    block fails if any response the sandboxes produced broke the official specs.
    """
    clio, xero = build_sandboxes(seed=seed, clock=clock, validate=validate)
    with contextlib.ExitStack() as stack:
        clio_server = serve(clio.wsgi_app, port=clio_port)
        stack.callback(clio_server.close)
        xero_server = serve(xero.wsgi_app, port=xero_port)
        stack.callback(xero_server.close)
        if deliver_every is not None:
            stack.callback(WebhookPump((clio, xero), deliver_every).close)
        yield ServedSandboxes(clio, xero, clio_server, xero_server)
        violations = [*clio.schema_violations, *xero.schema_violations]
        if violations:
            raise AssertionError("sandbox responses broke the official specs:\n" + "\n".join(violations[:20]))
