"""Pieces both sandboxes share: request log, seeded fault injection, serving over loopback."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from clio_xero.clients.tls import tls_context

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication


@dataclass(frozen=True)
class LoggedRequest:
    """One API call as the sandbox saw it (admin calls under ``/_sandbox`` are not logged)."""

    method: str
    path: str
    status: int
    connection: str | None  # Clio: access-token owner; Xero: xero-tenant-id
    at: str  # ISO-8601 of the sandbox clock


class RequestLog:
    """Thread-safe append-only log that tests and benchmarks read to count API calls."""

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def entries(self, *, method: str | None = None, path_prefix: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            items = list(self._items)
        return [
            i
            for i in items
            if (method is None or i.method == method) and (path_prefix is None or i.path.startswith(path_prefix))
        ]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(i) for i in self.entries()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class FaultPlan:
    """What to break, with probabilities in [0, 1]. Seeded so a failing run can be replayed.

    ``status_codes`` is the pool a server error is drawn from; ``burst_429`` answers the next N
    API calls with 429 regardless of probability; ``latency_ms`` is added to every call (the
    sandbox never sleeps on a virtual clock, so this is real wall time: keep it small in tests).
    """

    seed: int = 0
    error_rate: float = 0.0
    status_codes: tuple[int, ...] = (500, 503)
    timeout_rate: float = 0.0
    latency_ms: int = 0
    burst_429: int = 0
    # webhook delivery faults
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    reorder: bool = False
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    def roll(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "rng"}
        if "status_codes" in known:
            known["status_codes"] = tuple(int(c) for c in known["status_codes"])
        return cls(**known)


def delivery_client(transport: httpx.BaseTransport | None, timeout: float) -> httpx.Client:
    """The client a sandbox POSTs its webhooks with (verifying TLS as httpx does by default)."""
    return httpx.Client(transport=transport, timeout=timeout, verify=tls_context())  # one per process: clients/tls.py


def wsgi_transport(app: WSGIApplication) -> httpx.WSGITransport:
    """An httpx transport that calls the sandbox in-process (no sockets)."""
    return httpx.WSGITransport(app=app)


class ServedApp:
    """A WSGI app served on 127.0.0.1 in a daemon thread; ``close()`` stops it."""

    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import ThreadedWSGIServer, make_server

        server = make_server(host, port, app, threaded=True)
        assert isinstance(server, ThreadedWSGIServer)
        self._server = server
        # close() must not wait for request threads (daemons): socketserver's server_close() joins
        # each one without a bound, so one slow request (a simulated timeout) held up every close.
        server.block_on_close = False
        self.host = host
        self.port = int(self._server.server_port)
        # A short poll interval makes close() quick (the default 0.5 s adds up across tests).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"serve-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> ServedApp:
    """Serve ``app`` on loopback (port 0 picks a free port)."""
    return ServedApp(app, host, port)


def first(values: Iterable[str] | None) -> str | None:
    """First element of an optional iterable of strings (query/header helpers)."""
    for v in values or ():
        return v
    return None
