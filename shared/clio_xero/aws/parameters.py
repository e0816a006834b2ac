"""SSM parameters the runtime reads: the connect-link HMAC key."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import error_code, translate
from clio_xero.errors import ConfigurationError

__all__ = ["LinkKey"]

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
