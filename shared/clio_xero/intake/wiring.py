"""Build the receivers' dependencies from settings: the only place that creates AWS clients.

Handlers call these once per container (memoised in the handler module) and pass everything
else in, so the same intake code runs against AWS, the local runtime's moto server and fakes.
"""

from __future__ import annotations

from typing import Any

from clio_xero.aws.archive import S3DeliveryArchive
from clio_xero.aws.clients import receiver_client
from clio_xero.aws.errors import aws_errors
from clio_xero.aws.queue import SqsEventPublisher
from clio_xero.clock import default_clock
from clio_xero.config import ReceiverSettings, XeroReceiverSettings
from clio_xero.intake.clio import ClioIntake
from clio_xero.intake.observe import Counter, Log
from clio_xero.intake.xero import XeroIntake
from clio_xero.store.connections import DynamoConnectionStore
from clio_xero.store.webhook_secrets import KmsDynamoWebhookSecrets

WEBHOOK_KEY_CACHE_SECONDS = 300


class CachedParameter:
    """A SecureString read from SSM and kept for a few minutes (a rotated key is picked up)."""

    def __init__(self, name: str, ssm: Any, max_age: int = WEBHOOK_KEY_CACHE_SECONDS) -> None:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        self._name = name
        self._max_age = max_age
        self._provider = SSMProvider(boto3_client=ssm)

    def __call__(self) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = self._provider.get(self._name, decrypt=True, max_age=self._max_age)
        except GetParameterError as exc:
            with aws_errors(f"read SSM parameter {self._name}"):
                raise (exc.__cause__ or exc) from exc
            raise
        return str(value)


def build_xero_intake(settings: XeroReceiverSettings, *, log: Log, count: Counter) -> XeroIntake:
    return XeroIntake(
        webhook_key=CachedParameter(settings.xero_webhook_key_parameter, receiver_client("ssm")),
        connections=DynamoConnectionStore(settings.table_name, receiver_client("dynamodb")),
        archive=S3DeliveryArchive(settings.delivery_bucket, receiver_client("s3")),
        publisher=SqsEventPublisher(settings.queue_url, receiver_client("sqs")),
        clock=default_clock(),
        log=log,
        count=count,
    )


def build_clio_intake(settings: ReceiverSettings, *, log: Log, count: Counter) -> ClioIntake:
    dynamodb = receiver_client("dynamodb")
    clock = default_clock()
    return ClioIntake(
        connections=DynamoConnectionStore(settings.table_name, dynamodb),
        secrets=KmsDynamoWebhookSecrets(
            settings.table_name, dynamodb, receiver_client("kms"), settings.kms_key_id, clock
        ),
        archive=S3DeliveryArchive(settings.delivery_bucket, receiver_client("s3")),
        publisher=SqsEventPublisher(settings.queue_url, receiver_client("sqs")),
        clock=clock,
        log=log,
        count=count,
    )
