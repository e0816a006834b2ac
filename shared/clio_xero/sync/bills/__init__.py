"""Bills as record types of the sync engine (docs/billing.md "The bill plug-in").

* :mod:`.reader`: what is read for a set of bills (Clio, in bulk) and of the organisation (Xero's
  chart, cached per connection);
* :mod:`.plugin`: :class:`~.plugin.BillPlugin` (a Clio bill → one ACCREC invoice, in bursts of up
  to 50) and :class:`~.plugin.ActivityPlugin` (a time entry or expense changed on a bill: its
  bill is synced again).

The rules (what syncs, mapping, preflight, numbers) are the pure core in :mod:`clio_xero.billing`.
"""
