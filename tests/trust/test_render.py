"""The report in every format, and the HTML/PDF pages looked at as a person would.

The HTML is drawn by headless Chromium (Debian ``chromium``) to a screenshot and printed to PDF;
our own PDF is rasterised by ``pdftoppm`` (Debian ``poppler-utils``). The PNGs land in
``.cache/artefacts/trust/`` for a person to look at, and the text of both PDFs is extracted with
``pdftotext`` and checked. ``make test`` installs both packages where it can (``make render-tools``);
without them these tests are skipped and say so.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from clio_xero.trust.reconcile import ReconcileInput, TrustReport, reconcile
from clio_xero.trust.render import to_csv, to_html, to_json
from clio_xero_tools import trust_samples as ts
from clio_xero_tools.trust_pdf import to_pdf

ARTEFACTS = Path(__file__).resolve().parents[2] / ".cache" / "artefacts" / "trust"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")


def report(sample: ts.Sample) -> TrustReport:
    return ts.report_for(sample, generated_at=datetime(2026, 2, 2, 9, 30, tzinfo=UTC))


def test_json_keeps_every_figure_exact() -> None:
    body = json.loads(to_json(report(ts.unbalanced())))
    assert body["status"] == "out_of_balance"
    assert body["balances"] == {
        "clio_book": "7700.00",
        "client_ledgers": "7700.00",
        "bank_statement": "6625.00",
        "bank_adjusted": "7175.00",
        "xero": None,
    }
    assert body["unmatched_statement_lines"][0]["amount"] == "-15.00"
    assert [a["balance"] for a in body["negative_ledgers"]] == ["-50.00", "-50.00"]


def test_csv_has_a_row_per_figure_and_item() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report(ts.unbalanced())))))
    by_section: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_section.setdefault(row["section"], []).append(row)
    balances = {r["detail"]: r["amount"] for r in by_section["balance"]}
    assert balances["Clio trust book"] == "7700.00"
    assert balances["Adjusted bank - book"] == "-525.00"
    assert [r["amount"] for r in by_section["deposit_in_transit"]] == ["750.00"]
    assert [r["amount"] for r in by_section["uncleared_payment"]] == ["-200.00"]
    assert [r["amount"] for r in by_section["statement_line_not_in_clio"]] == ["-15.00"]
    assert [r["amount"] for r in by_section["amount_difference"]] == ["-10.00"]
    assert [r["amount"] for r in by_section["ambiguous_1_clio"]] == ["500.00", "500.00"]
    assert [r["matter"] for r in by_section["negative_matter_ledger"]] == ["00204-Dunn"]
    assert [r["matter"] for r in by_section["closed_matter_with_funds"]] == ["00202-Baker"]


def test_html_escapes_what_comes_from_clio_and_the_bank() -> None:
    sample = ts.balanced()
    hostile = sample.transactions[6].model_copy(update={"client_id": 999, "client_name": "<script>alert(1)</script>"})
    txns = [*sample.transactions[:6], hostile, *sample.transactions[7:]]
    page = to_html(
        reconcile(
            ReconcileInput(
                firm="<b>Firm</b>", account=sample.account, as_of=ts.AS_OF, transactions=txns, matters=sample.matters
            )
        )
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Firm&lt;/b&gt;" in page


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _expect_unbalanced_text(text: str) -> None:
    for needle in (
        "Trust account three-way reconciliation",
        "Archer & Co",
        "Client Trust Account",
        "OUT OF BALANCE",
        "7,700.00",  # book and ledgers
        "6,625.00",  # statement
        "7,175.00",  # adjusted bank
        "-525.00",
        "ACCOUNT FEE",
        "-15.00",
        "-310.00",
        "-10.00",
        "Dave Dunn",
        "-50.00",
        "00202-Baker",
        "Prepared by",
        "Reviewed by",
    ):
        assert needle in text, needle


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftoppm, pdftotext) not installed: run `make render-tools`")
@pytest.mark.parametrize("kind", ["balanced", "unbalanced"])
def test_pdf_page_rasterised_and_its_text_checked(kind: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    r = report(ts.balanced() if kind == "balanced" else ts.unbalanced())
    pdf = ARTEFACTS / f"report-{kind}.pdf"
    pdf.write_bytes(to_pdf(r))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(pdf), str(ARTEFACTS / f"report-{kind}-pdf")], check=True, timeout=60
    )
    pages = sorted(ARTEFACTS.glob(f"report-{kind}-pdf*.png"))
    assert pages
    assert all(p.stat().st_size > 10_000 for p in pages)
    text = _pdf_text(pdf)
    if kind == "unbalanced":
        _expect_unbalanced_text(text)
    else:
        assert "BALANCED: every balance compared agrees" in text
        assert "6,750.00" in text
        assert "Further retainer" in text  # the deposit in transit
    assert f"{Decimal('6750.00'):,.2f}" in text or kind == "unbalanced"


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed: run `make render-tools`")
@pytest.mark.skipif(not POPPLER, reason="poppler-utils not installed: run `make render-tools`")
def test_html_page_in_headless_chromium() -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    html = ARTEFACTS / "report-unbalanced.html"
    html.write_text(to_html(report(ts.unbalanced())), encoding="utf-8")
    png, printed = ARTEFACTS / "report-unbalanced-html.png", ARTEFACTS / "report-unbalanced-html.pdf"
    for out in (png, printed):
        out.unlink(missing_ok=True)
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
    subprocess.run(
        [*base, f"--screenshot={png}", "--window-size=1100,2400", html.as_uri()],
        check=True,
        timeout=90,
        capture_output=True,
    )
    subprocess.run(
        [*base, f"--print-to-pdf={printed}", "--no-pdf-header-footer", html.as_uri()],
        check=True,
        timeout=90,
        capture_output=True,
    )
    assert png.stat().st_size > 20_000
    _expect_unbalanced_text(_pdf_text(printed))
