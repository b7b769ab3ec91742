"""What the dashboard reads from the ledger: transactions, one transaction's history, integration
health, volume per day, open AR and the export's "Find invoices" view.

Pure functions over a SQLAlchemy connection (no Airflow): the web layer passes the integrations the
user may read, and gets small frozen models it can return as JSON.

Why the listing is built the way it is (a ledger of millions of invoices answers in milliseconds):

- A *transaction* is one of three kinds of ledger rows: an invoice a transfer received (inbound), an
  invoice an export delivered or skipped for one destination (outbound, ``invoice_exports``), and a
  source file that yielded no invoice (inbound; a rejected file, a duplicate, or a passthrough).
- Pages are **keyset** pages, never ``OFFSET``: rows are ordered by a total order, the *key*
  ``(group, column value, time, kind, id)``, and the next page starts after the last row's key,
  which the opaque cursor carries. Each kind of row is read in parts (for a nullable column: the rows
  with a value, then those without; for the status: one part per status), each part one indexed
  range scan of at most ``limit + 1`` rows; the database merges the parts by the same key, so the
  order is the database's own (its collation), the same in the parts and the merge.
- Source files without an invoice are an anti-join, which reads until it has its rows: they are
  read after the others, only as far back as the others' ``limit + 1``-th row, and merged with them
  in Python (their key has no value to compare but the integration's name, which is left to the
  database).
- The few rows of a status that is rare in any ledger (invoices still waiting, or of a rejected
  file) are found from their files, not by walking every invoice in index order (``_FEW``).
- ``has_more`` comes from the ``limit + 1``-th row: nothing counts the table.
- Columns are filtered exactly (they are identifiers, and equality uses the index); ``search``
  looks for text anywhere, through trigram indexes on PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import heapq
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from invoice_hub.ledger.outcomes import Conversion, Validation, read_conversion, read_validation
from invoice_hub.ledger.status import DeliveryStatus, FileStatus, SnapshotStatus
from invoice_hub.ledger.tables import (
    ArInvoice,
    ArSnapshot,
    ArStatusChange,
    Delivery,
    InvoiceExport,
    InvoiceOutput,
    InvoiceRecord,
    SourceFile,
    as_utc,
    invoice_search_text,
    source_file_search_text,
)
from invoice_hub.validation.findings import Finding

if TYPE_CHECKING:
    from invoice_hub.ledger.invoices import Criteria

_invoices = InvoiceRecord.__table__.c
_exports = InvoiceExport.__table__.c
_files = SourceFile.__table__.c
_deliveries = Delivery.__table__.c

#: Rows a page may have at most: what a screen shows, and what keeps a request small.
MAX_LIMIT = 500
#: Ids per IN (...) when a page's rows are completed.
_CHUNK = 500


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Kind(StrEnum):
    """Which ledger row a transaction is (the first part of its id: ``invoice-12``)."""

    INVOICE = "invoice"
    EXPORT = "export"
    FILE = "file"


class Direction(StrEnum):
    INBOUND = "inbound"  # transfers: received from a partner
    OUTBOUND = "outbound"  # exports: invoices sent out from the ledger


class Status(StrEnum):
    """A transaction's status, in the order of its life (what sorting by status follows)."""

    RECEIVED = "received"  # read (or fetched); its file not finished and nothing of it delivered yet
    DELIVERED = "delivered"  # its file delivered everywhere (succeeded), or some of it already
    EXPORTED = "exported"  # an export delivered it
    PAID = "paid"  # marked paid (``invoice-hub invoice-status``)
    SKIPPED = "skipped"  # an export did not deliver it again (``reexport: skip``); see the reason
    PENDING = "pending"  # an export's delivery not confirmed yet
    REJECTED = "rejected"  # its source file was rejected (or was a duplicate); see the reason


class SortKey(StrEnum):
    TIME = "time"
    INTEGRATION = "integration"
    DIRECTION = "direction"
    SENDER = "sender"
    RECEIVER = "receiver"
    NUMBER = "number"
    CUSTOMER_ORDER_NUMBER = "customer_order_number"
    SUPPLIER_ORDER_NUMBER = "supplier_order_number"
    STATUS = "status"


class Sort(_Frozen):
    key: SortKey = SortKey.TIME
    descending: bool = True  # newest first by default


class TransactionFilters(_Frozen):
    """Every filter is optional; those given must all match. Column filters match exactly (they are
    identifiers); ``search`` finds text anywhere in the number, the parties' identifiers and names
    and the order numbers (for a file without an invoice: its path and reason), case-insensitive."""

    integration: str | None = None
    direction: Direction | None = None
    sender: str | None = None
    receiver: str | None = None
    number: str | None = None
    customer_order_number: str | None = None
    supplier_order_number: str | None = None
    status: Status | None = None
    destination: str | None = None
    time_from: dt.datetime | None = None  # inclusive
    time_to: dt.datetime | None = None  # exclusive
    search: str | None = None


class Transaction(_Frozen):
    id: str  # "<kind>-<row id>": what transaction_detail takes
    kind: Kind
    integration: str
    direction: Direction
    sender: str | None
    sender_name: str | None
    receiver: str | None
    receiver_name: str | None
    number: str | None
    type: str | None  # invoice | credit_note
    customer_order_number: str | None
    supplier_order_number: str | None
    status: Status
    reason: str | None  # why it was rejected or skipped
    destinations: tuple[str, ...]  # where it was delivered (or exported to)
    time: dt.datetime
    source_path: str | None
    run_id: str


class TransactionPage(_Frozen):
    rows: tuple[Transaction, ...]
    has_more: bool
    next_cursor: str | None  # pass as page_after for the next page


class InvalidCursor(ValueError):
    """A cursor this listing did not make, or made for another sort: the web layer answers 400."""


# -- the listing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Branch:
    """How one kind of row appears in the listing: its table, columns and predicates."""

    kind: Kind
    rank: int  # the kind's place in the key
    direction: Direction
    id: ColumnElement[int]
    time: ColumnElement[dt.datetime]
    invoice_time: ColumnElement[dt.datetime]  # when its invoice was received (files: its time)
    integration: ColumnElement[str]
    columns: dict[SortKey, ColumnElement[Any] | None]  # None: the kind has no such value
    base: Select[Any]  # select_from + the predicates every row of the kind satisfies
    shown: tuple[ColumnElement[Any], ...]  # what a listed row shows (_SHOWN, labelled), read with its key


_RANKS = {Kind.INVOICE: 0, Kind.EXPORT: 1, Kind.FILE: 2}
_STATUS_RANKS = {status: rank for rank, status in enumerate(Status)}
_DIRECTION_RANKS = {Direction.INBOUND: 0, Direction.OUTBOUND: 1}
_NOT_NULL = {SortKey.INTEGRATION, SortKey.TIME}


def _invoice_delivered() -> ColumnElement[bool]:
    return exists().where(
        _deliveries.source_file_id == _invoices.source_file_id,
        _deliveries.integration == _invoices.integration,
        _deliveries.status == DeliveryStatus.DELIVERED,
    )


