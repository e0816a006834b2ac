"""moto's server, with DynamoDB's one guarantee the rate budget, the token lease and the mapping
links rely on: a conditional write is atomic.

moto answers requests on many threads and its DynamoDB backend reads, checks the condition and
writes without a lock, so two concurrent ``UpdateItem`` calls with ``count <= :room`` can both
pass (measured: 8 threads leasing from a 60-a-minute budget counted 65 calls). Real DynamoDB never
lets that happen (docs/facts-aws.md#conditional-writes). Serialising the DynamoDB requests
restores it; the other services keep moto's own threading. Hand-rolled because moto has no option
for it; it is the documented ``ThreadedMotoServer`` with a WSGI wrapper around its application,
served by cheroot rather than werkzeug (see ``AtomicMotoServer``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import ThreadedMotoServer

__all__ = ["AtomicMotoServer", "CachedDispatch", "SerialisedDynamoDB"]

# How long stop() waits for the request threads and the server thread. moto's own stop() waits
# without a bound: one request that never finished used to keep `clio-xero local up` from
# stopping (docs/testing.md).
STOP_WAIT_SECONDS = 5.0

# The request threads. A request holds one only while it is served: idle keep-alive connections
# wait in cheroot's selector, not on a thread. Enough for the busiest test (20 threads refreshing
# one token at once) and the local runtime's pollers side by side; more requests simply queue.
REQUEST_THREADS = 32
LISTEN_BACKLOG = 128  # cheroot's default is 5: twenty threads connecting at once could overflow it
IDLE_CONNECTION_SECONDS = 10  # cheroot closes a connection idle this long (botocore reconnects)

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
    """``ThreadedMotoServer`` whose DynamoDB writes are atomic, as DynamoDB's are, served by cheroot.

    moto's own server is werkzeug's development server, which closes the connection after every
    response and starts a thread per request: boto3 then opens a new TCP connection for each call.
    The local stack makes thousands of calls (about a thousand per billing end-to-end test);
    profiled with py-spy, the werkzeug servers' own request handling was about a seventh of the
    suite's CPU, and serving moto with keep-alive saved about 5% of it
    (docs/testing.md#moto-served-with-keep-alive). cheroot, CherryPy's WSGI server, keeps HTTP/1.1
    connections open between requests and answers from a fixed pool of threads; the application
    is moto's own, unchanged (plus the two wrappers above).
    """

    def __init__(self, ip_address: str = "0.0.0.0", port: int = 5000, verbose: bool = True) -> None:  # noqa: S104 - moto's default
        super().__init__(ip_address=ip_address, port=port, verbose=verbose)
        self._cheroot: Any = None

    def _server_entry(self) -> None:
        from cheroot.wsgi import Server

        app = SerialisedDynamoDB(CachedDispatch(create_backend_app))
        server = Server(
            (self._ip_address, self._port),
            app,
            numthreads=REQUEST_THREADS,
            request_queue_size=LISTEN_BACKLOG,
            timeout=IDLE_CONNECTION_SECONDS,
            shutdown_timeout=int(STOP_WAIT_SECONDS),
        )
        server.prepare()  # binds: port 0 has its real number from here on
        self._cheroot = server
        self._server_ready_event.set()
        server.serve()

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._cheroot is not None, "call start() first"
        host, port = self._cheroot.bind_addr[:2]
        return (str(host), int(port))

    def stop(self) -> None:
        """Stop serving; waits at most STOP_WAIT_SECONDS for the request threads and the server thread."""
        self._server_ready_event.clear()
        if self._cheroot is not None:
            self._cheroot.stop()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_SECONDS)
