"""Typed settings read from a function's environment once, at first use (never at import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from clio_xero.errors import ConfigurationError


class EnvSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Parse ``env`` (names are matched case-insensitively); a missing variable fails loudly."""
        try:
            return cls.model_validate({k.lower(): v for k, v in env.items()})
        except ValidationError as exc:
            missing = ", ".join(str(e["loc"][0]).upper() for e in exc.errors())
            raise ConfigurationError(f"{cls.__name__}: missing or invalid environment: {missing}") from exc


class ReceiverSettings(EnvSettings):
    """What every webhook receiver needs (set by template.yaml)."""

    table_name: str
    queue_url: str
    delivery_bucket: str
    kms_key_id: str
    #: DeliveryRetentionDays: how long small deliveries kept in the table live (their TTL).
    delivery_retention_days: int = 30


class XeroReceiverSettings(ReceiverSettings):
    xero_webhook_key_parameter: str
