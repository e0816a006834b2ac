"""moto's server, with DynamoDB's one guarantee the rate budget, the token lease and the mapping
links rely on: a conditional write is atomic.

moto answers requests on many threads and its DynamoDB backend reads, checks the condition and
writes without a lock, so two concurrent ``UpdateItem`` calls with ``count <= :room`` can both
pass (measured: 8 threads leasing from a 60-a-minute budget counted 65 calls). Real DynamoDB never
lets that happen (docs/facts-aws.md#conditional-writes). Serialising the DynamoDB requests
restores it; the other services keep moto's own threading. Hand-rolled because moto has no option
for it; it is the documented ``ThreadedMotoServer`` with a WSGI wrapper around its application.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import ThreadedWSGIServer, make_server

__all__ = ["AtomicMotoServer", "CachedDispatch", "SerialisedDynamoDB"]

# How long stop() waits for the server thread. moto's own stop() waits without a bound, and
# werkzeug's serve_forever() ends with server_close(), which joins every request thread: one
# request that never finishes used to keep `clio-xero local up` from stopping (docs/testing.md).
STOP_WAIT_SECONDS = 5.0

DYNAMODB_TARGET = "DynamoDB_"  # the X-Amz-Target prefix of every DynamoDB API call


class SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time (the whole response produced under the lock)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(DYNAMODB_TARGET):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class CachedDispatch(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host.

    moto resolves the backend of every request anew, and that lists its package directory and
    stats each of its ~150 service folders (``moto.backends.list_of_moto_modules``): measured, about
    5% of an end-to-end test's time. A host's backend never changes while the server runs."""

    def __init__(self, create_app: Callable[..., Any]) -> None:
        super().__init__(create_app)
        self._backend_by_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_by_host:  # a race only computes the same answer twice
            self._backend_by_host[host] = super().get_backend_for_host(host)
        return self._backend_by_host[host]


class AtomicMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose DynamoDB writes are atomic, as DynamoDB's are."""

    def _server_entry(self) -> None:
        app = SerialisedDynamoDB(CachedDispatch(create_backend_app))
        server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        assert isinstance(server, ThreadedWSGIServer)
        # Request threads are daemons; closing the server must not wait for them (see STOP_WAIT_SECONDS).
        server.block_on_close = False
        self._server = server
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.05)  # stop() waits for the next poll (default 0.5 s)

    def stop(self) -> None:
        """moto's ``stop()`` with a bounded wait for the server thread."""
        self._server_ready_event.clear()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_SECONDS)
