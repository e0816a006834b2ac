"""After the bill: payments, credit notes, Xero-side changes and the receivables report.

* :mod:`.settings`: the ``payments`` settings section (bank account codes, the trust-paid account,
  the credit-note account, the Xero-side-change policy).
* :mod:`.models`: Clio allocations and credit memos, and the parts of a Xero invoice we compare.
* :mod:`.rules`: pure decisions: an allocation → a Xero payment (or a delete, a skip, a wait),
  a credit memo → an ACCRECCREDIT credit note and its allocation, and the comparison of a Xero
  invoice with what we last wrote (a person's change in Xero, in one sentence).
* :mod:`.receivables`: every synced bill beside its invoice, differences first, in four formats.
* :mod:`.plugins`: the ``allocation``, ``credit_memo`` and ``invoice`` (Xero-side) record types
  plugged into the sync engine; the I/O lives there, nowhere else.

Rules, settings and sources: docs/payments.md.
"""
