"""The seed's "Find invoices": an export's invoices, each not activated, not exported, exported or
(an accounting record that is no invoice) cannot be exported. One function for ``invoice-hub
find-invoices`` and the dashboard's view, so that both list the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from invoice_hub.config.models import Integration
from invoice_hub.ledger.dashboard import FindState, FoundInvoice, find_invoices
from invoice_hub.ledger.invoices import Criteria

if TYPE_CHECKING:
    from invoice_hub.accounting import SourcedInvoice


def find_export_invoices(
    integration: Integration,
    engine: Engine,
    customer: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    invoice_numbers: Iterable[str] = (),
) -> list[FoundInvoice]:
    """What the export's Trigger params would select, from the ledger; for an export whose source
    is an accounting system, its range is read from the books into the ledger first, as a run would,
    so that the list is what the books hold now, not only what runs have read (records not
    recorded, such as those that are no invoice, are listed after the ledger's, by number)."""
    from invoice_hub.exchange.select import activated, criteria_for

    criteria = criteria_for(
        integration,
        None,
        None,
        customer=customer,
        date_from=date_from,
        date_to=date_to,
        invoice_numbers=list(invoice_numbers),
    )
    unrecorded: list[FoundInvoice] = []
    if integration.accounting_source is not None:
        unrecorded = _read_books(integration, engine, criteria)
    with engine.connect() as connection:
        found = find_invoices(
            connection, integration.name, criteria, lambda customer: activated(integration, customer)
        )
    listed = {(invoice.number, invoice.customer) for invoice in found}
    return found + [invoice for invoice in unrecorded if (invoice.number, invoice.customer) not in listed]


def _read_books(integration: Integration, engine: Engine, criteria: Criteria) -> list[FoundInvoice]:
    from invoice_hub.exchange.accounting_read import read_into_ledger

    run_id = f"find-invoices__{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}"
    read = read_into_ledger(integration, criteria, run_id, engine)
    states: list[tuple[SourcedInvoice, FindState, str | None]] = [
        (sourced, FindState.NOT_ACTIVATED, None) for sourced in read.not_activated
    ]
    states += [
        (sourced, FindState.CANNOT_BE_EXPORTED, f"[{code}] {why}") for sourced, code, why in read.failed
    ]
    return [
        FoundInvoice(
            id=None,
            number=sourced.number,
            type=sourced.document_type,
            issue_date=sourced.issue_date,
            received_at=None,
            customer=sourced.customer_id,
            state=state,
            exported_to=(),
            exported_at=None,
            reason=reason,
        )
        for sourced, state, reason in states
    ]
