"""One boto3 client per service, kind and AWS environment per process (clio_xero/aws/clients.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from clio_xero.aws.clients import aws_client, receiver_client


@pytest.fixture(autouse=True)
def local_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")


def test_the_same_service_is_one_client() -> None:
    assert aws_client("sqs") is aws_client("sqs")
    assert receiver_client("sqs") is receiver_client("sqs")


def test_a_service_kind_or_options_differing_is_another_client() -> None:
    sqs = aws_client("sqs")
    assert aws_client("dynamodb") is not sqs
    assert receiver_client("sqs") is not sqs
    assert receiver_client("sqs").meta.config.read_timeout == 2  # the receivers' fail-fast settings
    other = aws_client("sqs", region_name="ap-southeast-2")
    assert other is not sqs and other.meta.region_name == "ap-southeast-2"


def test_another_environment_gets_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    first = aws_client("dynamodb")
    assert first.meta.endpoint_url == "http://127.0.0.1:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")  # another local stack
    second = aws_client("dynamodb")
    assert second is not first and second.meta.endpoint_url == "http://127.0.0.1:2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert aws_client("dynamodb").meta.region_name == "us-west-2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert aws_client("dynamodb") is second  # back to the same environment: the same client


def test_threads_asking_at_once_share_one_client() -> None:
    seen: list[Any] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        seen.append(aws_client("kms", region_name="ca-central-1"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 8 and len({id(client) for client in seen}) == 1
