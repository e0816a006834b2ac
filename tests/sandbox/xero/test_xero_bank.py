"""Xero's view of a bank account, as the trust report reads it: spend/receive money, bank
transactions and payments filtered by bank account, and /Reports/BankSummary computed from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

from .conftest import BASE

Make = Callable[..., dict[str, Any]]
HEADER = ["Bank Accounts", "Opening Balance", "Cash Received", "Cash Spent", "Closing Balance"]


def messages(r: httpx.Response) -> list[str]:
    return [m["Message"] for e in r.json()["Elements"] for m in e["ValidationErrors"]]


@pytest.fixture
def trust(api: httpx.Client) -> dict[str, Any]:
    """A trust bank account and the liability account its receipts are coded to."""
    bank = {"Code": "093", "Name": "Client Trust Account", "Type": "BANK", "BankAccountNumber": "062-000 1111 2222"}
    made = api.put("Accounts", json={"Accounts": [bank]})
    assert made.status_code == 200, made.text
    assert api.put("Accounts", json={"Code": "850", "Name": "Trust Liability", "Type": "CURRLIAB"}).status_code == 200
    return dict(made.json()["Accounts"][0])


def money(api: httpx.Client, kind: str, bank_code: str, amount: float, day: str, code: str, **extra: Any) -> str:
    element = {"Type": kind, "Contact": {"Name": "Trust Client"}, "BankAccount": {"Code": bank_code}, "Date": day,
               "LineAmountTypes": "NoTax", "Reference": extra.pop("Reference", f"{kind} {day}"),
               "LineItems": [{"Description": kind.title(), "Quantity": 1, "UnitAmount": amount, "AccountCode": code}],
               **extra}  # fmt: skip
    r = api.put("BankTransactions", json={"BankTransactions": [element]})
    assert r.status_code == 200, r.text
    return str(r.json()["BankTransactions"][0]["BankTransactionID"])


def pay_into_090(api: httpx.Client, invoice: dict[str, Any], amount: float, day: str) -> str:
    pay = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": amount, "Date": day}
    r = api.put("Payments", json={"Payments": [pay]})
    assert r.status_code == 200, r.text
    return str(r.json()["Payments"][0]["PaymentID"])


def summary(api: httpx.Client, **params: str) -> dict[str, Any]:
    r = api.get("Reports/BankSummary", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json()["Reports"][0])


def figures(report: dict[str, Any]) -> dict[str, list[str]]:
    section = report["Rows"][1]["Rows"]
    return {row["Cells"][0]["Value"]: [c["Value"] for c in row["Cells"][1:]] for row in section}


def test_spend_and_receive_money_update_and_delete(api: httpx.Client, trust: dict[str, Any]) -> None:
    receipt = money(api, "RECEIVE", "093", 1000, "2026-02-10", "850")
    got = api.get(f"BankTransactions/{receipt}").json()["BankTransactions"][0]
    assert (got["Type"], got["Total"], got["BankAccount"]["AccountID"], got["Status"]) == (
        "RECEIVE", 1000.0, trust["AccountID"], "AUTHORISED"
    )  # fmt: skip
    line_id = got["LineItems"][0]["LineItemID"]
    new_line = {
        "LineItemID": line_id,
        "Description": "Receipt",
        "Quantity": 1,
        "UnitAmount": 1200,
        "AccountCode": "850",
    }
    edited = api.post(f"BankTransactions/{receipt}", json={"BankTransactions": [{"LineItems": [new_line]}]})
    after = edited.json()["BankTransactions"][0]
    assert (after["Total"], after["LineItems"][0]["LineItemID"]) == (1200.0, line_id)
    spend = money(api, "SPEND", "090", 33, "2026-02-11", "429", LineAmountTypes="Exclusive")
    assert api.get(f"BankTransactions/{spend}").json()["BankTransactions"][0]["Total"] == 36.3
    deleted = api.post(f"BankTransactions/{spend}", json={"BankTransactions": [{"Status": "DELETED"}]})
    assert deleted.json()["BankTransactions"][0]["Status"] == "DELETED"
    again = api.post(f"BankTransactions/{spend}", json={"BankTransactions": [{"Reference": "x"}]})
    assert messages(again) == ["This bank transaction is DELETED and cannot be edited"]
    reconciled = money(api, "RECEIVE", "093", 5, "2026-02-12", "850", IsReconciled=True)
    locked = api.post(f"BankTransactions/{reconciled}", json={"BankTransactions": [{"Reference": "changed"}]})
    assert messages(locked) == ["This bank transaction has been reconciled and cannot be edited"]
    to_revenue_with_input = {"Type": "RECEIVE", "Contact": {"Name": "X"}, "BankAccount": {"Code": "093"},
                             "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200",
                                            "TaxType": "INPUT"}]}  # fmt: skip
    refused = api.put("BankTransactions", json={"BankTransactions": [to_revenue_with_input]})
    assert messages(refused) == [
        "The TaxType code INPUT does not exist or cannot be used for this type of transaction."
    ]


def test_bank_summary_from_bank_transactions_and_payments(
    api: httpx.Client, trust: dict[str, Any], make_invoice: Make, make_contact: Make
) -> None:
    # Before the period: 1,000 into trust, an invoice payment of 110 into 090.
    money(api, "RECEIVE", "093", 1000, "2026-02-10", "850")
    pay_into_090(api, make_invoice(amount=100), 110, "2026-02-15")
    # March: 500 in and 200 out of trust; 55 paid into 090; a 22 credit-note refund out of 090.
    money(api, "RECEIVE", "093", 500, "2026-03-05", "850")
    money(api, "SPEND", "093", 200, "2026-03-10", "850")
    pay_into_090(api, make_invoice(amount=50), 55, "2026-03-12")
    contact = make_contact("Refunded Client")["ContactID"]
    cn = api.put("CreditNotes", json={"CreditNotes": [{"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact},
                 "Status": "AUTHORISED", "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": 20,
                 "AccountCode": "200"}]}]}).json()["CreditNotes"][0]  # fmt: skip
    refund = {"CreditNote": {"CreditNoteID": cn["CreditNoteID"]}, "Account": {"Code": "090"}, "Amount": 22,
              "Date": "2026-03-20"}  # fmt: skip
    assert api.put("Payments", json={"Payments": [refund]}).status_code == 200
    # Deleted movements and movements after the period do not count.
    gone = money(api, "SPEND", "093", 999, "2026-03-15", "850")
    api.post(f"BankTransactions/{gone}", json={"BankTransactions": [{"Status": "DELETED"}]})
    deleted_payment = pay_into_090(api, make_invoice(amount=10), 11, "2026-03-21")
    api.post(f"Payments/{deleted_payment}", json={"Payments": [{"Status": "DELETED"}]})
    money(api, "SPEND", "093", 100, "2026-04-02", "850")

    report = summary(api, fromDate="2026-03-01", toDate="2026-03-31")
    assert (report["ReportType"], report["ReportName"]) == ("BankSummary", "Bank Summary")
    assert report["ReportTitles"] == ["Bank Summary", "Test Legal Pty Ltd", "From 1 March 2026 to 31 March 2026"]
    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == HEADER
    assert figures(report) == {
        "Business Bank Account": ["110.00", "55.00", "22.00", "143.00"],
        "Business Savings Account": ["0.00", "0.00", "0.00", "0.00"],
        "Client Trust Account": ["1000.00", "500.00", "200.00", "1300.00"],
        "Total": ["1110.00", "555.00", "222.00", "1443.00"],
    }
    trust_row = next(r for r in report["Rows"][1]["Rows"] if r["Cells"][0]["Value"] == "Client Trust Account")
    assert trust_row["Cells"][0]["Attributes"] == [{"Value": trust["AccountID"], "Id": "accountID"}]
    assert figures(summary(api, fromDate="2026-04-01", toDate="2026-04-30"))["Client Trust Account"] == [
        "1300.00", "0.00", "100.00", "1200.00"
    ]  # fmt: skip

    # The same account through the list endpoints, filtered by bank account and date.
    guid = f'Guid("{trust["AccountID"]}")'
    march = "Date>=DateTime(2026,3,1) AND Date<=DateTime(2026,3,31)"
    rows = api.get("BankTransactions", params={"where": f"BankAccount.AccountID=={guid} AND Status==\"AUTHORISED\""
                                               f" AND {march}", "page": 1}).json()["BankTransactions"]  # fmt: skip
    assert sorted((r["Type"], r["Total"]) for r in rows) == [("RECEIVE", 500.0), ("SPEND", 200.0)]
    bank_090 = api.get("Accounts", params={"where": 'Code=="090"'}).json()["Accounts"][0]["AccountID"]
    payments = api.get("Payments", params={"where": f'Account.AccountID==Guid("{bank_090}") AND Status=="AUTHORISED"'})
    assert sorted((p["PaymentType"], p["Amount"]) for p in payments.json()["Payments"]) == [
        ("ACCRECPAYMENT", 55.0), ("ACCRECPAYMENT", 110.0), ("ARCREDITPAYMENT", 22.0)
    ]  # fmt: skip


def test_bank_summary_defaults_errors_and_scope(
    api: httpx.Client, sandbox: XeroSandbox, org: Org, http: httpx.Client
) -> None:
    report = summary(api)  # the sandbox clock starts on 5 January 2026
    assert report["ReportTitles"][2] == "From 1 January 2026 to 5 January 2026"
    assert report["ReportDate"] == "5 January 2026"
    assert messages(api.get("Reports/BankSummary", params={"fromDate": "2026-02-01", "toDate": "2026-01-01"})) == [
        "fromDate must be on or before toDate"
    ]
    assert messages(api.get("Reports/BankSummary", params={"fromDate": "yesterday"})) == [
        "fromDate is not a valid date"
    ]
    no_reports = sandbox.issue_tokens([org.organisation_id], scope="offline_access accounting.settings")
    r = http.get(f"{BASE}/api.xro/2.0/Reports/BankSummary",
                 headers={"Authorization": f"Bearer {no_reports['access_token']}",
                          "xero-tenant-id": org.organisation_id})  # fmt: skip
    assert (r.status_code, r.json()["Detail"]) == (401, "AuthorizationUnsuccessful")


def test_bank_transfers_move_money_between_accounts(api: httpx.Client, trust: dict[str, Any]) -> None:
    money(api, "RECEIVE", "093", 1000, "2026-03-01", "850")
    transfer = {"FromBankAccount": {"Code": "093"}, "ToBankAccount": {"Code": "090"}, "Amount": 330,
                "Date": "2026-03-09", "Reference": "Bill 1001 paid from trust"}  # fmt: skip
    made = api.put("BankTransfers", json={"BankTransfers": [transfer]})
    assert made.status_code == 200, made.text
    t = made.json()["BankTransfers"][0]
    assert (t["Amount"], t["FromBankAccount"]["Code"], t["ToBankAccount"]["Code"], t["Status"]) == (
        330.0, "093", "090", "AUTHORISED"
    )  # fmt: skip
    legs = {
        leg["Type"]: (leg["BankAccount"]["Code"], leg["Total"], leg["BankTransactionID"])
        for leg in api.get("BankTransactions", params={"where": 'Type.EndsWith("-TRANSFER")'}).json()[
            "BankTransactions"
        ]
    }
    assert legs == {
        "SPEND-TRANSFER": ("093", 330.0, t["FromBankTransactionID"]),
        "RECEIVE-TRANSFER": ("090", 330.0, t["ToBankTransactionID"]),
    }
    locked = api.post(f"BankTransactions/{t['FromBankTransactionID']}", json={"BankTransactions": [{"Reference": "x"}]})
    assert messages(locked) == ["This bank transaction is part of a bank transfer and cannot be edited"]
    march = figures(summary(api, fromDate="2026-03-01", toDate="2026-03-31"))
    assert march["Client Trust Account"] == ["0.00", "1000.00", "330.00", "670.00"]
    assert march["Business Bank Account"] == ["0.00", "330.00", "0.00", "330.00"]
    same = api.put("BankTransfers", json={"BankTransfers": [{**transfer, "ToBankAccount": {"Code": "093"}}]})
    assert messages(same) == ["The from and to bank accounts must be different"]
    not_bank = api.put("BankTransfers", json={"BankTransfers": [{**transfer, "ToBankAccount": {"Code": "200"}}]})
    assert messages(not_bank) == ["ToBankAccount must be an active bank account"]
    # Deleting the transfer deletes both legs; the money is back where it was.
    deleted = api.post(f"BankTransfers/{t['BankTransferID']}", json={"Status": "DELETED"})
    assert deleted.json()["BankTransfers"][0]["Status"] == "DELETED"
    assert api.get(f"BankTransactions/{t['ToBankTransactionID']}").json()["BankTransactions"][0]["Status"] == "DELETED"
    assert figures(summary(api, fromDate="2026-03-01", toDate="2026-03-31"))["Client Trust Account"] == [
        "0.00", "1000.00", "0.00", "1000.00"
    ]  # fmt: skip
    again = api.post(
        "BankTransfers", json={"BankTransfers": [{"BankTransferID": t["BankTransferID"], "Status": "DELETED"}]}
    )
    assert messages(again) == ["This bank transfer has already been deleted"]
    listed = api.get("BankTransfers", params={"where": 'Status=="DELETED"'}).json()["BankTransfers"]
    assert [x["BankTransferID"] for x in listed] == [t["BankTransferID"]]
