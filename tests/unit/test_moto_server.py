"""The local moto server serialises DynamoDB requests (conditional writes atomic, as in DynamoDB;
docs/facts-aws.md#conditional-writes) and leaves the other services' requests alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from clio_xero_tools.local.moto_server import SerialisedDynamoDB


def test_a_dynamodb_request_waits_for_the_one_in_progress_and_others_pass() -> None:
    entered: list[str] = []
    release = threading.Event()
    first_inside = threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        entered.append(environ["name"])
        if environ["name"] == "first":
            first_inside.set()
            assert release.wait(10)
        return [environ["name"].encode()]

    middleware = SerialisedDynamoDB(app)
    answers: dict[str, list[bytes]] = {}

    def call(name: str, target: str) -> None:
        answers[name] = list(middleware({"name": name, "HTTP_X_AMZ_TARGET": target}, lambda *a: None))

    first = threading.Thread(target=call, args=("first", "DynamoDB_20120810.UpdateItem"))
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=call, args=("second", "DynamoDB_20120810.UpdateItem"))
    second.start()
    call("sqs", "AmazonSQS.SendMessage")  # another service: not held up by the DynamoDB request
    assert entered == ["first", "sqs"] and middleware._lock.locked()
    release.set()
    first.join(10)
    second.join(10)
    assert entered == ["first", "sqs", "second"]
    assert answers == {"first": [b"first"], "sqs": [b"sqs"], "second": [b"second"]}


def test_the_dispatcher_resolves_each_host_once_and_answers_as_moto_does(monkeypatch: Any) -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from clio_xero_tools.local.moto_server import CachedDispatch

    listings: list[int] = []
    original = backends.list_of_moto_modules

    def counted() -> Iterable[str]:
        listings.append(1)
        return original()

    monkeypatch.setattr(backends, "list_of_moto_modules", counted)
    cached, plain = CachedDispatch(create_backend_app), DomainDispatcherApplication(create_backend_app)
    for host in ("sqs", "dynamodb", "moto_api", "sqs.us-east-1.amazonaws.com", "sqs", "dynamodb"):
        assert cached.get_backend_for_host(host) == plain.get_backend_for_host(host)
    listings.clear()
    for host in ("sqs", "dynamodb", "sqs.us-east-1.amazonaws.com"):
        cached.get_backend_for_host(host)
    assert listings == []  # answered from memory, no directory listing
