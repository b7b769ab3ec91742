"""An export whose invoices come from an accounting system (``source: {type: billy, ...}``): what a
run reads there and records in the ledger before it selects, as a transfer records what it received.

Every run reads its own range again (an interval, a backfill's day, a person's dates), so an invoice
approved late, or a customer activated since, is exported by re-running that range; the ledger keeps
each accounting record once (``source_path`` ``billy:<id>``), so reading it again changes nothing
and ``reexport`` decides what a destination gets again.

Activated customers' invoices are recorded with their PDFs; the others without them (never
downloaded for a customer the export does not export), so that ``find-invoices`` and the
dashboard list them as not activated. A record that
cannot be a canonical invoice (no lines, an unknown tax rate) is returned with its findings; the
export fails it by name and goes on with the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from invoice_hub.accounting import AccountingError
from invoice_hub.document_store import DocumentStore
from invoice_hub.exchange.select import activated
from invoice_hub.reasons import Reason

if TYPE_CHECKING:
    from invoice_hub.accounting import AccountingSource, DateField, SourcedInvoice
    from invoice_hub.config.models import Integration
    from invoice_hub.ledger.invoices import Criteria, Received
    from invoice_hub.model import Invoice

#: The range a run without bounds reads (a manual export by customer; ``select.period: all``): the
#: whole books. A manual export by invoice numbers reads those invoices alone.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


@dataclass
class SourceRead:
    """What one read of an accounting source found, beyond what it recorded in the ledger."""

    read: int = 0
    recorded: int = 0
    """New in the ledger (records read before are kept as they are)."""
    not_activated: list[SourcedInvoice] = field(default_factory=list)
    failed: list[tuple[SourcedInvoice, Reason, str]] = field(default_factory=list)
    """Activated customers' records that cannot be exported, each with its code and why (naming
    it): not a canonical invoice (its findings), or a PDF the accounting system would not give."""


def source_path(sourced: SourcedInvoice) -> str:
    """How the ledger names an accounting record: ``billy:<invoice id>`` (unique per integration)."""
    return f"{sourced.source}:{sourced.source_id}"


def problem_text(sourced: SourcedInvoice) -> str:
    """Why an accounting record is not exported, naming it (for the run's failure list)."""
    named = f"{sourced.source} invoice {sourced.number}"
    reasons = [f"{f.message} [{f.rule}]" for f in sourced.findings] or ["cannot be mapped"]
    return "; ".join(r if named in r else f"{named} (id {sourced.source_id}): {r}" for r in reasons)


def read_into_ledger(
    integration: Integration,
    criteria: Criteria,
    run_id: str,
    engine: Engine,
    source: AccountingSource | None = None,
) -> SourceRead:
    """Read ``criteria``'s range from the integration's accounting source and record it in the
    ledger (``source``: an open one, else opened from the connection): activated customers'
    invoices with their PDFs; the others without (listed as not activated, by ``find-invoices`` and
    the dashboard alike), their PDFs fetched once their customer is activated and a run reads them.

    Records the ledger has complete are not downloaded again: a backfill of a day read before
    costs the listing, not every PDF."""
    from invoice_hub.accounting import open_source
    from invoice_hub.ledger.invoices import Invoices

    config = integration.accounting_source
    assert config is not None, f"{integration.name} has no accounting source"
    opened = source is None
    source = source or open_source(config.type, config.conn_id)
    ledger = Invoices(engine)
    result = SourceRead()
    try:
        exportable, listed = _classify(integration, criteria, source, result)
        known = ledger.source_documents(integration.name, [_identity(s) for s in exportable + listed])
        complete = {sha for sha, (source_url, document_url) in known.items() if source_url != document_url}
        store = DocumentStore()
        with_pdf = list(_with_pdfs(store, [s for s in exportable if _identity(s) not in complete], result))
    finally:
        if opened:
            source.close()
    for completed in (r for r in with_pdf if r.source_sha256 in known):  # activated since it was read
        ledger.replace_documents(
            integration.name, completed.source_sha256, completed.source_url, completed.document_url
        )
    received = [r for r in with_pdf if r.source_sha256 not in known]
    received += [_kept(store, s, s.invoice) for s in listed if _identity(s) not in known and s.invoice]
    result.recorded = ledger.record_received(integration.name, run_id, received)
    return result


def _identity(sourced: SourcedInvoice) -> str:
    """The ledger's ``source_sha256`` of an accounting record: the hash of its source path (the
    record's identity, not its bytes: its PDF or balance may change, the invoice stays one)."""
    return hashlib.sha256(source_path(sourced).encode()).hexdigest()


def _classify(
    integration: Integration, criteria: Criteria, source: AccountingSource, result: SourceRead
) -> tuple[list[SourcedInvoice], list[SourcedInvoice]]:
    """The records the range holds that this export exports, and the mappable ones of customers not
    activated (recorded without their PDFs); the others noted in ``result``."""
    if criteria.numbers and criteria.start is None and criteria.end is None:
        documents = source.numbered(criteria.numbers)  # a manual export by invoice: those, wherever
    else:
        date_field: DateField = "approved_at" if criteria.date_field == "approved_at" else "issue_date"
        documents = source.documents(criteria.start or EARLIEST, criteria.end or LATEST, date_field)
    exportable, listed = [], []
    for sourced in documents:
        result.read += 1
        if not _wanted(integration, criteria, sourced):
            continue
        if not activated(integration, sourced.customer_id):
            result.not_activated.append(sourced)
            if sourced.mappable:
                listed.append(sourced)
        elif not sourced.mappable:
            result.failed.append((sourced, Reason.EXPORT_UNMAPPABLE, problem_text(sourced)))
        else:
            exportable.append(sourced)
    return exportable, listed


def _with_pdfs(
    store: DocumentStore, exportable: list[SourcedInvoice], result: SourceRead
) -> Iterator[Received]:
    """Each record with its PDF, kept in the document store: what the ledger is to record."""
    for sourced in exportable:
        try:
            invoice = sourced.with_pdf()
        except AccountingError as exc:
            if exc.retryable:  # the service, not this invoice: the task's retry reads it all again
                raise
            why = f"{sourced.source} invoice {sourced.number}: {exc}"
            result.failed.append((sourced, Reason.FETCH_UNREADABLE, why))
            continue
        yield _kept(store, sourced, invoice)


def _kept(store: DocumentStore, sourced: SourcedInvoice, invoice: Invoice) -> Received:
    """``invoice`` (``sourced``'s, with its PDF or not yet) in the document store, as the ledger
    records it: the PDF is its source document; without one, the canonical invoice is."""
    from invoice_hub.ledger.invoices import Received

    pdf = next((a.content for a in reversed(invoice.attachments) if a.content), None)
    document_url, _ = store.put_bytes(invoice.model_dump_json().encode(), ".json")
    source_url = store.put_bytes(pdf, ".pdf")[0] if pdf else document_url
    return Received(
        invoice=invoice,
        source_file_id=None,
        source_path=source_path(sourced),
        source_sha256=_identity(sourced),
        source_url=source_url,
        document_url=document_url,
        approved_at=sourced.approved_at,
        customer=sourced.customer_id,  # billy's contact id: what customers: names
    )


def _wanted(integration: Integration, criteria: Criteria, sourced: SourcedInvoice) -> bool:
    """Within a person's choice of numbers or customer (the range was the listing's filter); the
    customers ``select.customers`` leaves out are kept, to be listed as not activated."""
    if criteria.numbers and sourced.number not in criteria.numbers:
        return False
    chosen = criteria.customers
    if chosen is not None and chosen != integration.select.customers and sourced.customer_id not in chosen:
        return False
    return sourced.document_type in criteria.types
