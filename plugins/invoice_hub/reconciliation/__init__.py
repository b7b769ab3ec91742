"""Open accounts-receivable reconciliation (``kind: open_ar_reconciliation``, Kolleno's ``seeds/003``).

A partner uploads reports of *all* its open invoices; an invoice in one report and missing from the
next is paid. Each new report (a *snapshot*) is compared with the state the previous ones left in
the ledger: :mod:`.snapshot` reads and judges a report, :mod:`.compare` finds what changed (vectorised,
a million rows at a time), :mod:`.apply` holds or applies a snapshot, :mod:`.outputs` writes the
changes for the integration's destinations.
"""
