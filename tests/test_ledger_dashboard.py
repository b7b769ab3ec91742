"""The dashboard's reads of the ledger (ledger/dashboard.py), on SQLite and PostgreSQL.

A small ledger with every kind of row (invoices delivered, exported, paid, only received; export rows
delivered and skipped; files rejected, duplicate, passed through, waiting) is generated, and what the
listing returns page by page is compared with an independent model of it written here: which rows
match, which status each has, and their order (column, time, kind, id; NULL after every value).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from invoice_hub.ledger import dashboard as d
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import (
    ArInvoice,
    ArSnapshot,
    ArStatusChange,
    Delivery,
    InvoiceExport,
    InvoiceRecord,
    SourceFile,
)
from invoice_hub.validation.findings import Finding

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
INTEGRATIONS = ("alpha_in", "beta_in", "gamma_in")
EXPORTS = ("erp_export",)
SENDERS = ("S-1", "S-2", "s-3", None)
RECEIVERS = ("R-1", "R-2", "R-3", "r-4")


@dataclass(frozen=True)
class Expected:
    """The model's view of one transaction."""

    id: str
    rank: int
    row_id: int
    integration: str
    direction: d.Direction
    values: dict[d.SortKey, str | None]
    status: d.Status
    time: dt.datetime
    destinations: frozenset[str]
    search_text: str
    invoice_time: dt.datetime | None = None  # an export's: its invoice's received time


def _ledger(engine: Engine) -> list[Expected]:
    """Fill the ledger with generated rows (the first seed whose rows have every status); the
    expected transactions, by the rules of the docs."""
    for seed in range(100):
        files, invoices, deliveries, exports, expected = _generated(seed)
        if {e.status for e in expected} == set(d.Status) - {d.Status.PENDING}:
            break
    with engine.begin() as connection:
        connection.execute(insert(SourceFile), files)
        connection.execute(insert(InvoiceRecord), invoices)
        connection.execute(insert(Delivery), deliveries)
        connection.execute(insert(InvoiceExport), exports)
    return expected


