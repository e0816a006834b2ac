"""AWS is reached through the adapter packages only (docs/architecture.md, "Adapters").

DynamoDB adapters live in ``clio_xero.store``, the other AWS adapters (SQS, S3, SSM, boto3 client
construction) in ``clio_xero.aws``; ``clio_xero/wiring.py`` may build clients. Everything else in
the runtime and the Lambda handlers takes an adapter through a port, so it runs unchanged against
AWS, the local runtime and in-memory fakes, and botocore errors are translated in one place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

RUNTIME = ROOT / "shared" / "clio_xero"
ADAPTER_PACKAGES = (RUNTIME / "store", RUNTIME / "aws")
MAY_BUILD_CLIENTS = (RUNTIME / "wiring.py",)
AWS_MODULES = ("boto3", "botocore", "mypy_boto3_")  # mypy_boto3_*: the client's type is an adapter's business
# Operations of the boto3 clients the stack uses (DynamoDB, SQS, S3, KMS, SSM). The names are
# distinctive enough that a hit outside an adapter is an AWS call (boto3.client itself needs the
# boto3 import, which is caught); AES-GCM's encrypt/decrypt are
# called with positional arguments only, boto3 operations with keywords only.
AWS_OPERATIONS = frozenset(
    {
        "get_item",
        "put_item",
        "update_item",
        "delete_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
        "transact_get_items",
        "transact_write_items",
        "send_message",
        "send_message_batch",
        "change_message_visibility",
        "receive_message",
        "delete_message",
        "get_object",
        "put_object",
        "list_objects_v2",
        "head_object",
        "delete_object",
        "get_paginator",
        "generate_data_key",
        "encrypt",
        "decrypt",
        "get_parameter",
        "get_parameters",
        "put_parameter",
    }
)


def aws_uses(source: str) -> list[str]:
    """Where ``source`` imports boto3/botocore or calls an AWS client operation (keyword call)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.stmt | ast.expr):
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        found += [f"line {node.lineno}: import {n}" for n in names if n.startswith(AWS_MODULES)]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in AWS_OPERATIONS
            and node.keywords
            and not node.args
        ):
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
    return found


def _outside_adapters() -> list[Path]:
    modules = [*RUNTIME.rglob("*.py"), *(ROOT / "functions").glob("*/app.py")]
    return sorted(
        p
        for p in modules
        if not any(p.is_relative_to(package) for package in ADAPTER_PACKAGES) and p not in MAY_BUILD_CLIENTS
    )


@pytest.mark.parametrize("module", _outside_adapters(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_aws_calls_outside_the_adapter_packages(module: Path) -> None:
    uses = aws_uses(module.read_text())
    where = module.relative_to(ROOT)
    assert not uses, f"{where} reaches AWS directly ({'; '.join(uses)}): use an adapter in store/ or aws/"


def test_the_check_sees_imports_and_client_calls() -> None:
    """The rule above must be able to fail: each way of reaching AWS is caught."""
    assert aws_uses("import boto3")
    assert aws_uses("from botocore.exceptions import ClientError")
    assert aws_uses("if TYPE_CHECKING:\n    from mypy_boto3_dynamodb import DynamoDBClient")
    assert aws_uses("def f(ddb):\n    ddb.put_item(TableName='t', Item={})")
    assert aws_uses(
        "def f(sqs):\n    sqs.change_message_visibility(QueueUrl='q', ReceiptHandle='h', VisibilityTimeout=1)"
    )
    assert aws_uses("def f():\n    import boto3\n    return boto3.client(service_name='s3')")
    # Not AWS: the project's own adapters, AES-GCM, a dict lookup.
    assert not aws_uses("from clio_xero.store.tokens import DynamoTokenStore")
    assert not aws_uses("def f(aead, n, p):\n    return aead.encrypt(n, p, None)")
    assert not aws_uses("def f(d):\n    return d.get('x')")


def test_every_adapter_package_exists_and_the_scan_covers_the_runtime() -> None:
    assert all(package.is_dir() for package in ADAPTER_PACKAGES)
    scanned = _outside_adapters()
    assert RUNTIME / "sync" / "worker.py" in scanned and RUNTIME / "connect" / "flow.py" in scanned
