"""Stopping a foreground server (`clio-xero local up`, `clio-xero sandbox up`) on Ctrl-C or SIGTERM.

Python runs signal handlers in the main thread only, and only between two bytecodes. A signal the
kernel hands to another thread (here: a server thread busy with a request) is noted, but a main
thread blocked in an untimed ``Event.wait()`` never wakes to run the handler: `local up` then
ignored Ctrl-C for ever (seen in the test suite, reproduced with requests in flight; faulthandler
showed the main thread still in ``stop.wait()``). The main thread therefore waits in short slices.
"""

from __future__ import annotations

import threading

# How often the waiting main thread wakes to run a pending signal handler (the reaction time).
SIGNAL_CHECK_SECONDS = 0.2


def wait_for_stop(stop: threading.Event) -> None:
    """Block until ``stop`` is set, waking every SIGNAL_CHECK_SECONDS so signal handlers run."""
    while not stop.wait(SIGNAL_CHECK_SECONDS):
        pass


def request_stop(stop: threading.Event) -> None:
    """Set ``stop`` from a signal handler. The handler runs in the main thread between two
    bytecodes; if that is inside ``stop.wait()`` while it holds the event's (non-reentrant) lock,
    setting it right there would wait for ever on that lock. Another thread sets it once it is free."""
    threading.Thread(target=stop.set, name="stop-request", daemon=True).start()