def _invoice_exported() -> ColumnElement[bool]:
    return exists().where(_exports.invoice_id == _invoices.id, _exports.status == "delivered")


def _file_delivered() -> ColumnElement[bool]:
    return exists().where(
        _deliveries.source_file_id == _files.id,
        _deliveries.integration == _files.integration,
        _deliveries.status == DeliveryStatus.DELIVERED,
    )


_REJECTED_FILE = (FileStatus.FAILED, FileStatus.DUPLICATE)
#: Files whose transfer has not delivered them everywhere (SUCCEEDED means it has): few, at any time.
_UNFINISHED_FILE = (FileStatus.FETCHED, *_REJECTED_FILE)


def _invoice_unfinished(statuses: tuple[str, ...]) -> ColumnElement[bool]:
    """An invoice whose file has one of these (unfinished) statuses and of which nothing was
    delivered: few at any time, found from their files (see ``_FEW``)."""
    unfinished = SourceFile.__table__.alias("unfinished")
    return and_(
        _AmongFew(_invoices.source_file_id, select(unfinished.c.id).where(unfinished.c.status.in_(statuses))),
        ~_invoice_delivered(),
    )


class _AmongFew(ColumnElement[bool]):
    """``column IN (subquery)`` for a subquery of few rows. PostgreSQL gets ``column = ANY(ARRAY(
    subquery))``: the subquery runs first, and the column's index is probed for each of its rows;
    with ``IN`` the planner, estimating from the files, may read every invoice instead."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals: list[tuple[str, InternalTraversal]] = [
        ("column", InternalTraversal.dp_clauseelement),
        ("subquery", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], subquery: Select[Any]) -> None:
        self.column = column
        self.subquery = subquery


@compiles(_AmongFew)
def _among_few(element: _AmongFew, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.subquery), **kw)


@compiles(_AmongFew, "postgresql")
def _among_few_postgresql(element: _AmongFew, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY({compiler.process(element.subquery, **kw)}))"


#: (kind, status) whose rows are few in any ledger: invoices still waiting for their file to be
#: delivered, or whose file was rejected after they were read. Their parts are ordered by an
#: expression no index has, so that the database finds them from their few files and sorts them,
#: instead of walking a million invoices in index order and probing each (the planner cannot know
#: that the invoices of unfinished files are that few: it estimates them from the files).
_FEW = {(Kind.INVOICE, Status.RECEIVED), (Kind.INVOICE, Status.REJECTED)}


def _unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(column, column)


def _status_predicate(kind: Kind, status: Status) -> ColumnElement[bool]:
    """Which rows of a kind have a status: the same rules as ``_invoice_status`` and friends."""
    if kind is Kind.INVOICE:
        paid = _invoices.status == "paid"
        rules = {
            Status.PAID: paid,
            Status.EXPORTED: and_(~paid, _invoice_exported()),
            Status.RECEIVED: and_(~paid, ~_invoice_exported(), _invoice_unfinished((FileStatus.FETCHED,))),
            Status.REJECTED: and_(~paid, ~_invoice_exported(), _invoice_unfinished(_REJECTED_FILE)),
            Status.DELIVERED: and_(
                ~paid, ~_invoice_exported(), ~_invoice_unfinished((FileStatus.FETCHED, *_REJECTED_FILE))
            ),
        }
    elif kind is Kind.EXPORT:
        rules = {
            Status.EXPORTED: _exports.status == "delivered",
            Status.SKIPPED: _exports.status == "skipped",
            Status.PENDING: _exports.status.not_in(("delivered", "skipped")),
        }
    else:
        rejected = _files.status.in_(_REJECTED_FILE)
        waiting = and_(_files.status == FileStatus.FETCHED, ~_file_delivered())
        rules = {
            Status.REJECTED: rejected,
            Status.RECEIVED: waiting,
            Status.DELIVERED: and_(~rejected, ~waiting),
        }
    return rules.get(status, false())


def _possible_statuses(kind: Kind) -> tuple[Status, ...]:
    return {
        Kind.INVOICE: (Status.RECEIVED, Status.DELIVERED, Status.EXPORTED, Status.PAID, Status.REJECTED),
        Kind.EXPORT: (Status.EXPORTED, Status.SKIPPED, Status.PENDING),
        Kind.FILE: (Status.RECEIVED, Status.DELIVERED, Status.REJECTED),
    }[kind]


#: The columns a listed row carries beside its key, the same for every kind (NULL where it has none).
_SHOWN = (
    "integration",
    "source_file_id",
    "source_path",
    "run_id",
    "number",
    "type",
    "status",
    "sender",
    "sender_name",
    "receiver",
    "receiver_name",
    "customer_order_number",
    "supplier_order_number",
    "reason",
    "destination",
)


def _shown(**columns: ColumnElement[Any]) -> tuple[ColumnElement[Any], ...]:
    """The shown columns of a kind; a NULL is cast to the column's type, as PostgreSQL's UNION needs."""
    types = {**{c.name: c.type for c in _exports}, **{c.name: c.type for c in _invoices}}
    return tuple(
        (columns[name] if name in columns else cast(null(), types[name])).label(name) for name in _SHOWN
    )


@functools.cache
def _branches() -> tuple[_Branch, ...]:
    """Built once: SQLAlchemy expressions are immutable, and building them costs a request more
    than the database's answer does."""
    i, e, f = _invoices, _exports, _files
    joined = InvoiceRecord.__table__.alias("exported_invoice")
    j = joined.c
    return (
        _Branch(
            Kind.INVOICE,
            0,
            Direction.INBOUND,
            i.id,
            i.received_at,
            i.received_at,
            i.integration,
            {
                SortKey.INTEGRATION: i.integration,
                SortKey.SENDER: i.sender,
                SortKey.RECEIVER: i.receiver,
                SortKey.NUMBER: i.number,
                SortKey.CUSTOMER_ORDER_NUMBER: i.customer_order_number,
                SortKey.SUPPLIER_ORDER_NUMBER: i.supplier_order_number,
            },
            select().select_from(InvoiceRecord.__table__),
            _shown(**{name: i[name] for name in _SHOWN if name not in ("reason", "destination")}),
        ),
        _Branch(
            Kind.EXPORT,
            1,
            Direction.OUTBOUND,
            e.id,
            e.recorded_at,
            j.received_at,
            e.integration,
            {
                SortKey.INTEGRATION: e.integration,
                SortKey.SENDER: j.sender,
                SortKey.RECEIVER: j.receiver,
                SortKey.NUMBER: j.number,
                SortKey.CUSTOMER_ORDER_NUMBER: j.customer_order_number,
                SortKey.SUPPLIER_ORDER_NUMBER: j.supplier_order_number,
            },
            select().select_from(InvoiceExport.__table__.join(joined, j.id == e.invoice_id)),
            _shown(
                **{
                    name: j[name]
                    for name in _SHOWN
                    if name
                    not in ("integration", "run_id", "status", "source_file_id", "reason", "destination")
                },
                **{name: e[name] for name in ("integration", "run_id", "status", "reason", "destination")},
            ),
        ),
        _Branch(
            Kind.FILE,
            2,
            Direction.INBOUND,
            f.id,
            f.updated_at,
            f.updated_at,
            f.integration,
            {
                SortKey.INTEGRATION: f.integration,
                SortKey.SENDER: None,
                SortKey.RECEIVER: None,
                SortKey.NUMBER: None,
                SortKey.CUSTOMER_ORDER_NUMBER: None,
                SortKey.SUPPLIER_ORDER_NUMBER: None,
            },
            select()
            .select_from(SourceFile.__table__)
            .where(~exists().where(_invoices.source_file_id == f.id)),
            _shown(
                **{name: f[name] for name in ("integration", "source_path", "run_id", "status", "reason")}
            ),
        ),
    )


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_predicates(branch: _Branch, filters: TransactionFilters) -> list[ColumnElement[bool]] | None:
    """The filters as predicates on a kind's rows; None when no row of the kind can match."""
    where: list[ColumnElement[bool]] = []
    if filters.direction is not None and filters.direction is not branch.direction:
        return None
    if filters.integration is not None:
        where.append(branch.integration == filters.integration)
    for key, value in (
        (SortKey.SENDER, filters.sender),
        (SortKey.RECEIVER, filters.receiver),
        (SortKey.NUMBER, filters.number),
        (SortKey.CUSTOMER_ORDER_NUMBER, filters.customer_order_number),
        (SortKey.SUPPLIER_ORDER_NUMBER, filters.supplier_order_number),
    ):
        if value is None:
            continue
        column = branch.columns[key]
        if column is None:
            return None
        where.append(column == value)
    if filters.status is not None:
        if filters.status not in _possible_statuses(branch.kind):
            return None
        where.append(_status_predicate(branch.kind, filters.status))
    if filters.time_from is not None:
        where.append(branch.time >= filters.time_from.astimezone(dt.UTC))
    if filters.time_to is not None:
        where.append(branch.time < filters.time_to.astimezone(dt.UTC))
    if filters.destination is not None:
        where.append(_destination_predicate(branch.kind, filters.destination))
    if filters.search:
        pattern = _like_pattern(filters.search)
        if branch.kind is Kind.FILE:
            where.append(source_file_search_text().like(pattern, escape="\\"))
        elif branch.kind is Kind.INVOICE:
            where.append(invoice_search_text().like(pattern, escape="\\"))
        else:
            where.append(
                _exports.invoice_id.in_(
                    select(_invoices.id).where(invoice_search_text().like(pattern, escape="\\"))
                )
            )
    return where


