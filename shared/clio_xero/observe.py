"""What every function needs from logging and metrics, as protocols (Powertools in Lambda, fakes in
tests). The one observability module: intake, sync, connect and webhooks all log and count through
these."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Counter", "Log"]


class Log(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


class Counter(Protocol):
    """Counts a named event (Powertools ``Metrics.add_metric`` with unit Count in Lambda)."""

    def __call__(self, name: str, value: int = 1) -> None: ...
