"""Comments point into the repository: no reference notes outside it (dead links in a fresh
clone), and every ``docs/<file>.md#anchor`` they name exists."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

from tests.conftest import ROOT

CODE_ROOTS = ("shared", "tools", "functions", "tests", "bench")
#: The team's reference notes, which live outside the repository. (``../shared/specs`` is another
#: matter: a place the sandbox looks for newer official specs before the vendored ``specs/``.)
OUTSIDE = re.compile(r"(xero-api|clio-api|anchors|local-aws|style)\.md|shared/reference")
#: Links into the fact sheets (other docs links are checked by their owners' tests).
DOC_LINK = re.compile(r"docs/(facts-[a-z]+\.md)(?:#([a-z0-9-]+))?")


def _comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    out = []
    with path.open("rb") as handle:
        for token in tokenize.tokenize(handle.readline):
            if token.type == tokenize.COMMENT or (
                token.type == tokenize.STRING and token.string.startswith(('"""', "'''", 'f"', '"', "'"))
            ):
                out.append((token.start[0], token.string))
    return out


def _code_files(pattern: re.Pattern[str]) -> list[Path]:
    """The code files whose text matches ``pattern`` somewhere: a comment or docstring is part of
    its file's text, so the others cannot hold a match, and tokenizing (the slow part: 2.7 MB of
    Python) is only needed for these."""
    this = Path(__file__).resolve()
    return [
        p
        for root in CODE_ROOTS
        for p in sorted((ROOT / root).rglob("*.py"))
        if p.resolve() != this and pattern.search(p.read_text(encoding="utf-8"))
    ]


def test_no_comment_points_outside_the_repository() -> None:
    outside = []
    for path in _code_files(OUTSIDE):
        for line, text in _comments_and_docstrings(path):
            found = OUTSIDE.search(text)
            if found:
                outside.append(f"{path.relative_to(ROOT)}:{line}: {found.group(0)}")
    assert outside == []


def test_every_docs_anchor_a_comment_names_exists() -> None:
    broken = []
    for path in _code_files(DOC_LINK):
        for line, text in _comments_and_docstrings(path):
            for name, anchor in DOC_LINK.findall(text):
                doc = ROOT / "docs" / name
                if not doc.exists():
                    broken.append(f"{path.relative_to(ROOT)}:{line}: docs/{name} does not exist")
                elif anchor and f'<a id="{anchor}"></a>' not in doc.read_text():
                    broken.append(f"{path.relative_to(ROOT)}:{line}: docs/{name}#{anchor} has no such anchor")
    assert broken == []
