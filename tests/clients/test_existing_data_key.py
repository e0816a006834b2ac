"""``ExistingDataKeyArn``: the stack uses a KMS key it is given instead of creating one (docs/cost.md,
"The KMS key"). Deployed by the local runtime's CloudFormation path into moto over loopback. (The default, a key of
the stack's own, is what every local world deploys: runtime.data_key_arn is read from the same output.)"""

from __future__ import annotations

import boto3

from clio_xero_tools.local.cfn_yaml import load_template
from clio_xero_tools.local.stack import deploy
from clio_xero_tools.local.template import SamTemplate
from tests.clients.conftest import CREDS
from tests.conftest import ROOT, TEMPLATE


def test_an_existing_key_is_used_everywhere_and_no_key_is_created(moto_endpoint: str) -> None:
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_endpoint, **CREDS)  # type: ignore[call-overload]
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, **CREDS)  # type: ignore[call-overload]
    kms = boto3.client("kms", endpoint_url=moto_endpoint, **CREDS)  # type: ignore[call-overload]
    given = kms.create_key(Description="the bookkeeper's shared key")["KeyMetadata"]["Arn"]
    keys_before = len(kms.list_keys()["Keys"])
    template = SamTemplate.from_dict(load_template(TEMPLATE), ROOT)
    stack = deploy(
        template, cloudformation, dynamodb, stack_name="shared-key", parameters={"ExistingDataKeyArn": given}
    )
    assert "DataKey" not in stack.physical_ids and "DataKeyAlias" not in stack.physical_ids
    assert len(kms.list_keys()["Keys"]) == keys_before
    assert stack.outputs["DataKeyArn"] == given
    # Every function that encrypts tokens or secrets is told the given key.
    users = {fid: env["KMS_KEY_ID"] for fid, env in stack.function_env.items() if "KMS_KEY_ID" in env}
    assert users and set(users.values()) == {given}
    # (moto's CloudFormation drops the table's SSESpecification, so the table, bucket and topic keys
    # are checked on the template itself: tests/unit/test_local_pieces.py.)
