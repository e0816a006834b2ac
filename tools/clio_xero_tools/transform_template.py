"""Transform template.yaml with aws-sam-translator, offline, and print the CloudFormation JSON.

Runs in the tools venv (.venv-tools), because aws-sam-translator pins a pydantic version that
conflicts with the app's. The template tests call it as a subprocess and assert on the output:
those are the checks cfn-lint does not make (see tests/unit/test_template.py).

Usage: .venv-tools/bin/python tools/clio_xero_tools/transform_template.py [template.yaml] > out.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


class _NoManagedPolicies:
    """Stands in for the IAM-backed ManagedPolicyLoader: we use only inline statements."""

    def load(self) -> dict[str, str]:
        return {}


def transform_file(path: Path) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(path.read_text())
    for resource in sam["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            uri = props.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                # The translator needs S3 URIs; the real ones come from `sam build`/`sam package`.
                props[key] = "s3://placeholder/" + uri.strip("/")
    result: dict[str, Any] = transform(sam, {}, _NoManagedPolicies())
    return result


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
    json.dump(transform_file(path), sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
