"""The built-layer trim and check `make build` runs after `sam build` (docs/packaging.md).

Checked on a layer laid out the way ``sam build`` lays it out (``python/`` with packages and their
``.dist-info``), with the dependency shape that made the layer carry a botocore of its own.
"""

from __future__ import annotations

from pathlib import Path

from clio_xero_tools.layer import main, problems, prune

DISTRIBUTIONS: dict[str, list[str]] = {
    "aws-lambda-powertools": ["jmespath<2.0.0,>=1.0.1", 'boto3<2,>=1.34; extra == "aws-sdk"'],
    "aws-xray-sdk": ["wrapt", "botocore>=1.11.3"],
    "wrapt": [],
    "botocore": [
        "jmespath<2.0.0,>=0.7.1",
        "python-dateutil<3.0.0,>=2.1",
        'urllib3!=2.2.0,<3,>=1.25.4; python_version >= "3.10"',
    ],
    "jmespath": [],
    "python-dateutil": ["six>=1.5"],
    "six": [],
    "urllib3": [],
    "httpx": ["anyio", 'brotli; extra == "brotli"'],
    "anyio": [],
}


def build_layer(root: Path, names: dict[str, list[str]]) -> Path:
    site = root / "python"
    for name, requires in names.items():
        package = name.replace("-", "_")
        info = site / f"{package}-1.0.dist-info"
        info.mkdir(parents=True)
        (site / package).mkdir()
        (site / package / "__init__.py").write_text("")
        metadata = "".join(f"Requires-Dist: {r}\n" for r in requires)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{metadata}")
        record = [f"{package}/__init__.py,,", f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
        (info / "RECORD").write_text("\n".join(record) + "\n")
    requirements = site / "requirements.txt"
    requirements.write_text("# the layer's\naws-lambda-powertools>=3.30\nhttpx>=0.28\naws-xray-sdk>=2.12\n")
    return requirements


def test_prune_drops_botocore_and_what_only_it_needs(tmp_path: Path) -> None:
    requirements = build_layer(tmp_path, DISTRIBUTIONS)
    assert problems(tmp_path) == ["runtime-provided botocore 1.0", "runtime-provided package folder python/botocore"]
    removed = prune(tmp_path, requirements)
    assert removed == ["botocore", "python-dateutil", "six", "urllib3"]
    left = sorted(p.name for p in (tmp_path / "python").iterdir())
    assert left == sorted(
        [
            *(f"{n.replace('-', '_')}-1.0.dist-info" for n in DISTRIBUTIONS if n not in removed),
            *(n.replace("-", "_") for n in DISTRIBUTIONS if n not in removed),
            "requirements.txt",
        ]
    )
    assert problems(tmp_path) == []  # jmespath stays: Powertools needs it too


def test_check_fails_on_the_tooling_package_and_on_a_shipped_boto3(tmp_path: Path) -> None:
    requirements = build_layer(tmp_path, {"boto3": ["botocore"], "botocore": []})
    (tmp_path / "python" / "clio_xero_tools" / "sandbox").mkdir(parents=True)
    assert main([str(tmp_path), "--requirements", str(requirements), "--check-only"]) == 1
    assert problems(tmp_path) == [
        "tooling package python/clio_xero_tools",
        "runtime-provided boto3 1.0",
        "runtime-provided botocore 1.0",
        "runtime-provided package folder python/boto3",
        "runtime-provided package folder python/botocore",
    ]
    # Pruning removes the SDK (nothing requires it once the runtime provides it) but never the
    # tooling package, which is not an installed distribution: the check still fails.
    assert main([str(tmp_path), "--requirements", str(requirements)]) == 1
    assert problems(tmp_path) == ["tooling package python/clio_xero_tools"]


def test_no_layer_is_an_error_not_a_pass(tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing")]) == 2
