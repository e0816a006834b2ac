"""Trust accounts: the three-way reconciliation (Clio's trust book, client ledgers, the bank).

Reads only; writes nothing to Clio or Xero. docs/trust-report.md says what is compared and how.
"""