def _generated(seed: int) -> tuple[list[dict], list[dict], list[dict], list[dict], list[Expected]]:
    rng = random.Random(seed)
    files, invoices, deliveries, exports, expected = [], [], [], [], []
    delivered_files: dict[tuple[int, str], set[str]] = {}
    file_id = invoice_id = 0
    for run in range(12):
        integration = INTEGRATIONS[run % 3]
        at = T0 + dt.timedelta(hours=run // 2)  # runs share their time: ties are broken by kind and id
        for _ in range(rng.randint(3, 6)):
            file_id += 1
            status = rng.choices(["succeeded", "failed", "duplicate", "fetched"], [5, 2, 1, 2])[0]
            path = f"/in/{integration}/file{file_id}.xml"
            reason = {"failed": f"[xsd] bad file {file_id}", "duplicate": "same content as /in/x.xml"}.get(
                status
            )
            files.append(
                {
                    "id": file_id,
                    "integration": integration,
                    "source_path": path,
                    "size": 100 + file_id,
                    "mtime": 1.0 * file_id,
                    "sha256": f"{file_id:064x}",
                    "status": status,
                    "reason": reason,
                    "run_id": f"run_{run}",
                    "first_seen_at": at,
                    "updated_at": at,
                }
            )
            # a failed file may have been read before it failed (its delivery, say)
            has_invoices = rng.random() < {"succeeded": 0.8, "fetched": 0.8, "failed": 0.3}.get(status, 0)
            if status in ("succeeded", "fetched") and rng.random() < 0.6:
                for destination in rng.sample(["sftp:/ap", "local:/out", "email:ap"], rng.randint(1, 2)):
                    deliveries.append(
                        {
                            "integration": integration,
                            "source_file_id": file_id,
                            "destination": destination,
                            "output_name": f"out{file_id}.xml",
                            "output_sha256": f"{file_id:032x}{len(deliveries):032x}",
                            "remote_path": f"/remote/{destination}/{file_id}.xml",
                            "status": "delivered",
                            "run_id": f"run_{run}",
                            "delivered_at": at,
                        }
                    )
                    delivered_files.setdefault((file_id, integration), set()).add(destination)
            if rng.random() < 0.2:  # an export's delivery of this file's invoices: not the transfer's own
                deliveries.append(
                    {
                        "integration": EXPORTS[0],
                        "source_file_id": file_id,
                        "destination": "sftp:/erp",
                        "output_name": f"exp{file_id}.xml",
                        "output_sha256": f"e{file_id:063x}",
                        "remote_path": f"/erp/{file_id}.xml",
                        "status": "delivered",
                        "run_id": "export_run",
                        "delivered_at": at,
                    }
                )
            if not has_invoices:
                rejected = status in ("failed", "duplicate")
                own = delivered_files.get((file_id, integration), set())
                expected.append(
                    Expected(
                        id=f"file-{file_id}",
                        rank=2,
                        row_id=file_id,
                        integration=integration,
                        direction=d.Direction.INBOUND,
                        values={k: None for k in _COLUMN_KEYS} | {d.SortKey.INTEGRATION: integration},
                        status=d.Status.REJECTED
                        if rejected
                        else (d.Status.RECEIVED if status == "fetched" and not own else d.Status.DELIVERED),
                        time=at,
                        destinations=frozenset(own),
                        search_text=f"{path} {reason or ''}".lower(),
                    )
                )
                continue
            for _ in range(rng.randint(1, 2)):
                invoice_id += 1
                sender = rng.choice(SENDERS)
                values = {
                    d.SortKey.INTEGRATION: integration,
                    d.SortKey.SENDER: sender,
                    d.SortKey.RECEIVER: rng.choice(RECEIVERS),
                    d.SortKey.NUMBER: f"INV-{rng.randint(1, 40):03d}",
                    d.SortKey.CUSTOMER_ORDER_NUMBER: rng.choice(["PO-1", "PO-2", None]),
                    d.SortKey.SUPPLIER_ORDER_NUMBER: rng.choice(["SO-1", None, None]),
                }
                paid = rng.random() < 0.15
                invoices.append(
                    {
                        "id": invoice_id,
                        "integration": integration,
                        "source_file_id": file_id,
                        "source_path": path,
                        "run_id": f"run_{run}",
                        "received_at": at,
                        "number": values[d.SortKey.NUMBER],
                        "type": "invoice",
                        "status": "paid" if paid else "open",
                        "sender": sender,
                        "sender_name": f"Seller {sender} GmbH" if sender else None,
                        "receiver": values[d.SortKey.RECEIVER],
                        "receiver_name": "Buyer Ltd",
                        "customer": values[d.SortKey.RECEIVER],
                        "customer_order_number": values[d.SortKey.CUSTOMER_ORDER_NUMBER],
                        "supplier_order_number": values[d.SortKey.SUPPLIER_ORDER_NUMBER],
                        "source_sha256": f"{file_id:064x}",
                        "source_url": f"file:///store/{file_id}.xml",
                        "document_url": f"file:///store/{invoice_id}.json",
                    }
                )
                exported_to = set()
                for destination in ("sftp:/erp", "email:erp"):
                    if rng.random() < 0.25:
                        status_e = rng.choice(["delivered", "delivered", "skipped"])
                        export_at = at + dt.timedelta(minutes=rng.choice([0, 30]))
                        exports.append(
                            {
                                "id": len(exports) + 1,
                                "integration": EXPORTS[0],
                                "invoice_id": invoice_id,
                                "destination": destination,
                                "output_name": f"{invoice_id}.xml",
                                "output_sha256": f"{invoice_id:064x}",
                                "output_url": f"file:///store/out{invoice_id}.xml",
                                "remote_path": f"/erp/{invoice_id}.xml",
                                "status": status_e,
                                "reason": "exported before; reexport: skip"
                                if status_e == "skipped"
                                else None,
                                "run_id": "export_run",
                                "recorded_at": export_at,
                            }
                        )
                        if status_e == "delivered":
                            exported_to.add(destination)
                        expected.append(
                            Expected(
                                id=f"export-{len(exports)}",
                                rank=1,
                                row_id=len(exports),
                                integration=EXPORTS[0],
                                direction=d.Direction.OUTBOUND,
                                values=values | {d.SortKey.INTEGRATION: EXPORTS[0]},
                                status=d.Status.EXPORTED if status_e == "delivered" else d.Status.SKIPPED,
                                time=export_at,
                                destinations=frozenset([destination]),
                                search_text=_invoice_text(invoices[-1]),
                                invoice_time=at,
                            )
                        )
                own = delivered_files.get((file_id, integration), set())
                if paid:
                    status = d.Status.PAID
                elif exported_to:
                    status = d.Status.EXPORTED
                elif files[-1]["status"] == "fetched" and not own:
                    status = d.Status.RECEIVED  # its file not finished, nothing delivered yet
                elif files[-1]["status"] == "failed" and not own:
                    status = d.Status.REJECTED  # its file rejected after it was read
                else:
                    status = d.Status.DELIVERED
                expected.append(
                    Expected(
                        id=f"invoice-{invoice_id}",
                        rank=0,
                        row_id=invoice_id,
                        integration=integration,
                        direction=d.Direction.INBOUND,
                        values=values,
                        status=status,
                        time=at,
                        destinations=frozenset(own),
                        search_text=_invoice_text(invoices[-1]),
                    )
                )
    return files, invoices, deliveries, exports, expected


_COLUMN_KEYS = (
    d.SortKey.SENDER,
    d.SortKey.RECEIVER,
    d.SortKey.NUMBER,
    d.SortKey.CUSTOMER_ORDER_NUMBER,
    d.SortKey.SUPPLIER_ORDER_NUMBER,
)


def _invoice_text(row: dict) -> str:
    keys = ("number", "sender", "sender_name", "receiver", "receiver_name")
    keys += ("customer_order_number", "supplier_order_number")
    return " ".join(row[k] or "" for k in keys).lower()


def _key(e: Expected, sort: d.SortKey) -> tuple:
    """The model of the listing's order: (group, value, time, kind, id), NULL after every value."""
    if sort is d.SortKey.TIME:
        return (0, "", e.time, e.rank, e.row_id)
    if sort is d.SortKey.DIRECTION:
        return (list(d.Direction).index(e.direction), "", e.time, e.rank, e.row_id)
    if sort is d.SortKey.STATUS:
        return (list(d.Status).index(e.status), "", e.time, e.rank, e.row_id)
    value = e.values[sort]
    # sorted by a column of the invoice, an export follows its invoice's time (the invoices' index)
    time = e.invoice_time or e.time if sort is not d.SortKey.INTEGRATION else e.time
    return (0, value, time, e.rank, e.row_id) if value is not None else (1, "", time, e.rank, e.row_id)


def _matches(e: Expected, f: d.TransactionFilters) -> bool:
    return all(
        (
            f.integration is None or e.integration == f.integration,
            f.direction is None or e.direction is f.direction,
            f.sender is None or e.values[d.SortKey.SENDER] == f.sender,
            f.receiver is None or e.values[d.SortKey.RECEIVER] == f.receiver,
            f.number is None or e.values[d.SortKey.NUMBER] == f.number,
            f.customer_order_number is None
            or e.values[d.SortKey.CUSTOMER_ORDER_NUMBER] == f.customer_order_number,
            f.supplier_order_number is None
            or e.values[d.SortKey.SUPPLIER_ORDER_NUMBER] == f.supplier_order_number,
            f.status is None or e.status is f.status,
            f.destination is None or f.destination in e.destinations,
            f.time_from is None or e.time >= f.time_from,
            f.time_to is None or e.time < f.time_to,
            not f.search or f.search.lower() in e.search_text,
        )
    )


def _all_pages(engine: Engine, limit: int, **kwargs) -> Iterator[d.Transaction]:
    cursor = None
    with engine.connect() as connection:
        for _ in range(1000):
            page = d.list_transactions(connection, page_after=cursor, limit=limit, **kwargs)
            assert len(page.rows) <= limit
            yield from page.rows
            if not page.has_more:
                assert page.next_cursor is None
                return
            assert len(page.rows) == limit, "a page before the last is full"
            cursor = page.next_cursor
    raise AssertionError("the pages never ended")


@pytest.fixture
def ledger(ledger_url: str) -> tuple[Engine, list[Expected]]:
    engine = get_engine(ledger_url)
    return engine, _ledger(engine)


def _expected_ids(expected: list[Expected], sort: d.Sort, filters: d.TransactionFilters, readable=None):
    chosen = [e for e in expected if _matches(e, filters) and (readable is None or e.integration in readable)]
    return [e.id for e in sorted(chosen, key=lambda e: _key(e, sort.key), reverse=sort.descending)]


def test_every_sort_pages_through_every_row_once_in_order(ledger) -> None:
    engine, expected = ledger
    assert {e.status for e in expected} == set(d.Status) - {d.Status.PENDING}, "the data has every status"
    by_id = {e.id: e for e in expected}
    for key in d.SortKey:
        for descending in (False, True):
            sort = d.Sort(key=key, descending=descending)
            rows = list(_all_pages(engine, 11, sort=sort))
            assert [r.id for r in rows] == _expected_ids(expected, sort, d.TransactionFilters()), sort
            for row in rows:
                model = by_id[row.id]
                assert (row.status, row.integration, row.direction) == (
                    model.status,
                    model.integration,
                    model.direction,
                )
                assert set(row.destinations) == model.destinations, row.id
                assert row.time == model.time


_FILTERS = st.builds(
    d.TransactionFilters,
    integration=st.sampled_from([None, *INTEGRATIONS, *EXPORTS]),
    direction=st.sampled_from([None, *d.Direction]),
    sender=st.sampled_from([None, None, "S-1", "s-3"]),
    receiver=st.sampled_from([None, None, "R-2"]),
    number=st.sampled_from([None, None, None, "INV-007"]),
    customer_order_number=st.sampled_from([None, None, "PO-1"]),
    supplier_order_number=st.sampled_from([None, None, "SO-1"]),
    status=st.sampled_from([None, None, *d.Status]),
    destination=st.sampled_from([None, None, "sftp:/ap", "sftp:/erp"]),
    time_from=st.sampled_from([None, T0 + dt.timedelta(hours=2)]),
    time_to=st.sampled_from([None, T0 + dt.timedelta(hours=4, minutes=30)]),
    search=st.sampled_from([None, None, "seller s-1", "file1", "INV-0", "po-2", "xsd", "100%_"]),
)


def test_filters_sorts_and_pages_match_the_model(ledger) -> None:
    engine, expected = ledger

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        filters=_FILTERS,
        key=st.sampled_from(list(d.SortKey)),
        descending=st.booleans(),
        limit=st.integers(1, 12),
        readable=st.sampled_from([None, {"alpha_in"}, {"beta_in", "erp_export"}]),
    )
    def check(filters, key, descending, limit, readable) -> None:
        sort = d.Sort(key=key, descending=descending)
        rows = [r.id for r in _all_pages(engine, limit, sort=sort, filters=filters, integrations=readable)]
        assert rows == _expected_ids(expected, sort, filters, readable)

    check()