def _destination_predicate(kind: Kind, destination: str) -> ColumnElement[bool]:
    if kind is Kind.EXPORT:
        return _exports.destination == destination
    own = _invoices if kind is Kind.INVOICE else _files
    file_id = _invoices.source_file_id if kind is Kind.INVOICE else _files.id
    return exists().where(
        _deliveries.source_file_id == file_id,
        _deliveries.integration == own.integration,
        _deliveries.destination == destination,
        _deliveries.status == DeliveryStatus.DELIVERED,
    )


@dataclass(frozen=True)
class _Key:
    """A row's place in the listing's order: ``(group, value, time, rank, id)``."""

    group: int
    value: str | None
    time: dt.datetime
    rank: int
    id: int

    @property
    def order(self) -> tuple[int, dt.datetime, int, int]:
        """The key without its value: how rows of different kinds compare, but by integration."""
        return (self.group, self.time, self.rank, self.id)


def _key_of(row: Any) -> _Key:
    return _Key(row.grp, row.value, as_utc(row.time), row.rank, row.id)


@dataclass(frozen=True)
class _Part:
    """One indexed range of one kind's rows: all in one ``group``; ``value`` set when the rows have
    a (non-null) value of the sort column, which then orders them before their time."""

    branch: _Branch
    group: int
    value: ColumnElement[Any] | None
    where: tuple[ColumnElement[bool], ...]
    #: The time in the key: the row's own, except for exports sorted by a column of their invoice,
    #: which follow the invoice's received time: the order of the invoice's (column, time, id)
    #: index, not a sort of every export of a sender by export time.
    time: ColumnElement[dt.datetime]
    status: Status | None = None  # the part's status, when sorting by status


def _parts(branch: _Branch, sort: SortKey, status: Status | None = None) -> list[_Part]:
    """The parts of a kind's rows in the order of the key (ascending). NULL sorts after every value
    (PostgreSQL's own default, which its indexes follow), so a nullable column has two parts.
    ``status``: the status filter, when there is one."""
    parts = _indexed_parts(branch, sort)
    return [
        _Part(
            p.branch,
            p.group,
            _unindexed(p.value) if p.value is not None else None,
            p.where,
            _unindexed(p.time),
        )
        if (branch.kind, p.status or status) in _FEW
        else p
        for p in parts
    ]


def _indexed_parts(branch: _Branch, sort: SortKey) -> list[_Part]:
    time = branch.time
    if sort is SortKey.TIME:
        return [_Part(branch, 0, None, (), time)]
    if sort is SortKey.DIRECTION:
        return [_Part(branch, _DIRECTION_RANKS[branch.direction], None, (), time)]
    if sort is SortKey.STATUS:
        return [
            _Part(branch, _STATUS_RANKS[s], None, (_status_predicate(branch.kind, s),), time, s)
            for s in _possible_statuses(branch.kind)
        ]
    column = branch.columns[sort]
    if column is None:
        return [_Part(branch, 1, None, (), time)]
    if sort in _NOT_NULL:
        return [_Part(branch, 0, column, (), time)]
    time = branch.invoice_time
    return [
        _Part(branch, 0, column, (column.is_not(None),), time),
        _Part(branch, 1, None, (column.is_(None),), time),
    ]


def _after(part: _Part, key: _Key, descending: bool) -> ColumnElement[bool] | None:
    """The part's rows that come after ``key`` in the listing's order; None: none of them."""
    if part.group != key.group:
        later = part.group > key.group
        return true() if later != descending else None
    branch = part.branch
    ahead = (lambda a, b: a < b) if descending else (lambda a, b: a > b)
    ahead_or_equal = (lambda a, b: a <= b) if descending else (lambda a, b: a >= b)
    if part.value is not None:
        this, that = [part.value, part.time], [key.value, key.time]
    else:
        this, that = [part.time], [key.time]
    if branch.rank == key.rank:
        return ahead(tuple_(*this, branch.id), tuple_(*that, key.id))
    if ahead(branch.rank, key.rank):
        return ahead_or_equal(tuple_(*this), tuple_(*that))
    return ahead(tuple_(*this), tuple_(*that))


def _part_query(part: _Part, where: list[ColumnElement[bool]], limit: int, descending: bool) -> Select[Any]:
    branch = part.branch
    value = part.value if part.value is not None else null()
    order = [*([part.value] if part.value is not None else []), part.time, branch.id]
    return (
        branch.base.add_columns(
            literal(part.group, Integer).label("grp"),
            value.label("value"),
            part.time.label("time"),
            literal(branch.rank, Integer).label("rank"),
            branch.time.label("shown_time"),
            branch.id.label("id"),
            *branch.shown,
        )
        .where(*where, *part.where)
        .order_by(*[c.desc() if descending else c.asc() for c in order])
        .limit(limit)
    )


