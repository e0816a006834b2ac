"""Small helpers over the low-level DynamoDB client (typed, no resource layer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """Python values → DynamoDB attribute values (``None`` values are left out)."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values → Python values (bytes for B, Decimal for N)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        decoded = _deserializer.deserialize(value)
        # boto3 wraps B values in Binary; callers want plain bytes.
        out[key] = decoded.value if isinstance(decoded, Binary) else decoded  # type: ignore[attr-defined]
    return out


def key(pk: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"
