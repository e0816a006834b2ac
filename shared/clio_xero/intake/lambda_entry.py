"""The Lambda side of a receiver: API Gateway event in, API Gateway response out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from clio_xero.intake.http import HttpRequest, HttpResponse, request_from_apigw


class Receiver(Protocol):
    def handle(self, request: HttpRequest) -> HttpResponse: ...


def serve(receiver: Receiver, event: Mapping[str, Any]) -> dict[str, Any]:
    return receiver.handle(request_from_apigw(event)).to_apigw()


class PowertoolsCounter:
    """Adapts Powertools ``Metrics`` to the intake's :class:`~clio_xero.intake.observe.Counter`."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics

    def __call__(self, name: str, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