def _merged_columns() -> dict[str, Any]:
    """The merged rows' columns with their types (which convert SQLite's text times, for example)."""
    types = {**{c.name: c.type for c in _exports}, **{c.name: c.type for c in _invoices}}
    moment = _invoices.received_at.type
    return {
        "grp": Integer(),
        "value": String(),
        "time": moment,
        "rank": Integer(),
        "id": Integer(),
        "shown_time": moment,
        **{name: types[name] for name in _SHOWN},
    }


_MERGED_COLUMNS = _merged_columns()
_KEY_COLUMNS = ("grp", "value", "time", "rank", "id")


def _merged(queries: list[Select[Any]], descending: bool, limit: int) -> Select[Any]:
    """The parts' rows merged in the listing's order by the database (its collation, not Python's).

    Written with ``*`` and column names: SQLAlchemy would otherwise build a proxy of every column of
    every part for each request, which costs more than the database's answer."""
    merged = union_all(*[select(literal_column("*")).select_from(q.subquery()) for q in queries]).subquery(
        "merged"
    )
    names = tuple(_MERGED_COLUMNS)
    order = [literal_column(f"merged.{name}", _MERGED_COLUMNS[name]) for name in _KEY_COLUMNS]
    return (
        select(*[literal_column(f"merged.{name}", _MERGED_COLUMNS[name]).label(name) for name in names])
        .select_from(merged)
        .order_by(*[(c.desc().nulls_first() if descending else c.asc().nulls_last()) for c in order])
        .limit(limit)
    )


def list_transactions(
    connection: Connection,
    filters: TransactionFilters | None = None,
    sort: Sort | None = None,
    page_after: str | None = None,
    limit: int = 50,
    integrations: Collection[str] | None = None,
) -> TransactionPage:
    """One page of transactions, in ``sort`` order, after the cursor ``page_after`` (None: the first
    page). ``integrations``: the ones the user may read (None: all; empty: nothing)."""
    filters = filters or TransactionFilters()
    sort = sort or Sort()
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(page_after, sort) if page_after else None
    if integrations is not None and not integrations:
        return TransactionPage(rows=(), has_more=False, next_cursor=None)
    # Files without an invoice are found by an anti-join, which scans until it has its rows: they
    # are read last, only as far as the (limit + 1)-th row of the others reaches.
    cheap: list[Select[Any]] = []
    costly: list[tuple[_Part, list[ColumnElement[bool]]]] = []
    for branch in _branches():
        where = _filter_predicates(branch, filters)
        if where is None:
            continue
        if integrations is not None:
            where.append(branch.integration.in_(sorted(integrations)))
        for part in _parts(branch, sort.key, filters.status):
            keyset = _after(part, after, sort.descending) if after else true()
            if keyset is None:
                continue
            if branch.kind is Kind.FILE:
                costly.append((part, [*where, keyset]))
            else:
                cheap.append(_part_query(part, [*where, keyset], limit + 1, sort.descending))
    rows = connection.execute(_merged(cheap, sort.descending, limit + 1)).all() if cheap else []
    bound = _key_of(rows[limit]) if len(rows) > limit else None
    later: list[Select[Any]] = []
    for part, where in costly:
        # before the bound (a file's key never equals another kind's): the rows that can be on the page
        before = _after(part, bound, not sort.descending) if bound else true()
        if before is not None:
            later.append(_part_query(part, [*where, before], limit + 1, sort.descending))
    if later and sort.key is SortKey.INTEGRATION:
        # names compared: only the database's collation may order them (not Python's)
        rows = connection.execute(_merged([*cheap, *later], sort.descending, limit + 1)).all()
    elif later:
        # Every other key compares a file's row with another kind's by group, time, kind and id
        # (a file has no value in the other columns: its rows are the NULL group), which Python
        # compares as the database does: the two ordered lists are merged here.
        files = connection.execute(_merged(later, sort.descending, limit + 1)).all()
        rows = list(heapq.merge(rows, files, key=lambda r: _key_of(r).order, reverse=sort.descending))[
            : limit + 1
        ]
    if not rows:
        return TransactionPage(rows=(), has_more=False, next_cursor=None)
    has_more = len(rows) > limit
    rows = rows[:limit]
    facts = _facts(
        connection,
        invoice_ids={r.id for r in rows if r.rank == _RANKS[Kind.INVOICE]},
        file_ids={r.source_file_id if r.rank == _RANKS[Kind.INVOICE] else r.id for r in rows if r.rank != 1},
    )
    last = rows[-1] if rows else None
    return TransactionPage(
        rows=tuple(_transaction(row, facts, as_utc(row.shown_time)) for row in rows),
        has_more=has_more,
        next_cursor=encode_cursor(_Key(last.grp, last.value, as_utc(last.time), last.rank, last.id), sort)
        if has_more and last is not None
        else None,
    )


def _transaction(row: Any, facts: _Facts, time: dt.datetime) -> Transaction:
    builder = {
        _RANKS[Kind.INVOICE]: _invoice_transaction,
        _RANKS[Kind.EXPORT]: _export_transaction,
        _RANKS[Kind.FILE]: _file_transaction,
    }[row.rank]
    return builder(row, facts, time)


def encode_cursor(key: _Key, sort: Sort) -> str:
    payload = [sort.key.value, sort.descending, key.group, key.value, key.time.isoformat(), key.rank, key.id]
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> _Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, descending, group, value, time, rank, row_id = json.loads(raw)
        moment = as_utc(dt.datetime.fromisoformat(time))
        if not (
            isinstance(group, int)
            and isinstance(rank, int)
            and isinstance(row_id, int)
            and (value is None or isinstance(value, str))
        ):
            raise ValueError("wrong types")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor(f"page_after {cursor[:40]!r} is not a cursor of this listing: {exc}") from None
    if (key, descending) != (sort.key.value, sort.descending):
        raise InvalidCursor(
            f"page_after was made for sorting by {key} ({'descending' if descending else 'ascending'}): "
            "start again from the first page when the sort changes"
        )
    return _Key(group, value, moment, rank, row_id)


# -- completing a page: the rows' columns and their statuses ------------------------------------------


@dataclass
class _Facts:
    """What decides an invoice's or file's status and destinations, read for one page."""

    delivered: dict[tuple[int, str], list[str]]  # (source file id, integration) -> destinations
    exported: dict[int, list[str]]  # invoice id -> destinations an export delivered it to
    file_status: dict[int, str]  # source file id -> its status
    file_reason: dict[int, str | None]  # source file id -> why it was rejected