def test_each_filter_alone_selects_what_it_names(ledger) -> None:
    """Every filter, one at a time, has rows to find and finds exactly the model's."""
    engine, expected = ledger
    for filters in (
        d.TransactionFilters(integration="beta_in"),
        d.TransactionFilters(direction=d.Direction.OUTBOUND),
        d.TransactionFilters(sender="S-2"),
        d.TransactionFilters(receiver="r-4"),
        d.TransactionFilters(number=next(e.values[d.SortKey.NUMBER] for e in expected if e.rank == 0)),
        d.TransactionFilters(customer_order_number="PO-2"),
        d.TransactionFilters(supplier_order_number="SO-1"),
        d.TransactionFilters(destination="local:/out"),
        d.TransactionFilters(time_from=T0 + dt.timedelta(hours=3), time_to=T0 + dt.timedelta(hours=4)),
        d.TransactionFilters(search="GMBH"),
        d.TransactionFilters(search="bad file"),
        *(d.TransactionFilters(status=s) for s in d.Status if s is not d.Status.PENDING),
    ):
        want = _expected_ids(expected, d.Sort(), filters)
        assert want, f"the data has rows for {filters}"
        assert [r.id for r in _all_pages(engine, 50, filters=filters)] == want, filters


def test_only_the_readable_integrations_are_listed(ledger) -> None:
    engine, expected = ledger
    rows = list(_all_pages(engine, 50, integrations={"gamma_in"}))
    assert rows and {r.integration for r in rows} == {"gamma_in"}
    assert list(_all_pages(engine, 50, integrations=set())) == []
    with engine.connect() as connection:
        hidden = next(e for e in expected if e.integration == "alpha_in")
        assert d.transaction_detail(connection, hidden.id, integrations={"gamma_in"}) is None
        assert d.transaction_detail(connection, hidden.id, integrations={"alpha_in"}) is not None


