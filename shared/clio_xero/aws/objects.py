"""A bucket as the few object operations the scheduled trust report needs (list, get, put)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from clio_xero.aws.errors import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Objects"]


class S3Objects:
    """Objects of one bucket, on an injected boto3 S3 client; botocore errors become project errors."""

    def __init__(self, bucket: str, s3: S3Client) -> None:
        self.bucket = bucket
        self._s3 = s3

    def keys(self, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        with aws_errors(f"list s3://{self.bucket}/{prefix}"):
            return [
                o["Key"]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for o in page.get("Contents", [])
            ]

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        with aws_errors(f"read s3://{self.bucket}/{key}"):
            try:
                return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with aws_errors(f"write s3://{self.bucket}/{key}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
