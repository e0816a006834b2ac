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
from werkzeug.serving import make_server

__all__ = ["AtomicMotoServer", "SerialisedDynamoDB"]

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


class AtomicMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose DynamoDB writes are atomic, as DynamoDB's are."""

    def _server_entry(self) -> None:
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
