"""The ledger's tables: every source file the hub has seen, every delivery it made, and the open-AR
snapshots, receivables and status changes of reconciliations.

Statuses are plain strings (not database enums) so that later versions can add some without a
type migration on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Context, Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

#: 64-bit ids; SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
ID_TYPE = BigInteger().with_variant(Integer, "sqlite")
#: Digits an amount may have in the ledger: 28 before the decimal point, 10 after it (invoices carry
#: 2 in their totals, reports up to 4; 10 leaves room without rounding anything a document states).
AMOUNT_PRECISION, AMOUNT_SCALE = 38, 10


_WIDE = Context(prec=AMOUNT_PRECISION + 2)
_CENT = Decimal("0.01")


class ExactAmount(TypeDecorator[Decimal]):
    """An amount, exact in every backend: ``NUMERIC(38, 10)`` where the database has exact decimals
    (PostgreSQL, MySQL), the Decimal's plain text (``12345678901234567890.01``) in a TEXT column on
    SQLite, whose NUMERIC affinity would store a REAL (``1e+20``: a one-cent change lost).

    Amounts are never compared, summed or ordered in SQL (text would not order as numbers): the
    reconciliation compares them in Python (``invoice_hub.amounts.amounts_to_units``). One that
    does not fit is refused, never rounded.
    """

    impl = Numeric(AMOUNT_PRECISION, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(AMOUNT_PRECISION, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or (isinstance(value, float) and value != value):  # NaN: pandas' "missing"
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if not amount.is_finite():
            raise ValueError(f"amount {value!r}: not a finite number")
        text = format(amount, "f")  # plain notation: "1E+20" -> "100000000000000000000"
        integer, _, fraction = text.lstrip("-").partition(".")
        if (
            len(fraction.rstrip("0")) > AMOUNT_SCALE
            or len(integer.lstrip("0")) > AMOUNT_PRECISION - AMOUNT_SCALE
        ):
            raise ValueError(
                f"amount {amount}: the ledger keeps at most {AMOUNT_PRECISION - AMOUNT_SCALE} digits "
                f"before and {AMOUNT_SCALE} after the decimal point, exactly"
            )
        return text if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """The same Decimal from every backend: PostgreSQL pads to 10 decimals, SQLite keeps the text
        as written; both come back with their trailing zeros dropped, down to cents (``12.50``)."""
        if value is None:
            return None
        amount = (value if isinstance(value, Decimal) else Decimal(str(value))).normalize(_WIDE)
        # exponent is a str ("n", "N", "F") only for NaN and Infinity, which process_bind_param refuses
        if amount.as_tuple().exponent > -2:  # type: ignore[operator]  # see above
            amount = amount.quantize(_CENT, context=_WIDE)
        return amount


#: Every amount column of the ledger.
AMOUNT_TYPE = ExactAmount()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite returns the stored UTC times without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class SourceFile(Base):
    """One version (path, size, modification time) of a file at an integration's source."""

    __tablename__ = "source_files"
    __table_args__ = (
        UniqueConstraint("integration", "source_path", "size", "mtime", name="uq_source_file_version"),
        Index("ix_source_files_integration_sha256", "integration", "sha256"),
        # The dashboard (ledger/dashboard.py): its listing in time order, per integration, per
        # status (rejected files), and the health figures (last success, last failure, waiting).
        Index("ix_source_files_updated_at", "updated_at", "id"),
        Index("ix_source_files_integration_updated_at", "integration", "updated_at", "id"),
        Index("ix_source_files_status_updated_at", "status", "updated_at", "id"),
        Index("ix_source_files_integration_status_updated_at", "integration", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    source_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    #: The machine-readable code of ``reason`` (``validate.peppol``, ``transform.loss``, ...).
    reason_code: Mapped[str | None] = mapped_column(String(60))
    #: The rule ids of the findings that rejected the file (or that it was delivered with), distinct,
    #: in their order, space-separated (``BR-CO-15 PEPPOL-EN16931-R001``): what a person searches by.
    finding_ids: Mapped[str | None] = mapped_column(Text)
    #: What validation found (``ledger.outcomes.Validation`` as JSON: the level, the count of each
    #: severity, the first 100 findings); None when the file was not validated (``validate: none``).
    validation: Mapped[str | None] = mapped_column(Text)
    #: What conversion wrote (``ledger.outcomes.Conversion`` as JSON: input and output format, how
    #: many files; their names are in ``invoice_outputs``); None when the file was not converted.
    conversion: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(250))
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One output delivered (or being delivered) to one destination."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("integration", "destination", "output_sha256", name="uq_delivery_once"),
        # The dashboard: whether (and where) a source file's invoices were delivered.
        Index("ix_deliveries_source_file", "source_file_id", "integration", "status"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_files.id", ondelete="SET NULL"))
    destination: Mapped[str] = mapped_column(Text)
    output_name: Mapped[str] = mapped_column(Text)
    output_sha256: Mapped[str] = mapped_column(String(64))
    remote_path: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[str] = mapped_column(String(250))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: Stable per (integration, destination, output): the Message-ID / Idempotency-Key it is sent with,
    #: noted before the first attempt, so that every retry sends the same one.
    delivery_id: Mapped[str | None] = mapped_column(String(64))


class ArSnapshot(Base):
    """One open-AR report of an integration, identified by its content and the time it was produced.

    ``held`` snapshots were not applied (see ``reason``); they are presented again on every run
    until approved. The counts are those of the changes it made (or would have made, when held).
    """

    __tablename__ = "ar_snapshots"
    __table_args__ = (
        UniqueConstraint("integration", "sha256", "produced_at", name="uq_ar_snapshot"),
        Index("ix_ar_snapshots_integration_produced_at", "integration", "produced_at"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    source_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    produced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    open_before: Mapped[int] = mapped_column(Integer)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    partially_paid: Mapped[int] = mapped_column(Integer, default=0)
    amount_changed: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[str] = mapped_column(String(250))
    approved_by: Mapped[str | None] = mapped_column(String(250))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ArInvoice(Base):
    """The current state of one receivable: open (with its open amount) or paid (with when)."""

    __tablename__ = "ar_invoices"
    __table_args__ = (
        UniqueConstraint("integration", "invoice_ref", name="uq_ar_invoice"),
        Index("ix_ar_invoices_integration_status", "integration", "status"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    invoice_ref: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    open_amount: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)  # the last open amount once paid
    currency: Mapped[str | None] = mapped_column(String(3))
    customer: Mapped[str | None] = mapped_column(Text)
    customer_name: Mapped[str | None] = mapped_column(Text)
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    extra: Mapped[str | None] = mapped_column(Text)  # the report's other columns, as JSON
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    last_snapshot_id: Mapped[int] = mapped_column(ForeignKey("ar_snapshots.id"))


class ArStatusChange(Base):
    """One change of one receivable made by one snapshot: its amounts history and paid history."""

    __tablename__ = "ar_status_changes"
    __table_args__ = (
        Index("ix_ar_status_changes_ref", "integration", "invoice_ref"),
        Index("ix_ar_status_changes_snapshot", "snapshot_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ar_snapshots.id"))
    invoice_ref: Mapped[str] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(20))
    previous_amount: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)
    open_amount: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)
    currency: Mapped[str | None] = mapped_column(String(3))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class InvoiceRecord(Base):
    """One invoice a transfer received (read from a valid source file), or an export read from an
    accounting system (``source_path`` ``billy:<invoice id>``): what exports select by.

    The source file and the canonical invoice (JSON) are in the document store; the columns are the
    ones selection and listings need.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("integration", "source_sha256", "number", "type", name="uq_invoice_received"),
        Index("ix_invoices_issue_date", "issue_date"),
        Index("ix_invoices_approved_at", "approved_at"),
        Index("ix_invoices_customer", "customer"),
        # The dashboard's listing (ledger/dashboard.py) pages in (column, time, id) order: one index
        # per column it filters and sorts on, each ending in the time and id of the keyset.
        Index("ix_invoices_received_at_id", "received_at", "id"),
        Index("ix_invoices_integration_received_at", "integration", "received_at", "id"),
        Index("ix_invoices_status_received_at", "status", "received_at", "id"),
        Index("ix_invoices_sender_received_at", "sender", "received_at", "id"),
        Index("ix_invoices_receiver_received_at", "receiver", "received_at", "id"),
        Index("ix_invoices_number_received_at", "number", "received_at", "id"),
        Index("ix_invoices_customer_order_received_at", "customer_order_number", "received_at", "id"),
        Index("ix_invoices_supplier_order_received_at", "supplier_order_number", "received_at", "id"),
        Index("ix_invoices_source_file", "source_file_id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))  # the transfer that received it
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_files.id", ondelete="SET NULL"))
    source_path: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(250))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # when an accounting system (billy) approved it; None for invoices received in files
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    number: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))  # invoice | credit_note
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | paid | cancelled
    sender: Mapped[str | None] = mapped_column(Text)  # the seller's identifier
    sender_name: Mapped[str | None] = mapped_column(Text)
    receiver: Mapped[str | None] = mapped_column(Text)  # the buyer's identifier
    receiver_name: Mapped[str | None] = mapped_column(Text)
    customer: Mapped[str | None] = mapped_column(String(200))  # = receiver: whom exports are for
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str | None] = mapped_column(String(3))
    total_without_vat: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)
    total_vat: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)
    total_with_vat: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)
    payable: Mapped[Decimal | None] = mapped_column(AMOUNT_TYPE)
    customer_order_number: Mapped[str | None] = mapped_column(Text)
    supplier_order_number: Mapped[str | None] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[str] = mapped_column(Text)
    document_url: Mapped[str] = mapped_column(Text)  # the canonical invoice, JSON


class InvoiceOutput(Base):
    """One file a transfer made of (or passed on with) a received invoice: an invoice's link to its
    deliveries, which are keyed by the output's sha256 (``deliveries.output_sha256``). A file of many
    invoices has one row per invoice and output, so each invoice finds exactly the outputs it is in."""

    __tablename__ = "invoice_outputs"
    __table_args__ = (
        Index("ix_invoice_outputs_invoice", "invoice_id"),
        Index("ix_invoice_outputs_output", "integration", "output_sha256"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    integration: Mapped[str] = mapped_column(String(200))
    output_name: Mapped[str] = mapped_column(Text)
    output_sha256: Mapped[str] = mapped_column(String(64))
    #: The rendered output in the document store (a converting transfer's AP Agility or UBL file, what
    #: the dashboard shows and resends); None for a passthrough, whose output is the source itself.
    output_url: Mapped[str | None] = mapped_column(Text)


class InvoiceExport(Base):
    """One invoice rendered by an export integration for one destination: delivered, or skipped by
    the ``reexport`` policy. What backfills and ``find-invoices`` consult."""

    __tablename__ = "invoice_exports"
    __table_args__ = (
        Index("ix_invoice_exports_lookup", "integration", "invoice_id", "destination"),
        # The dashboard: an invoice's exports, and the exports' listing in time order.
        Index("ix_invoice_exports_invoice", "invoice_id", "status"),
        Index("ix_invoice_exports_recorded_at", "recorded_at", "id"),
        Index("ix_invoice_exports_integration_recorded_at", "integration", "recorded_at", "id"),
        Index("ix_invoice_exports_integration_status_recorded_at", "integration", "status", "recorded_at"),
        Index("ix_invoice_exports_destination_recorded_at", "destination", "recorded_at", "id"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(Text)
    output_name: Mapped[str] = mapped_column(Text)
    output_sha256: Mapped[str] = mapped_column(String(64))
    output_url: Mapped[str | None] = mapped_column(Text)
    remote_path: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | skipped
    reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(250))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _joined(*columns: ColumnElement[str]) -> ColumnElement[str]:
    """``lower(coalesce(a, '') || ' ' || ...)``, with literals (not bind parameters), so that the
    query's expression is the index's expression, which PostgreSQL needs to use the index."""
    text: ColumnElement[str] = func.coalesce(columns[0], literal_column("''"))
    for column in columns[1:]:
        text = text + literal_column("' '") + func.coalesce(column, literal_column("''"))
    return func.lower(text)


def invoice_search_text() -> ColumnElement[str]:
    """What the dashboard's free-text search looks in for an invoice: one expression, indexed with
    trigrams on PostgreSQL (``ix_invoices_search``), so that ``LIKE '%text%'`` needs no table scan.
    Not the source path: its dates and sequence numbers share their trigrams with every number
    searched for, which would make the index return a large part of the table for each."""
    c = InvoiceRecord.__table__.c
    return _joined(
        c.number,
        c.sender,
        c.sender_name,
        c.receiver,
        c.receiver_name,
        c.customer_order_number,
        c.supplier_order_number,
    )


def source_file_search_text() -> ColumnElement[str]:
    """What the free-text search looks in for a source file that yielded no invoice."""
    c = SourceFile.__table__.c
    return _joined(c.source_path, c.reason)


#: Trigram indexes exist on PostgreSQL only (extension ``pg_trgm``); SQLite scans, which is what a
#: small SQLite ledger can afford. Migrations 0007 and 0008 make the same ones.
for _table, _text in (
    # A declarative class's __table__ is typed as a FromClause; for these classes it is their Table.
    (cast(Table, InvoiceRecord.__table__), invoice_search_text),
    (cast(Table, SourceFile.__table__), source_file_search_text),
):
    _table.append_constraint(
        Index(
            f"ix_{_table.name}_search",
            _text().label("search"),
            postgresql_using="gin",
            postgresql_ops={"search": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql")
    )
