"""The ledger's invoices: what transfers received, and what exports made of them.

Transfers record each invoice they read from a file that went through (one transaction per run),
whatever they deliver, passthrough included, with the outputs it is in (``invoice_outputs``: its
link to the deliveries of those outputs); exports select
by date, customer, type and status, and record per invoice and destination what they delivered or
skipped, which the ``reexport`` policy and ``invoice-hub find-invoices`` consult.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Engine, Select, and_, insert, select, tuple_, update
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import InvoiceExport, InvoiceOutput, InvoiceRecord, utcnow
from invoice_hub.model import Invoice, party_id

_CHUNK = 500


@dataclass(frozen=True)
class Received:
    """One invoice read from a received file, with where its documents are kept."""

    invoice: Invoice
    source_file_id: int | None
    source_path: str
    source_sha256: str
    source_url: str
    document_url: str
    #: Each output the invoice is in, ``(name, sha256)`` or ``(name, sha256, store URL)``: the
    #: deliveries of those are its deliveries (see :class:`OutputLink`).
    outputs: tuple[tuple[str, str] | tuple[str, str, str | None], ...] = ()
    approved_at: dt.datetime | None = None  # in the accounting system an export read it from
    #: The customer id when the source knows its customers by its own ids (an accounting system's
    #: contact id); else the buyer's identifier in the invoice (``party_id``).
    customer: str | None = None


class OutputLink(NamedTuple):
    """An output a received invoice is in: its name, its sha256 (what deliveries are keyed by) and,
    when it was rendered rather than passed through, where the document store keeps it."""

    name: str
    sha256: str
    url: str | None = None


@dataclass(frozen=True)
class Criteria:
    """What an export run selects (all optional but the window, unless numbers are given)."""

    date_field: str = "issue_date"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    customers: list[str] | None = None  # None: all
    types: tuple[str, ...] = ("invoice", "credit_note")
    statuses: tuple[str, ...] = ("open", "paid")
    sources: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()


class Invoices:
    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine()

    def record_received(self, integration: str, run_id: str, received: list[Received]) -> int:
        """Record the invoices a transfer run read, each with its outputs; those recorded before (a
        retry, or the same file again) are kept as they are."""
        now = utcnow()
        added = 0
        with self.engine.begin() as connection:
            for start in range(0, len(received), _CHUNK):
                chunk = received[start : start + _CHUNK]
                known: set[tuple[str, str, str]] = set(
                    connection.execute(
                        select(InvoiceRecord.source_sha256, InvoiceRecord.number, InvoiceRecord.type).where(
                            InvoiceRecord.integration == integration,
                            tuple_(InvoiceRecord.source_sha256, InvoiceRecord.number, InvoiceRecord.type).in_(
                                [(r.source_sha256, r.invoice.number, r.invoice.type) for r in chunk]
                            ),
                        )
                    ).all()
                )
                new = []
                for r in chunk:  # the same invoice twice in one file: its first occurrence is the record
                    key = (r.source_sha256, r.invoice.number, r.invoice.type)
                    if key not in known:
                        known.add(key)
                        new.append(r)
                if not new:
                    continue
                ids = connection.execute(
                    insert(InvoiceRecord).returning(InvoiceRecord.id, sort_by_parameter_order=True),
                    [_row(integration, run_id, now, r) for r in new],
                ).scalars()
                links = [
                    {
                        "invoice_id": invoice_id,
                        "integration": integration,
                        "output_name": link.name,
                        "output_sha256": link.sha256,
                        "output_url": link.url,
                    }
                    for invoice_id, r in zip(ids, new, strict=True)
                    for link in (OutputLink(*output) for output in r.outputs)
                ]
                if links:
                    connection.execute(insert(InvoiceOutput), links)
                added += len(new)
        return added

    def source_documents(self, integration: str, source_sha256s: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Of these sources (``source_sha256``), those this integration recorded invoices of, with
        the ``source_url`` and ``document_url`` recorded."""
        wanted = list(dict.fromkeys(source_sha256s))
        found: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                rows = connection.execute(
                    select(
                        InvoiceRecord.source_sha256, InvoiceRecord.source_url, InvoiceRecord.document_url
                    ).where(
                        InvoiceRecord.integration == integration,
                        InvoiceRecord.source_sha256.in_(wanted[start : start + _CHUNK]),
                    )
                )
                found.update((sha, (source_url, document_url)) for sha, source_url, document_url in rows)
        return found

    def replace_documents(
        self, integration: str, source_sha256: str, source_url: str, document_url: str
    ) -> None:
        """Point a recorded invoice at new documents: an accounting record read without its PDF (its
        customer was not activated) and read again with it."""
        with self.engine.begin() as connection:
            connection.execute(
                update(InvoiceRecord)
                .where(InvoiceRecord.integration == integration, InvoiceRecord.source_sha256 == source_sha256)
                .values(source_url=source_url, document_url=document_url)
            )

    def select(self, criteria: Criteria) -> list[InvoiceRecord]:
        """The invoices matching ``criteria``, oldest first (by the date field, then number)."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.scalars(selection_query(criteria)))

    def set_status(self, numbers: Iterable[str], status: str, source: str | None = None) -> dict[str, int]:
        """Mark invoices ``open``, ``paid`` or ``cancelled`` (what ``select.statuses`` filters on);
        how many rows each number matched (0: not in the ledger), all in one transaction."""
        matched: dict[str, int] = {}
        with self.engine.begin() as connection:
            for number in dict.fromkeys(numbers):
                query = update(InvoiceRecord).where(InvoiceRecord.number == number)
                if source is not None:
                    query = query.where(InvoiceRecord.integration == source)
                matched[number] = connection.execute(query.values(status=status)).rowcount
        return matched

    def exported(self, integration: str, invoice_ids: Iterable[int]) -> dict[int, list[InvoiceExport]]:
        """What this export delivered of these invoices before, by invoice id."""
        wanted = list(invoice_ids)
        found: dict[int, list[InvoiceExport]] = {}
        with Session(self.engine, expire_on_commit=False) as session:
            for start in range(0, len(wanted), _CHUNK):
                for row in session.scalars(exported_query(integration, wanted[start : start + _CHUNK])):
                    found.setdefault(row.invoice_id, []).append(row)
        return found

    def record_exports(self, integration: str, run_id: str, rows: list[dict]) -> None:
        """Record exports (``invoice_id``, ``destination``, ``output_name``, ``output_sha256``,
        ``output_url``, ``remote_path``, ``status``, ``reason``) once per run and outcome: a retried
        task updates its row; a run cleared and run again (a backfill) adds its own outcome."""
        if not rows:
            return
        with self.engine.begin() as connection:
            for row in rows:
                this = and_(
                    InvoiceExport.integration == integration,
                    InvoiceExport.run_id == run_id,
                    InvoiceExport.invoice_id == row["invoice_id"],
                    InvoiceExport.destination == row["destination"],
                    InvoiceExport.status == row["status"],
                )
                updated = connection.execute(
                    update(InvoiceExport).where(this).values(**row, recorded_at=utcnow())
                )
                if not updated.rowcount:
                    connection.execute(
                        insert(InvoiceExport).values(
                            integration=integration, run_id=run_id, recorded_at=utcnow(), **row
                        )
                    )


def selection_query(criteria: Criteria) -> Select[InvoiceRecord]:
    """What ``criteria`` selects, oldest first (by the date field, then number): export runs, the
    CLI's and the dashboard's "Find invoices" read the same selection."""
    date = getattr(InvoiceRecord, criteria.date_field)
    query = select(InvoiceRecord).where(
        InvoiceRecord.type.in_(criteria.types), InvoiceRecord.status.in_(criteria.statuses)
    )
    if criteria.numbers:
        query = query.where(InvoiceRecord.number.in_(criteria.numbers))
    if criteria.start is not None:
        query = query.where(date >= interval_bound(criteria.date_field, criteria.start))
    if criteria.end is not None:
        query = query.where(date < interval_bound(criteria.date_field, criteria.end))
    if criteria.customers is not None:
        query = query.where(InvoiceRecord.customer.in_(criteria.customers))
    if criteria.sources:
        query = query.where(InvoiceRecord.integration.in_(criteria.sources))
    return query.order_by(date, InvoiceRecord.number, InvoiceRecord.id)


def exported_query(integration: str, invoice_ids: list[int]) -> Select[InvoiceExport]:
    """What this export delivered of these invoices (at most ``_CHUNK`` ids)."""
    return select(InvoiceExport).where(
        InvoiceExport.integration == integration,
        InvoiceExport.status == "delivered",
        InvoiceExport.invoice_id.in_(invoice_ids),
    )


def interval_bound(date_field: str, moment: dt.datetime) -> dt.datetime | dt.date:
    """For issue_date, a date belongs to the interval that holds its midnight (UTC): every date falls
    in exactly one of a row of intervals, hourly ones included."""
    if date_field != "issue_date":
        return moment
    moment = moment.astimezone(dt.UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.date() if moment == midnight else moment.date() + dt.timedelta(days=1)


def _row(integration: str, run_id: str, now: dt.datetime, received: Received) -> dict:
    invoice = received.invoice
    totals = invoice.totals
    customer = received.customer or party_id(invoice.buyer)
    return {
        "integration": integration,
        "source_file_id": received.source_file_id,
        "source_path": received.source_path,
        "run_id": run_id,
        "received_at": now,
        "approved_at": received.approved_at,
        "number": invoice.number,
        "type": invoice.type,
        "status": "open",
        "sender": party_id(invoice.seller),
        "sender_name": invoice.seller.name or invoice.seller.trading_name,
        "receiver": customer,
        "receiver_name": invoice.buyer.name or invoice.buyer.trading_name,
        "customer": customer,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "currency": invoice.currency,
        "total_without_vat": totals.tax_exclusive,
        "total_vat": totals.tax,
        "total_with_vat": totals.tax_inclusive,
        "payable": totals.payable,
        "customer_order_number": invoice.order_reference,
        "supplier_order_number": invoice.sales_order_reference,
        "source_sha256": received.source_sha256,
        "source_url": received.source_url,
        "document_url": received.document_url,
    }
