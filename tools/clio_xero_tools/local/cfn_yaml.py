"""Load CloudFormation/SAM YAML: short-form intrinsics (``!Ref``, ``!Sub``...) become ``Fn::`` maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!If": "Fn::If",
    "!Not": "Fn::Not",
    "!Equals": "Fn::Equals",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!FindInMap": "Fn::FindInMap",
    "!Base64": "Fn::Base64",
    "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue",
    "!Cidr": "Fn::Cidr",
}


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus the CloudFormation short-form tags."""


def _construct(fn: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if fn == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {fn: value}

    return construct


for _tag, _fn in _TAGS.items():
    _CfnLoader.add_constructor(_tag, _construct(_fn))


def load_template(path: Path) -> dict[str, Any]:
    """Parse a template file into plain JSON-compatible data."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return data
