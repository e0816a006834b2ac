"""Billing: Clio bills (time entries, expenses, flat fees, discounts, interest) as Xero invoices.

Pure pieces only (no I/O), so the record-type plug-in that later wires them into the sync engine
stays thin:

* :mod:`clio_xero.billing.settings`: the per-connection billing knobs, validated.
* :mod:`clio_xero.billing.clio_models` / :mod:`clio_xero.billing.xero_models`: what Clio serves
  and what Xero takes, as pydantic models named as the official specs name the fields.
* :mod:`clio_xero.billing.eligibility`: which bills sync, the create/update/void/delete decision,
  and ``explain`` ("why didn't this bill sync?").
* :mod:`clio_xero.billing.mapping`: a bill → an ACCREC invoice, with the totals check.
* :mod:`clio_xero.billing.preflight`: every mapped account code, tax type, tracking option and
  currency checked against the organisation before anything is sent.
* :mod:`clio_xero.billing.numbers`: the invoice-number clash policy (never a silent renumber).
* :mod:`clio_xero.billing.spend_money`: hard costs as Xero spend-money transactions (opt-in).

Rules, settings and sources: docs/billing.md; field by field: docs/mapping-bills.md.
"""