def test_cursors_are_checked(ledger) -> None:
    engine, _ = ledger
    with engine.connect() as connection:
        page = d.list_transactions(connection, limit=3)
        assert page.has_more and page.next_cursor
        with pytest.raises(d.InvalidCursor, match="sorting by time"):
            d.list_transactions(connection, sort=d.Sort(key=d.SortKey.SENDER), page_after=page.next_cursor)
        with pytest.raises(d.InvalidCursor, match="not a cursor"):
            d.list_transactions(connection, page_after="garbage!")


def test_detail_tells_the_history_and_documents(ledger) -> None:
    engine, expected = ledger
    exported = next(e for e in expected if e.rank == 0 and e.status is d.Status.EXPORTED)
    rejected = next(e for e in expected if e.status is d.Status.REJECTED)
    with engine.connect() as connection:
        detail = d.transaction_detail(connection, exported.id)
        assert detail is not None and detail.transaction.id == exported.id
        steps = [e.step for e in detail.history]
        assert steps[:2] == [d.Step.FETCHED, d.Step.RECEIVED] and d.Step.EXPORTED in steps
        assert all(e.run_id for e in detail.history if e.step is not d.Step.PAID)
        roles = [doc.role for doc in detail.documents]
        assert roles[:2] == ["source", "canonical"] and "rendered" in roles
        # the export's own rows (another integration) are hidden from a reader of the transfer alone
        own = d.transaction_detail(connection, exported.id, integrations={exported.integration})
        assert own is not None and d.Step.EXPORTED not in [e.step for e in own.history]
        assert "rendered" not in [doc.role for doc in own.documents]
        failed = d.transaction_detail(connection, rejected.id)
        assert failed is not None and failed.transaction.reason
        assert [e.step for e in failed.history] == [d.Step.FETCHED, d.Step.REJECTED]
        assert d.transaction_detail(connection, "invoice-999999") is None
        with pytest.raises(d.InvalidCursor):
            d.transaction_detail(connection, "bogus")