def _facts(connection: Connection, invoice_ids: set[int], file_ids: set[int | None]) -> _Facts:
    """The deliveries of the page's source files and the exports of its invoices: one statement
    (a page has at most MAX_LIMIT rows: well within the parameter limits)."""
    delivered: dict[tuple[int, str], list[str]] = {}
    exported: dict[int, list[str]] = {}
    wanted = sorted(i for i in file_ids if i is not None)
    file_status: dict[int, str] = {}
    file_reason: dict[int, str | None] = {}
    if not wanted and not invoice_ids:
        return _Facts(delivered, exported, file_status, file_reason)
    deliveries = select(
        literal("d").label("fact"),
        _deliveries.source_file_id.label("row_id"),
        _deliveries.integration,
        _deliveries.destination,
        _deliveries.id,
        cast(null(), Text).label("reason"),
    ).where(_deliveries.source_file_id.in_(wanted), _deliveries.status == DeliveryStatus.DELIVERED)
    exports = select(
        literal("e").label("fact"),
        _exports.invoice_id.label("row_id"),
        _exports.integration,
        _exports.destination,
        _exports.id,
        cast(null(), Text).label("reason"),
    ).where(_exports.invoice_id.in_(sorted(invoice_ids)), _exports.status == "delivered")
    files = select(
        literal("f").label("fact"),
        _files.id.label("row_id"),
        _files.integration,
        _files.status,
        _files.id,
        _files.reason,
    ).where(_files.id.in_(wanted))
    both = union_all(deliveries, exports, files).subquery()
    for fact, row_id, integration, destination, _, reason in connection.execute(
        select(both).order_by(both.c.fact, both.c.id)
    ):
        if fact == "d":
            delivered.setdefault((row_id, integration), []).append(destination)
        elif fact == "e":
            exported.setdefault(row_id, []).append(destination)
        else:
            file_status[row_id] = destination  # the file's status, in that column
            file_reason[row_id] = reason
    return _Facts(delivered, exported, file_status, file_reason)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _invoice_status(row: Any, facts: _Facts) -> Status:
    if row.status == "paid":
        return Status.PAID
    if row.id in facts.exported:
        return Status.EXPORTED
    if (row.source_file_id, row.integration) not in facts.delivered:
        file_status = facts.file_status.get(row.source_file_id)
        if file_status == FileStatus.FETCHED:
            return Status.RECEIVED
        if file_status in _REJECTED_FILE:
            return Status.REJECTED
    return Status.DELIVERED


def _export_status(status: str) -> Status:
    return {"delivered": Status.EXPORTED, "skipped": Status.SKIPPED}.get(status, Status.PENDING)


def _file_status(row: Any, facts: _Facts) -> Status:
    if row.status in _REJECTED_FILE:
        return Status.REJECTED
    if row.status == FileStatus.FETCHED and (row.id, row.integration) not in facts.delivered:
        return Status.RECEIVED
    return Status.DELIVERED


#: The columns a transaction shows of its invoice (an export row selects them from its invoice too).
_INVOICE_FIELDS = (
    "sender",
    "sender_name",
    "receiver",
    "receiver_name",
    "number",
    "type",
    "customer_order_number",
    "supplier_order_number",
)


def _invoice_fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _INVOICE_FIELDS}


def _invoice_transaction(row: Any, facts: _Facts, time: dt.datetime) -> Transaction:
    status = _invoice_status(row, facts)
    destinations = facts.delivered.get((row.source_file_id, row.integration), [])
    return Transaction(
        id=f"{Kind.INVOICE}-{row.id}",
        kind=Kind.INVOICE,
        integration=row.integration,
        direction=Direction.INBOUND,
        **_invoice_fields(row),
        status=status,
        reason=facts.file_reason.get(row.source_file_id) if status is Status.REJECTED else None,
        destinations=tuple(dict.fromkeys(destinations)),
        time=time,
        source_path=row.source_path,
        run_id=row.run_id,
    )


def _export_transaction(row: Any, facts: _Facts | None, time: dt.datetime) -> Transaction:
    return Transaction(
        id=f"{Kind.EXPORT}-{row.id}",
        kind=Kind.EXPORT,
        integration=row.integration,
        direction=Direction.OUTBOUND,
        **_invoice_fields(row),
        status=_export_status(row.status),
        reason=row.reason,
        destinations=(row.destination,),
        time=time,
        source_path=row.source_path,
        run_id=row.run_id,
    )


def _file_transaction(row: Any, facts: _Facts, time: dt.datetime) -> Transaction:
    status = _file_status(row, facts)
    return Transaction(
        id=f"{Kind.FILE}-{row.id}",
        kind=Kind.FILE,
        integration=row.integration,
        direction=Direction.INBOUND,
        **dict.fromkeys(_INVOICE_FIELDS),  # a file without an invoice has none of them
        status=status,
        reason=row.reason,
        destinations=tuple(dict.fromkeys(facts.delivered.get((row.id, row.integration), []))),
        time=time,
        source_path=row.source_path,
        run_id=row.run_id,
    )


@functools.cache
def _export_query() -> Select[Any]:
    i = _invoices
    return select(
        _exports.id,
        _exports.integration,
        _exports.destination,
        _exports.status,
        _exports.reason,
        _exports.run_id,
        _exports.recorded_at,
        i.number,
        i.type,
        i.sender,
        i.sender_name,
        i.receiver,
        i.receiver_name,
        i.customer_order_number,
        i.supplier_order_number,
        i.source_path,
    ).join_from(InvoiceExport.__table__, InvoiceRecord.__table__, i.id == _exports.invoice_id)


# -- one transaction --------------------------------------------------------------------------------


class Step(StrEnum):
    FETCHED = "fetched"  # the source file arrived
    VALIDATED = "validated"  # validated at the transfer's level, with its findings
    CONVERTED = "converted"  # written in another format (input -> output, the files)
    RECEIVED = "received"  # read (and validated) from it
    REJECTED = "rejected"  # the file was rejected (or was a duplicate)
    DELIVERED = "delivered"  # delivered to a destination (or noted before: pending)
    EXPORTED = "exported"  # an export delivered (or skipped) it for a destination
    PAID = "paid"  # marked paid in the ledger
    RECEIVABLE = "receivable"  # an open-AR change of the receivable with the same number


class HistoryEvent(_Frozen):
    step: Step
    at: dt.datetime | None
    integration: str
    run_id: str | None  # the Airflow run that did it (the web layer links it)
    status: str | None = None
    destination: str | None = None
    remote_path: str | None = None
    detail: str | None = None  # a reason, a change, an amount
    #: A validation's findings (the first ``ledger.outcomes.KEPT_FINDINGS``), for the page's table.
    findings: tuple[Finding, ...] = ()


class Document(_Frozen):
    """A document in the hub's store (``invoice_hub.document_store.DocumentStore`` opens the URL)."""

    role: str  # source | canonical (the invoice model, JSON) | rendered (an export's output)
    name: str
    url: str
    integration: str


class TransactionDetail(_Frozen):
    transaction: Transaction
    history: tuple[HistoryEvent, ...]
    documents: tuple[Document, ...]


def parse_transaction_id(transaction_id: str) -> tuple[Kind, int]:
    kind, _, number = transaction_id.partition("-")
    try:
        return Kind(kind), int(number)
    except ValueError:
        raise InvalidCursor(
            f"{transaction_id!r} is not a transaction id (invoice-N, export-N or file-N)"
        ) from None


