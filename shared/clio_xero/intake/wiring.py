"""Build the receivers' dependencies from settings (AWS clients from clio_xero.aws.clients, with
the receivers' short timeouts).

Handlers call these once per container (memoised in the handler module) and pass everything
else in, so the same intake code runs against AWS, the local runtime's moto server and fakes.
"""

from __future__ import annotations

from typing import Any

from clio_xero.aws.archive import TieredDeliveryArchive
from clio_xero.aws.clients import receiver_client
from clio_xero.aws.parameters import CachedParameter
from clio_xero.aws.queue import SqsEventPublisher
from clio_xero.clock import default_clock
from clio_xero.config import ReceiverSettings, XeroReceiverSettings
from clio_xero.intake.clio import ClioIntake
from clio_xero.intake.observe import Counter, Log
from clio_xero.intake.xero import XeroIntake
from clio_xero.store.connections import DynamoConnectionStore, RememberedConnections
from clio_xero.store.webhook_secrets import KmsDynamoWebhookSecrets


def build_archive(settings: ReceiverSettings, dynamodb: Any) -> TieredDeliveryArchive:
    """Small deliveries in the table, large ones in the bucket (docs/cost.md#the-raw-delivery-archive)."""
    return TieredDeliveryArchive(
        table_name=settings.table_name,
        dynamodb=dynamodb,
        bucket=settings.delivery_bucket,
        s3=receiver_client("s3"),
        retention_days=settings.delivery_retention_days,
    )


def build_xero_intake(settings: XeroReceiverSettings, *, log: Log, count: Counter) -> XeroIntake:
    dynamodb = receiver_client("dynamodb")
    return XeroIntake(
        webhook_key=CachedParameter(settings.xero_webhook_key_parameter, receiver_client("ssm")),
        connections=DynamoConnectionStore(settings.table_name, dynamodb),
        archive=build_archive(settings, dynamodb),
        publisher=SqsEventPublisher(settings.queue_url, receiver_client("sqs")),
        clock=default_clock(),
        log=log,
        count=count,
    )


def build_clio_intake(settings: ReceiverSettings, *, log: Log, count: Counter) -> ClioIntake:
    dynamodb = receiver_client("dynamodb")
    clock = default_clock()
    return ClioIntake(
        # Only whether the connection exists is asked: remembered per container (docs/cost.md).
        connections=RememberedConnections(DynamoConnectionStore(settings.table_name, dynamodb), clock, 300),
        secrets=KmsDynamoWebhookSecrets(
            settings.table_name, dynamodb, receiver_client("kms"), settings.kms_key_id, clock
        ),
        archive=build_archive(settings, dynamodb),
        publisher=SqsEventPublisher(settings.queue_url, receiver_client("sqs")),
        clock=clock,
        log=log,
        count=count,
    )