# -- what the writers record, read back: statuses, health and volume ---------------------------------


def test_statuses_health_and_volume_from_what_the_hub_records(ledger_url: str) -> None:
    from invoice_hub.ledger.invoices import Invoices, Received
    from invoice_hub.ledger.store import Ledger
    from invoice_hub.model import Identifier, Invoice, Party

    engine = get_engine(ledger_url)
    ledger, invoices = Ledger(engine), Invoices(engine)
    files = [(f"/in/{n}.xml", 10, 1.0, f"{n:064x}") for n in range(1, 6)]
    ids = [c.file_id for c in ledger.claim_many("in", "run_1", files)]

    def received(file_index: int, number: str) -> Received:
        invoice = Invoice(
            number=number,
            issue_date=dt.date(2026, 11, 2),
            seller=Party(ids=[Identifier(value="SELLER")], name="Seller AS"),
            buyer=Party(ids=[Identifier(value="C1")], name="Buyer AB"),
            order_reference="PO-77",
        )
        path, _, _, sha = files[file_index]
        return Received(invoice, ids[file_index], path, sha, f"file:///src/{number}", f"file:///doc/{number}")

    invoices.record_received("in", "run_1", [received(0, "A"), received(1, "B"), received(2, "C")])
    ledger.start_delivery("in", "sftp:/ap", "d" * 64, "A.xml", "/ap/A.xml", "run_1", ids[0])
    ledger.finish_delivery("in", "sftp:/ap", "d" * 64, "/ap/A.xml")
    ledger.start_delivery("in", "sftp:/ap", "e" * 64, "C.xml", "/ap/C.xml", "run_1", ids[2])  # pending
    invoices.set_status(["B"], "paid")
    ledger.close_files(ids[:3], "succeeded", {})
    ledger.close_files([ids[3]], "failed", {ids[3]: "[xsd] line 3: element X not expected"})
    # ids[4] stays fetched: a file waiting
    (c_record,) = [r for r in invoices.select(_everything()) if r.number == "C"]
    row = {"invoice_id": c_record.id, "destination": "sftp:/erp", "output_name": "C.xml"}
    row |= {"output_sha256": "f" * 64, "output_url": "file:///out/C.xml", "remote_path": "/erp/C.xml"}
    invoices.record_exports("out", "run_x", [{**row, "status": "delivered", "reason": None}])

    with engine.connect() as connection:
        rows = {(r.kind, r.number or r.source_path): r for r in _all_pages(engine, 50)}
        assert {key: r.status for key, r in rows.items()} == {
            (d.Kind.INVOICE, "A"): d.Status.DELIVERED,
            (d.Kind.INVOICE, "B"): d.Status.PAID,
            (d.Kind.INVOICE, "C"): d.Status.EXPORTED,  # its transfer's delivery is only pending
            (d.Kind.EXPORT, "C"): d.Status.EXPORTED,
            (d.Kind.FILE, "/in/4.xml"): d.Status.REJECTED,
            (d.Kind.FILE, "/in/5.xml"): d.Status.RECEIVED,
        }
        a = rows[d.Kind.INVOICE, "A"]
        assert (a.sender, a.receiver, a.customer_order_number, a.destinations) == (
            "SELLER",
            "C1",
            "PO-77",
            ("sftp:/ap",),
        )
        assert rows[d.Kind.FILE, "/in/4.xml"].reason == "[xsd] line 3: element X not expected"
        assert rows[d.Kind.EXPORT, "C"].direction is d.Direction.OUTBOUND
        assert rows[d.Kind.EXPORT, "C"].destinations == ("sftp:/erp",)

        detail = d.transaction_detail(connection, rows[d.Kind.INVOICE, "C"].id)
        assert detail is not None
        assert [(e.step, e.status) for e in detail.history] == [
            (d.Step.FETCHED, "succeeded"),
            (d.Step.RECEIVED, "open"),
            (d.Step.EXPORTED, "delivered"),
            (d.Step.DELIVERED, "pending"),  # not delivered: no time, after the rest
        ]
        assert [doc.url for doc in detail.documents] == [
            "file:///src/C",
            "file:///doc/C",
            "file:///out/C.xml",
        ]

        (health, other) = d.integration_health(connection, ["in", "out"])
        assert (health.files_waiting, health.invoices_today, health.files_last_30_days) == (1, 3, 4)
        assert health.rejected_last_30_days == 1 and health.rejection_rate == pytest.approx(0.25)
        assert health.last_failure is not None and health.last_failure.source_path == "/in/4.xml"
        assert health.last_failure.reason.startswith("[xsd]") and health.last_failure.run_id == "run_1"
        assert health.last_success is not None
        assert (other.exported_today, other.invoices_today, other.last_failure) == (1, 0, None)
        assert other.last_success is not None and other.rejection_rate is None

        week = d.volume_per_day(connection, "in", days=7)
        assert len(week) == 7 and week[-1].day == dt.datetime.now(dt.UTC).date()
        assert (week[-1].received, week[-1].rejected) == (3, 1)
        assert sum(v.received + v.rejected for v in week[:-1]) == 0
        assert d.volume_per_day(connection, "out", days=2)[-1].exported == 1