def transaction_detail(
    connection: Connection, transaction_id: str, integrations: Collection[str] | None = None
) -> TransactionDetail | None:
    """One transaction with its history (oldest first) and documents; None when it does not exist
    or belongs to an integration the user may not read. Steps of other integrations (an export of a
    received invoice, or the transfer behind an exported one) are shown only when readable too."""
    kind, row_id = parse_transaction_id(transaction_id)
    readable = (lambda name: True) if integrations is None else (lambda name: name in integrations)
    if kind is Kind.FILE:
        file = connection.execute(select(SourceFile.__table__).where(_files.id == row_id)).first()
        if file is None or not readable(file.integration):
            return None
        facts = _facts(connection, set(), {file.id})
        history: list[HistoryEvent] = [
            *_file_history(file, _file_output_names(connection, file.id)),
            *_delivery_history(connection, file.id, file.integration),
        ]
        return TransactionDetail(
            transaction=_file_transaction(file, facts, as_utc(file.updated_at)),
            history=tuple(_ordered(e for e in history if readable(e.integration))),
            documents=(),
        )
    if kind is Kind.EXPORT:
        export = connection.execute(_export_query().where(_exports.id == row_id)).first()
        if export is None or not readable(export.integration):
            return None
        invoice_id = connection.execute(select(_exports.invoice_id).where(_exports.id == row_id)).scalar_one()
        transaction = _export_transaction(export, None, as_utc(export.recorded_at))
    else:
        invoice_id = row_id
    invoice = connection.execute(select(InvoiceRecord.__table__).where(_invoices.id == invoice_id)).first()
    if invoice is None or (kind is Kind.INVOICE and not readable(invoice.integration)):
        return None
    if kind is Kind.INVOICE:
        facts = _facts(connection, {invoice.id}, {invoice.source_file_id})
        transaction = _invoice_transaction(invoice, facts, as_utc(invoice.received_at))
    history = []
    # what a converting transfer wrote the invoice into: the history's names, the page's documents
    outputs = connection.execute(
        select(InvoiceOutput.output_name, InvoiceOutput.output_url)
        .where(InvoiceOutput.invoice_id == invoice.id)
        .order_by(InvoiceOutput.id)
    ).all()
    file = None
    if invoice.source_file_id is not None:
        file = connection.execute(
            select(SourceFile.__table__).where(_files.id == invoice.source_file_id)
        ).first()
    if file is not None:
        names = list(dict.fromkeys(output.output_name for output in outputs))
        history += [_fetched(file), *_processing(file, names)]
    history.append(
        HistoryEvent(
            step=Step.RECEIVED,
            at=as_utc(invoice.received_at),
            integration=invoice.integration,
            run_id=invoice.run_id,
            status=invoice.status,
            detail=f"{invoice.type} {invoice.number} from {invoice.source_path}",
        )
    )
    if invoice.source_file_id is not None:
        history += _delivery_history(connection, invoice.source_file_id, None)
    documents = [
        Document(
            role="source", name=invoice.source_path, url=invoice.source_url, integration=invoice.integration
        ),
        Document(
            role="canonical",
            name=f"{invoice.number}.json",
            url=invoice.document_url,
            integration=invoice.integration,
        ),
    ]
    documents += [  # what a converting transfer rendered and delivered (a passthrough's is its source)
        Document(role="rendered", name=o.output_name, url=o.output_url, integration=invoice.integration)
        for o in outputs
        if o.output_url is not None
    ]
    for export in connection.execute(
        select(InvoiceExport.__table__).where(_exports.invoice_id == invoice.id).order_by(_exports.id)
    ):
        history.append(
            HistoryEvent(
                step=Step.EXPORTED,
                at=as_utc(export.recorded_at),
                integration=export.integration,
                run_id=export.run_id,
                status=export.status,
                destination=export.destination,
                remote_path=export.remote_path,
                detail=export.reason,
            )
        )
        if export.output_url:
            documents.append(
                Document(
                    role="rendered",
                    name=export.output_name,
                    url=export.output_url,
                    integration=export.integration,
                )
            )
    if invoice.status == "paid":
        history.append(
            HistoryEvent(step=Step.PAID, at=None, integration=invoice.integration, run_id=None, status="paid")
        )
    history += _receivable_history(connection, invoice.number)
    return TransactionDetail(
        transaction=transaction,
        history=tuple(_ordered(e for e in history if readable(e.integration))),
        documents=tuple(dict.fromkeys(d for d in documents if readable(d.integration))),
    )


def _ordered(events: Iterable[HistoryEvent]) -> list[HistoryEvent]:
    """Oldest first; events without a time (paid: the ledger keeps no date for it) last."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(events, key=lambda e: e.at or far)


def _fetched(file: Any) -> HistoryEvent:
    return HistoryEvent(
        step=Step.FETCHED,
        at=as_utc(file.first_seen_at),
        integration=file.integration,
        run_id=file.run_id,
        status=file.status,
        detail=f"{file.source_path} ({file.size} bytes, sha256 {file.sha256[:12]}…)",
    )


def _processing(file: Any, output_names: list[str]) -> list[HistoryEvent]:
    """What ``validate_transform`` made of the file: validated (with its findings), converted (into
    ``output_names``); nothing for files recorded before the ledger kept it (migration 0011)."""
    events = []
    try:
        validation, conversion = read_validation(file.validation), read_conversion(file.conversion)
    except ValueError:  # a record this version cannot read: the rest of the history still shows
        return []
    if validation is not None:
        events.append(_validated(file, validation))
    if conversion is not None:
        events.append(_converted(file, conversion, output_names))
    return events


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _validated(file: Any, validation: Validation) -> HistoryEvent:
    """``validated (en16931): 2 warnings, 0 errors: BR-CL-10 BR-S-08``; status valid, warnings or
    invalid (a fatal finding: the file was rejected)."""
    errors, warnings = validation.counts.get("fatal", 0), validation.counts.get("warning", 0)
    detail = f"validated ({validation.level}): {_plural(warnings, 'warning')}, {_plural(errors, 'error')}"
    if validation.rule_ids:
        detail += ": " + " ".join(validation.rule_ids)
    if validation.truncated:
        detail += f" (the first {len(validation.findings)} of {validation.total} findings kept)"
    return HistoryEvent(
        step=Step.VALIDATED,
        at=as_utc(validation.at),
        integration=file.integration,
        run_id=file.run_id,
        status="invalid" if errors else "warnings" if warnings else "valid",
        detail=detail,
        findings=validation.findings,
    )


def _converted(file: Any, conversion: Conversion, output_names: list[str]) -> HistoryEvent:
    """``ubl -> ap_agility: INV-1_20261201.xml``: the formats, and the files the invoice is in."""
    names = ", ".join(output_names) if output_names else _plural(conversion.outputs, "file")
    return HistoryEvent(
        step=Step.CONVERTED,
        at=as_utc(conversion.at),
        integration=file.integration,
        run_id=file.run_id,
        status="converted",
        detail=f"{conversion.input or 'any'} -> {conversion.output}: {names}",
    )


def _file_output_names(connection: Connection, file_id: int) -> list[str]:
    """The outputs the invoices of a source file are in (the names are kept once per invoice, in
    ``invoice_outputs``), in the order they were written."""
    o = InvoiceOutput.__table__.c
    query = (
        select(o.output_name, func.min(o.id).label("first"))
        .join_from(InvoiceOutput.__table__, InvoiceRecord.__table__, _invoices.id == o.invoice_id)
        .where(_invoices.source_file_id == file_id)
        .group_by(o.output_name)
    )
    return [row.output_name for row in connection.execute(query.order_by("first"))]


def _file_history(file: Any, output_names: list[str]) -> list[HistoryEvent]:
    events = [_fetched(file), *_processing(file, output_names)]
    if file.status in _REJECTED_FILE:
        events.append(
            HistoryEvent(
                step=Step.REJECTED,
                at=as_utc(file.updated_at),
                integration=file.integration,
                run_id=file.run_id,
                status=file.status,
                detail=file.reason,
            )
        )
    return events


def _delivery_history(connection: Connection, file_id: int, integration: str | None) -> list[HistoryEvent]:
    """Deliveries of a source file's outputs, by its transfer (and by exports, when ``integration``
    is None: theirs are recorded under the export's name with the same source file)."""
    query = select(Delivery.__table__).where(_deliveries.source_file_id == file_id)
    if integration is not None:
        query = query.where(_deliveries.integration == integration)
    return [
        HistoryEvent(
            step=Step.DELIVERED,
            at=as_utc(d.delivered_at) if d.delivered_at else None,
            integration=d.integration,
            run_id=d.run_id,
            status=d.status,
            destination=d.destination,
            remote_path=d.remote_path,
            detail=d.output_name,
        )
        for d in connection.execute(query.order_by(_deliveries.id))
    ]


