"""SSM parameters the runtime reads: the apps' OAuth credentials, the connect-link HMAC key and
the Xero webhook key (each on an injected boto3 SSM client)."""

from __future__ import annotations

import base64
import secrets
import time
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, error_code, translate
from clio_xero.errors import ConfigurationError

__all__ = ["AppCredentials", "CachedParameter", "LinkKey"]

LINK_KEY_NAME = "connect-link-key"
KEY_CACHE_SECONDS = 300


class LinkKey:
    """The connect-link HMAC key: SSM SecureString ``<ConfigPath>/connect-link-key`` (base64)."""

    def __init__(self, config_path: str, ssm: Any, max_age_seconds: float = KEY_CACHE_SECONDS) -> None:
        self.name = f"{config_path.rstrip('/')}/{LINK_KEY_NAME}"
        self._ssm = ssm
        self._max_age = max_age_seconds
        self._value: bytes | None = None
        self._read_at = 0.0

    def get(self) -> bytes:
        # Cached for a few minutes per warm container: a replaced key (every outstanding link
        # revoked) takes effect within that time.
        if self._value is None or time.monotonic() - self._read_at > self._max_age:
            try:
                value = self._ssm.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]["Value"]
            except (ClientError, BotoCoreError) as exc:
                if isinstance(exc, ClientError) and error_code(exc) == "ParameterNotFound":
                    raise ConfigurationError(
                        f"SSM parameter {self.name} is missing: run `clio-xero connect` once to create it"
                    ) from exc
                raise translate(f"read SSM parameter {self.name}", exc) from exc
            self._value = _decode_key(value, self.name)
            self._read_at = time.monotonic()
        return self._value

    def ensure(self) -> bytes:
        """The key, created (random, 32 bytes) when missing. Operator side only."""
        try:
            return self.get()
        except ConfigurationError:
            pass
        value = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        try:
            self._ssm.put_parameter(
                Name=self.name,
                Value=value,
                Type="SecureString",
                Overwrite=False,
                Description="clio-xero: HMAC key of one-time connect links",
            )
        except (ClientError, BotoCoreError) as exc:
            if not (isinstance(exc, ClientError) and error_code(exc) == "ParameterAlreadyExists"):
                raise translate(f"create SSM parameter {self.name}", exc) from exc
        self._value = None  # someone may have won the race: read what is stored
        return self.get()


def _decode_key(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) < 32:
        raise ConfigurationError(f"SSM parameter {name} must hold at least 32 random bytes, base64-encoded")
    return raw


class AppCredentials:
    """OAuth client id/secret per provider from SSM SecureStrings under the config path."""

    def __init__(self, config_path: str, ssm: Any) -> None:
        self._path = config_path.rstrip("/")
        self._ssm = ssm

    @cache  # noqa: B019 - one instance per container; the cache lives as long as it does
    def get(self, provider: str) -> tuple[str, str]:
        names = [f"{self._path}/{provider}/client-id", f"{self._path}/{provider}/client-secret"]
        with aws_errors(f"read {provider} app credentials"):
            found = self._ssm.get_parameters(Names=names, WithDecryption=True)
        values = {p["Name"]: p["Value"] for p in found.get("Parameters", [])}
        missing = [n for n in names if n not in values]
        if missing:
            raise ConfigurationError(f"missing SSM parameters {', '.join(missing)} (see README, Deploy)")
        return values[names[0]], values[names[1]]


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