def _finding(rule: str, severity: str, message: str, location: str = "") -> Finding:
    return Finding(rule=rule, severity=severity, message=message, location=location)


def test_detail_shows_validation_findings_and_conversion(ledger_url: str) -> None:
    """What validate_transform notes (ledger.note_outcomes) is what a transaction's history shows:
    a delivered file's warnings, a rejected file's fatal findings, a conversion's formats and files."""
    from invoice_hub.ledger.invoices import Invoices, Received
    from invoice_hub.ledger.outcomes import Conversion, validation_record
    from invoice_hub.ledger.store import Ledger, Noted
    from invoice_hub.model import Identifier, Invoice, Party

    engine = get_engine(ledger_url)
    ledger, invoices = Ledger(engine), Invoices(engine)
    files = [(f"/in/{n}.xml", 10, 1.0, f"{n:064x}") for n in range(1, 3)]
    good, bad = (c.file_id for c in ledger.claim_many("in", "run_1", files))
    warnings = [
        _finding(
            "BR-CL-10",
            "warning",
            "Any identifier shall have a scheme from the ISO 6523 ICD list",
            "/Invoice/cbc:ID",
        ),
        _finding("UBL-CR-561", "warning", "A UBL invoice should not include the AccountingCost <b>", ""),
    ]
    fatal = [_finding("BR-CO-15", "fatal", "Invoice total amount with VAT = total without VAT + VAT")]
    now = dt.datetime.now(dt.UTC)
    ledger.note_outcomes(
        {
            good: Noted(
                None,
                validation_record("en16931", warnings, now),
                Conversion(input="ubl", output="ap_agility", at=now, outputs=1),
            ),
            bad: Noted("BR-CO-15", validation_record("en16931", [*fatal, warnings[0]], now)),
        }
    )
    invoice = Invoice(
        number="W-1",
        issue_date=dt.date(2026, 11, 2),
        seller=Party(ids=[Identifier(value="SELLER")], name="Seller AS"),
        buyer=Party(ids=[Identifier(value="C1")], name="Buyer AB"),
    )
    output = ("W-1_20261201.xml", "a" * 64, "file:///out/W-1.xml")
    received = Received(invoice, good, "/in/1.xml", files[0][3], "file:///src/1", "file:///doc/1", (output,))
    invoices.record_received("in", "run_1", [received])
    ledger.start_delivery("in", "sftp:/ap", "a" * 64, output[0], "/ap/W-1_20261201.xml", "run_1", good)
    ledger.finish_delivery("in", "sftp:/ap", "a" * 64, "/ap/W-1_20261201.xml")
    ledger.close_files([good], "succeeded", {})
    ledger.close_files(
        [bad], "failed", {bad: "1 fatal finding(s): [BR-CO-15] fatal: ..."}, {bad: "validate.en16931"}
    )

    with engine.connect() as connection:
        rows = {(r.kind, r.number or r.source_path): r for r in _all_pages(engine, 50)}
        detail = d.transaction_detail(connection, rows[d.Kind.INVOICE, "W-1"].id)
        assert detail is not None
        assert [e.step for e in detail.history] == [
            d.Step.FETCHED,
            d.Step.VALIDATED,
            d.Step.CONVERTED,
            d.Step.RECEIVED,
            d.Step.DELIVERED,
        ]
        validated, converted = detail.history[1], detail.history[2]
        assert validated.detail == "validated (en16931): 2 warnings, 0 errors: BR-CL-10 UBL-CR-561"
        assert validated.status == "warnings" and validated.run_id == "run_1"
        assert [(f.rule, f.severity, f.message, f.location) for f in validated.findings] == [
            (f.rule, f.severity, f.message, f.location) for f in warnings
        ]
        assert converted.detail == "ubl -> ap_agility: W-1_20261201.xml"

        failed = d.transaction_detail(connection, rows[d.Kind.FILE, "/in/2.xml"].id)
        assert failed is not None
        assert [(e.step, e.status) for e in failed.history] == [
            (d.Step.FETCHED, "failed"),
            (d.Step.VALIDATED, "invalid"),
            (d.Step.REJECTED, "failed"),
        ]
        assert failed.history[1].detail == "validated (en16931): 1 warning, 1 error: BR-CO-15 BR-CL-10"
        assert [f.rule for f in failed.history[1].findings] == ["BR-CO-15", "BR-CL-10"]
        assert failed.history[1].findings[0].message.startswith("Invoice total amount with VAT")