def _receivable_history(connection: Connection, number: str) -> list[HistoryEvent]:
    c, s = ArStatusChange.__table__.c, ArSnapshot.__table__.c
    rows = connection.execute(
        select(c.integration, c.change, c.changed_at, c.previous_amount, c.open_amount, c.currency, s.run_id)
        .join_from(ArStatusChange.__table__, ArSnapshot.__table__, s.id == c.snapshot_id)
        .where(c.invoice_ref == number)
        .order_by(c.changed_at, c.id)
    )
    return [
        HistoryEvent(
            step=Step.RECEIVABLE,
            at=as_utc(r.changed_at),
            integration=r.integration,
            run_id=r.run_id,
            status=r.change,
            detail=_amounts(r.previous_amount, r.open_amount, r.currency),
        )
        for r in rows
    ]


def _amounts(previous: Decimal | None, current: Decimal | None, currency: str | None) -> str:
    unit = f" {currency}" if currency else ""
    if previous is None:
        return f"open {current}{unit}" if current is not None else ""
    return f"{previous} -> {current if current is not None else 0}{unit}"


# -- integration health and volume ---------------------------------------------------------------


class Failure(_Frozen):
    at: dt.datetime
    reason: str | None
    source_path: str
    run_id: str


class IntegrationHealth(_Frozen):
    integration: str
    last_success: dt.datetime | None  # a file processed, an export delivered or a snapshot applied
    last_failure: Failure | None  # the latest rejected file
    files_waiting: int  # fetched (claimed) and not finished
    invoices_today: int  # received today (UTC), by a transfer
    exported_today: int  # delivered today (UTC), by an export
    files_last_30_days: int  # finished in the last 30 days (succeeded or failed)
    rejected_last_30_days: int
    rejection_rate: float | None  # rejected / finished over the last 30 days; None: none finished


def _today(now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0), now