def test_a_validation_record_is_bounded() -> None:
    """A hostile file's 100,000 findings keep the first 100 and the counts; long texts are cut."""
    from invoice_hub.ledger.outcomes import KEPT_FINDINGS, MESSAGE_CHARS, read_validation, validation_record

    many = [_finding(f"R-{n}", "fatal" if n % 4 == 0 else "warning", "x" * 10_000) for n in range(100_000)]
    record = validation_record("peppol", many, dt.datetime.now(dt.UTC))
    text = record.model_dump_json()
    assert len(text) < 100_000
    back = read_validation(text)
    assert back is not None and back.counts == {"fatal": 25_000, "warning": 75_000}
    assert len(back.findings) == KEPT_FINDINGS and back.truncated and back.total == 100_000
    assert all(len(f.message) == MESSAGE_CHARS for f in back.findings)
    event = d._validated(_FileRow("in", "run_1"), back)
    assert event.detail is not None
    assert event.detail.startswith("validated (peppol): 75000 warnings, 25000 errors: R-0 R-1")
    assert event.detail.endswith("(the first 100 of 100000 findings kept)")


@dataclass(frozen=True)
class _FileRow:
    integration: str
    run_id: str


def _everything():
    from invoice_hub.ledger.invoices import Criteria

    return Criteria()


def test_open_ar_summary_counts_and_pages(ledger_url: str) -> None:
    engine = get_engine(ledger_url)
    at = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(ArSnapshot),
            [{"id": 1, "integration": "ar", "source_path": "/ar.csv", "sha256": "a" * 64, "produced_at": at}
             | {"status": "applied", "rows": 5, "open_before": 0, "run_id": "ar_run", "applied_at": at}],
        )  # fmt: skip
        refs = {"R1": ("open", False), "R2": ("open", False), "R3": ("open", True), "R4": ("paid", False)}
        refs |= {"R5": ("paid", False)}
        connection.execute(
            insert(ArInvoice),
            [{"integration": "ar", "invoice_ref": ref, "status": status, "needs_review": review, "open_amount": "10.50"}
             | {"currency": "EUR", "opened_at": at, "last_snapshot_id": 1} for ref, (status, review) in refs.items()],
        )  # fmt: skip
        connection.execute(
            insert(ArStatusChange),
            [{"integration": "ar", "snapshot_id": 1, "invoice_ref": ref, "change": change, "changed_at": at}
             | {"previous_amount": "20", "open_amount": "10.50", "currency": "EUR"}
             for ref, change in (("R2", "partially_paid"), ("R4", "paid"), ("R3", "reopened"))],
        )  # fmt: skip
        connection.execute(insert(ArInvoice), [
            {"integration": "other", "invoice_ref": "R1", "status": "open", "opened_at": at, "last_snapshot_id": 1}
        ])  # fmt: skip
    with engine.connect() as connection:
        summary = d.open_ar_summary(connection, "ar", limit=2)
        assert (summary.open, summary.paid, summary.partially_paid, summary.needs_review) == (3, 2, 1, 1)
        assert [r.invoice_ref for r in summary.rows] == ["R1", "R2"] and summary.has_more
        assert summary.rows[1].partially_paid and str(summary.rows[1].open_amount) == "10.50"
        rest = d.open_ar_summary(connection, "ar", page_after=summary.next_cursor, limit=2)
        assert [r.invoice_ref for r in rest.rows] == ["R3", "R4"] and rest.has_more
        last = d.open_ar_summary(connection, "ar", page_after=rest.next_cursor, limit=2)
        assert [r.invoice_ref for r in last.rows] == ["R5"] and not last.has_more and last.next_cursor is None
        for state, refs_in in (
            (d.ArState.OPEN, ["R1", "R2", "R3"]),
            (d.ArState.PAID, ["R4", "R5"]),
            (d.ArState.PARTIALLY_PAID, ["R2"]),
            (d.ArState.NEEDS_REVIEW, ["R3"]),
        ):
            assert [r.invoice_ref for r in d.open_ar_summary(connection, "ar", state=state).rows] == refs_in


def test_models_and_migrations_agree(ledger_url: str) -> None:
    """The migrated schema is the one tables.py declares: every index of 0007 and 0008 in both, the same."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text
    from sqlalchemy.schema import CreateIndex

    from invoice_hub.ledger.tables import Base

    engine = get_engine(ledger_url)
    search = {"ix_invoices_search", "ix_source_files_search"}  # expressions: compared below
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # alembic cannot reflect expression indexes
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [
            x for x in compare_metadata(context, Base.metadata) if getattr(x[1], "name", None) not in search
        ]
    assert diffs == []
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        for table in (InvoiceRecord.__table__, SourceFile.__table__):
            (declared,) = [i for i in table.indexes if i.name in search]
            migrated = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": declared.name}
            ).scalar_one()
            connection.execute(
                text(str(CreateIndex(declared).compile(engine)).replace(declared.name, "ix_probe"))
            )
            probe = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_probe'")
            ).scalar_one()
            connection.rollback()
            assert probe.replace("ix_probe", declared.name) == migrated