def _health_query(names: list[str], midnight: dt.datetime, since: dt.datetime) -> Select[Any]:
    """Every figure of every integration in one statement (one round trip, planned once): a row per
    name, each figure a correlated subquery that is one indexed lookup (max() at an index's end,
    counts over an index range), and the latest failure joined by its id."""
    f, e, s = _files, _exports, ArSnapshot.__table__.c
    listed = union_all(*[select(literal(n, String).label("name")) for n in names]).subquery("listed")
    name = listed.c.name
    failed = SourceFile.__table__.alias("latest_failure")

    def count(*where: ColumnElement[bool]) -> Any:
        return select(func.count()).where(*where).scalar_subquery()

    def latest(column: ColumnElement[Any], *where: ColumnElement[bool]) -> Any:
        return select(func.max(column)).where(*where).scalar_subquery()

    latest_failure = (
        select(f.id)
        .where(f.integration == name, f.status == FileStatus.FAILED)
        .order_by(f.updated_at.desc(), f.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    finished = (FileStatus.SUCCEEDED, FileStatus.FAILED)
    return select(
        name,
        latest(f.updated_at, f.integration == name, f.status == FileStatus.SUCCEEDED).label("file_success"),
        latest(e.recorded_at, e.integration == name, e.status == "delivered").label("export_success"),
        latest(s.applied_at, s.integration == name, s.status == SnapshotStatus.APPLIED).label(
            "snapshot_success"
        ),
        failed.c.updated_at.label("failed_at"),
        failed.c.reason.label("failure_reason"),
        failed.c.source_path.label("failed_path"),
        failed.c.run_id.label("failed_run"),
        count(f.integration == name, f.status == FileStatus.FETCHED).label("waiting"),
        count(_invoices.integration == name, _invoices.received_at >= midnight).label("received_today"),
        count(e.integration == name, e.status == "delivered", e.recorded_at >= midnight).label(
            "exported_today"
        ),
        count(f.integration == name, f.status.in_(finished), f.updated_at >= since).label("finished"),
        count(f.integration == name, f.status == FileStatus.FAILED, f.updated_at >= since).label("rejected"),
    ).select_from(listed.outerjoin(failed, failed.c.id == latest_failure))


def integration_health(
    connection: Connection, names: Iterable[str], now: dt.datetime | None = None
) -> list[IntegrationHealth]:
    """Health per integration, in the order of ``names``."""
    midnight, now = _today(now)
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    found = {
        row.name: row
        for row in connection.execute(_health_query(wanted, midnight, now - dt.timedelta(days=30)))
    }
    result = []
    for name in wanted:
        figures = found[name]
        successes = [figures.file_success, figures.export_success, figures.snapshot_success]
        result.append(
            IntegrationHealth(
                integration=name,
                last_success=max((as_utc(t) for t in successes if t is not None), default=None),
                last_failure=Failure(
                    at=as_utc(figures.failed_at),
                    reason=figures.failure_reason,
                    source_path=figures.failed_path,
                    run_id=figures.failed_run,
                )
                if figures.failed_at is not None
                else None,
                files_waiting=figures.waiting,
                invoices_today=figures.received_today,
                exported_today=figures.exported_today,
                files_last_30_days=figures.finished,
                rejected_last_30_days=figures.rejected,
                rejection_rate=figures.rejected / figures.finished if figures.finished else None,
            )
        )
    return result


class DayVolume(_Frozen):
    day: dt.date
    received: int  # invoices received by the transfer
    exported: int  # invoices delivered by the export
    rejected: int  # source files rejected


def _utc_day(connection: Connection, column: ColumnElement[dt.datetime]) -> ColumnElement[Any]:
    if connection.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps UTC times as text: 'YYYY-MM-DD ...'


def volume_per_day(
    connection: Connection, name: str, days: int = 30, now: dt.datetime | None = None
) -> list[DayVolume]:
    """The last ``days`` days (UTC, today included), oldest first, every day present (0s too)."""
    midnight, now = _today(now)
    first = midnight - dt.timedelta(days=days - 1)
    series: dict[str, dict[dt.date, int]] = {"received": {}, "exported": {}, "rejected": {}}
    counts = []
    for label, table_time, where in (
        ("received", _invoices.received_at, [_invoices.integration == name]),
        ("exported", _exports.recorded_at, [_exports.integration == name, _exports.status == "delivered"]),
        ("rejected", _files.updated_at, [_files.integration == name, _files.status == FileStatus.FAILED]),
    ):
        day = _utc_day(connection, table_time)
        counts.append(
            select(literal(label, String).label("series"), day.label("day"), func.count().label("count"))
            .where(*where, table_time >= first)
            .group_by(day)
        )
    for label, value, count in connection.execute(union_all(*counts)):  # one round trip
        series[label][value if isinstance(value, dt.date) else dt.date.fromisoformat(value)] = count
    return [
        DayVolume(
            day=d,
            received=series["received"].get(d, 0),
            exported=series["exported"].get(d, 0),
            rejected=series["rejected"].get(d, 0),
        )
        for d in (first.date() + dt.timedelta(days=n) for n in range(days))
    ]


# -- open AR --------------------------------------------------------------------------------------


class ArState(StrEnum):
    OPEN = "open"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"  # open, with a part paid at some snapshot
    NEEDS_REVIEW = "needs_review"  # reopened after being paid: a person should look


class Receivable(_Frozen):
    invoice_ref: str
    status: str  # open | paid
    partially_paid: bool
    needs_review: bool
    open_amount: Decimal | None
    currency: str | None
    customer: str | None
    customer_name: str | None
    issue_date: dt.date | None
    due_date: dt.date | None
    opened_at: dt.datetime
    paid_at: dt.datetime | None


class OpenArSummary(_Frozen):
    integration: str
    open: int
    paid: int
    partially_paid: int
    needs_review: int
    rows: tuple[Receivable, ...]
    has_more: bool
    next_cursor: str | None  # the last row's invoice_ref: pass as page_after


def _partially_paid() -> ColumnElement[bool]:
    a, c = ArInvoice.__table__.c, ArStatusChange.__table__.c
    return exists().where(
        c.integration == a.integration, c.invoice_ref == a.invoice_ref, c.change == "partially_paid"
    )


def _ar_predicate(state: ArState) -> ColumnElement[bool]:
    a = ArInvoice.__table__.c
    return {
        ArState.OPEN: a.status == "open",
        ArState.PAID: a.status == "paid",
        ArState.PARTIALLY_PAID: and_(a.status == "open", _partially_paid()),
        ArState.NEEDS_REVIEW: and_(a.status == "open", a.needs_review.is_(True)),
    }[state]


def open_ar_summary(
    connection: Connection,
    name: str,
    state: ArState | None = None,
    page_after: str | None = None,
    limit: int = 50,
) -> OpenArSummary:
    """The receivables of a reconciliation integration: counts per state, and one page (in
    invoice_ref order, keyset on the unique (integration, invoice_ref) index) of those in ``state``."""
    a = ArInvoice.__table__.c
    limit = max(1, min(limit, MAX_LIMIT))
    statuses: dict[str, int] = dict(
        connection.execute(
            select(a.status, func.count()).where(a.integration == name).group_by(a.status)
        ).all()
    )
    partially = connection.execute(
        select(func.count()).where(a.integration == name, _ar_predicate(ArState.PARTIALLY_PAID))
    ).scalar_one()
    review = connection.execute(
        select(func.count()).where(a.integration == name, _ar_predicate(ArState.NEEDS_REVIEW))
    ).scalar_one()
    query = select(ArInvoice.__table__, _partially_paid().label("partially_paid")).where(
        a.integration == name
    )
    if state is not None:
        query = query.where(_ar_predicate(state))
    if page_after is not None:
        query = query.where(a.invoice_ref > page_after)
    rows = connection.execute(query.order_by(a.invoice_ref).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return OpenArSummary(
        integration=name,
        open=statuses.get("open", 0),
        paid=statuses.get("paid", 0),
        partially_paid=partially,
        needs_review=review,
        rows=tuple(
            Receivable(
                invoice_ref=r.invoice_ref,
                status=r.status,
                partially_paid=bool(r.partially_paid),
                needs_review=bool(r.needs_review),
                open_amount=r.open_amount,
                currency=r.currency,
                customer=r.customer,
                customer_name=r.customer_name,
                issue_date=r.issue_date,
                due_date=r.due_date,
                opened_at=as_utc(r.opened_at),
                paid_at=as_utc(r.paid_at) if r.paid_at else None,
            )
            for r in rows
        ),
        has_more=has_more,
        next_cursor=rows[-1].invoice_ref if has_more else None,
    )


# -- "Find invoices" of an export --------------------------------------------------------------------


class FindState(StrEnum):
    NOT_ACTIVATED = "not activated"  # the export does not export this customer
    NOT_EXPORTED = "not exported"
    EXPORTED = "exported"
    CANNOT_BE_EXPORTED = "cannot be exported"  # an accounting record that is no invoice (see reason)


class FoundInvoice(_Frozen):
    id: int | None  # None: read from the accounting system, not in the ledger
    number: str
    type: str
    issue_date: dt.date | None
    received_at: dt.datetime | None
    customer: str | None
    state: FindState
    exported_to: tuple[str, ...]  # remote paths (or destinations) it was delivered to
    exported_at: dt.datetime | None  # the latest delivery
    reason: str | None = None  # why it cannot be exported


def find_invoices(
    connection: Connection,
    integration: str,
    criteria: Criteria,
    activated: Callable[[str | None], bool],
) -> list[FoundInvoice]:
    """The invoices ``criteria`` selects (what an export's Trigger form's params would), each not
    activated (``activated(customer)`` is false), not exported or exported by ``integration``: the
    seed's "Find invoices" view (``invoice_hub.exchange.find`` says what the params select)."""
    from invoice_hub.ledger.invoices import exported_query, selection_query

    records = connection.execute(selection_query(criteria)).all()
    done: dict[int, list[Any]] = {}
    for chunk in _chunks([r.id for r in records]):
        for export in connection.execute(exported_query(integration, chunk)):
            done.setdefault(export.invoice_id, []).append(export)
    found = []
    for record in records:
        exports = done.get(record.id, [])
        if not activated(record.customer):
            state = FindState.NOT_ACTIVATED
        else:
            state = FindState.EXPORTED if exports else FindState.NOT_EXPORTED
        found.append(
            FoundInvoice(
                id=record.id,
                number=record.number,
                type=record.type,
                issue_date=record.issue_date,
                received_at=as_utc(record.received_at),
                customer=record.customer,
                state=state,
                exported_to=tuple(sorted({e.remote_path or e.destination for e in exports})),
                exported_at=max((as_utc(e.recorded_at) for e in exports), default=None),
            )
        )
    return found
