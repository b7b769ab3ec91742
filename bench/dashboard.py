"""The dashboard's requests on a big ledger: 1,000,000 invoices and 3,000,000 deliveries in PostgreSQL.

A fresh database is migrated (the hub's indexes), filled with COPY (the indexes dropped while it
loads and built again after), and each request of ``invoice_hub.ledger.dashboard`` is measured
``--repeat`` times with random parameters, reporting p50 and p95 per request; the target is a p95
under 200 ms. The baseline, in the same run: the same listings done naively, as a view over the
three kinds of rows (status by CASE / EXISTS) read with ``OFFSET`` paging and a ``count(*)`` per
request, as listings commonly are.

The data: 36 transfers and 6 exports with skewed volumes (Zipf-like), 5,000 senders and 20,000
customers (skewed too), dates over two years, runs of 1 to 20 invoices sharing a time; every invoice
in its own source file, delivered to 1 to 4 destinations of its transfer (2.8 on average); 20 % exported (1 % of
them skipped as exported before) with the export's own delivery; 25 % paid; 3 % of source files
rejected and 0.5 % duplicates without an invoice; the newest 0.1 % still waiting (no invoice read
yet); two small transfers pass their files through (delivered, no invoice).

    .venv/bin/python bench/dashboard.py [--invoices 1000000] [--repeat 200] [--baseline-repeat 20]
                                        [--postgres URL] [--quick]

--quick (what `make test` runs, through tests/test_benchmarks.py): 2,000 invoices on SQLite, 5
repeats; every request still runs (and its answer is checked), the times mean nothing.
The database is dropped at the end (``--keep`` keeps it and prints its URL).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "plugins"))

import sqlalchemy as sa  # noqa: E402

from invoice_hub.ledger import dashboard as d  # noqa: E402
from invoice_hub.ledger import database  # noqa: E402
from invoice_hub.ledger.tables import (  # noqa: E402
    Delivery,
    InvoiceExport,
    InvoiceRecord,
    SourceFile,
)

TARGET_P95_MS = 200.0
TRANSFERS = [f"transfer_{n:02d}" for n in range(36)]
EXPORTS = [f"export_{n}" for n in range(6)]
PASSTHROUGH = [34, 35]  # indexes in TRANSFERS
DESTINATIONS = ["sftp:/ap/in", "local:/archive", "email:ap@example.com", "http:erp"]
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=730)


STEMS = [
    "nord",
    "sud",
    "ost",
    "west",
    "berg",
    "tal",
    "see",
    "wald",
    "feld",
    "stein",
    "burg",
    "hof",
    "haven",
    "lund",
    "dal",
    "vik",
    "fjord",
    "holm",
    "strand",
    "mark",
    "sol",
    "lys",
    "blå",
    "grøn",
    "rot",
    "gelb",
    "silber",
    "gold",
    "eisen",
    "kupfer",
    "alpen",
    "baltic",
    "nordic",
    "atlantic",
    "delta",
    "orion",
    "vega",
    "lyra",
    "polar",
    "aurora",
    "cedar",
    "maple",
    "birch",
    "pine",
    "oak",
    "elm",
    "ash",
    "rowan",
    "willow",
    "hazel",
    "linden",
    "tern",
    "gull",
    "heron",
    "crane",
]
TRADES = [
    "logistik",
    "handel",
    "bau",
    "technik",
    "foods",
    "pharma",
    "textil",
    "energie",
    "data",
    "systems",
    "print",
    "metall",
    "agrar",
]
FORMS = ("GmbH", "AG", "AB", "AS", "ApS", "Oy", "Ltd", "B.V.", "S.A.", "KG")


def company(number: int, salt: int) -> str:
    """A plausible company name per party number: words varied enough that a name searched for is
    selective, as in a real ledger (``Nordhavn Logistik GmbH``)."""
    a, b = STEMS[(number * 7 + salt) % len(STEMS)], STEMS[(number // len(STEMS) + salt * 3) % len(STEMS)]
    trade = TRADES[(number // 3 + salt) % len(TRADES)]
    return f"{(a + b).capitalize()} {trade.capitalize()} {FORMS[number % len(FORMS)]}"


def skewed(rng: np.random.Generator, count: int, size: int, power: float = 1.0) -> np.ndarray:
    """``size`` draws of 0..count-1, the first ones far more often (weights 1/(k+1)^power)."""
    weights = 1.0 / np.arange(1, count + 1) ** power
    return rng.choice(count, size=size, p=weights / weights.sum())


class Data:
    """The generated ledger, column by column (numpy arrays), before it is loaded."""

    def __init__(self, invoices: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.invoices = invoices
        files = int(invoices * 1.06)  # the rejected, waiting and passthrough files have no invoice
        rejected = int(files * 0.035)
        # Runs of 1..20 files share one time; times over two years, increasing with the ids.
        run_sizes = rng.integers(1, 21, size=files // 5 + 1)
        run_of = np.repeat(np.arange(len(run_sizes)), run_sizes)[:files]
        runs = int(run_of[-1]) + 1
        run_seconds = np.sort(rng.uniform(0, SPAN.total_seconds(), size=runs))
        self.file_time = run_seconds[run_of]
        self.file_run = run_of
        self.file_integration = skewed(rng, len(TRANSFERS), runs, 0.8)[run_of]
        order = rng.permutation(files)
        self.file_rejected = np.zeros(files, dtype=bool)
        self.file_rejected[order[:rejected]] = True
        self.file_duplicate = np.zeros(files, dtype=bool)
        self.file_duplicate[order[: int(files * 0.005)]] = True  # a part of the rejected ones
        self.file_waiting = np.zeros(files, dtype=bool)
        self.file_waiting[files - max(1, files // 1000) :] = True
        self.file_waiting &= ~self.file_rejected
        # The two smallest transfers pass files through (transform.input: any): no invoice is read.
        self.file_passthrough = (
            np.isin(self.file_integration, PASSTHROUGH) & ~self.file_rejected & ~self.file_waiting
        )
        eligible = ~self.file_rejected & ~self.file_waiting & ~self.file_passthrough
        self.invoice_file = np.flatnonzero(eligible)  # one invoice per file (about --invoices of them)
        n = len(self.invoice_file)
        self.invoices = n
        self.sender = skewed(rng, 5000, n, 1.0)
        self.receiver = skewed(rng, 20000, n, 0.9)
        self.customer_order = np.where(rng.random(n) < 0.6, rng.integers(0, 400_000, n), -1)
        self.supplier_order = np.where(rng.random(n) < 0.3, rng.integers(0, 300_000, n), -1)
        self.paid = rng.random(n) < 0.25
        self.destinations = rng.choice([1, 2, 3, 4], size=n, p=[0.1, 0.2, 0.5, 0.2])  # by the transfer
        self.exported = np.flatnonzero(rng.random(n) < 0.2)
        self.export_integration = skewed(rng, len(EXPORTS), len(self.exported), 0.5)
        self.export_skipped = rng.random(len(self.exported)) < 0.01
        self.export_delay = rng.uniform(60, 86400 * 2, len(self.exported))

    def time(self, seconds: float) -> dt.datetime:
        return NOW - SPAN + dt.timedelta(seconds=float(seconds))

    def source_files(self) -> Iterator[tuple]:
        reason_failed = "[xsd] line 12: element 'cbc:IssueDate': '2026-13-01' is not a valid value"
        for i in range(len(self.file_time)):
            at = self.time(self.file_time[i])
            integration = TRANSFERS[self.file_integration[i]]
            if self.file_duplicate[i]:
                status, reason = "duplicate", "same content (sha256 0a1b2c3d4e5f…) as /in/earlier.xml"
            elif self.file_rejected[i]:
                status, reason = "failed", reason_failed
            elif self.file_waiting[i]:
                status, reason = "fetched", None
            else:
                status, reason = "succeeded", None
            yield (
                i + 1, integration, f"/in/{integration}/{at:%Y/%m/%d}/file_{i + 1}.xml", 4000 + i % 5000,
                float(i), f"{i + 1:064x}", status, reason, f"scheduled__{at:%Y-%m-%dT%H:%M:%S}", at, at,
            )  # fmt: skip

    def invoice_rows(self) -> Iterator[tuple]:
        for k in range(self.invoices):
            file = int(self.invoice_file[k])
            at = self.time(self.file_time[file])
            integration = TRANSFERS[self.file_integration[file]]
            sender, receiver = int(self.sender[k]), int(self.receiver[k])
            order = self.customer_order[k]
            supplier = self.supplier_order[k]
            yield (
                k + 1, integration, file + 1, f"/in/{integration}/{at:%Y/%m/%d}/file_{file + 1}.xml",
                f"scheduled__{at:%Y-%m-%dT%H:%M:%S}", at, f"INV-{sender:04d}-{k + 1:07d}", "invoice",
                "paid" if self.paid[k] else "open", f"SUP{sender:05d}", company(sender, 0),
                f"CUS{receiver:06d}", company(receiver, 1), f"CUS{receiver:06d}", at.date(),
                at.date() + dt.timedelta(days=30), "EUR", "100.00", "25.00", "125.00", "125.00",
                f"PO-{order:06d}" if order >= 0 else None, f"SO-{supplier:06d}" if supplier >= 0 else None,
                f"{file + 1:064x}", f"file:///store/source/{file + 1}.xml", f"file:///store/invoice/{k + 1}.json",
            )  # fmt: skip

    def delivery_rows(self) -> Iterator[tuple]:
        row_id = 0
        for k in range(self.invoices):
            file = int(self.invoice_file[k])
            at = self.time(self.file_time[file])
            integration = TRANSFERS[self.file_integration[file]]
            for n in range(int(self.destinations[k])):
                row_id += 1
                yield (
                    row_id, integration, file + 1, DESTINATIONS[n], f"INV-{k + 1}.xml", f"{row_id:064x}",
                    f"/remote/{k + 1}.xml", "delivered", f"scheduled__{at:%Y-%m-%dT%H:%M:%S}", at, f"{row_id:032x}",
                )  # fmt: skip
        for file in np.flatnonzero(self.file_passthrough):
            at = self.time(self.file_time[file])
            integration = TRANSFERS[self.file_integration[file]]
            for n in range(1 + int(file) % 2):
                row_id += 1
                yield (
                    row_id, integration, int(file) + 1, DESTINATIONS[n], f"file_{file + 1}.xml", f"{row_id:064x}",
                    f"/remote/file_{file + 1}.xml", "delivered", f"scheduled__{at:%Y-%m-%dT%H:%M:%S}", at,
                    f"{row_id:032x}",
                )  # fmt: skip
        for e, k in enumerate(self.exported):
            if self.export_skipped[e]:
                continue
            file = int(self.invoice_file[k])
            at = self.time(self.file_time[file] + self.export_delay[e])
            row_id += 1
            yield (
                row_id, EXPORTS[self.export_integration[e]], file + 1, "sftp:/erp/in", f"INV-{k + 1}.xml",
                f"{row_id:064x}", f"/erp/in/{k + 1}.xml", "delivered", "export_run", at, f"{row_id:032x}",
            )  # fmt: skip

    def export_rows(self) -> Iterator[tuple]:
        for e, k in enumerate(self.exported):
            file = int(self.invoice_file[k])
            at = self.time(self.file_time[file] + self.export_delay[e])
            skipped = bool(self.export_skipped[e])
            yield (
                e + 1, EXPORTS[self.export_integration[e]], int(k) + 1, "sftp:/erp/in", f"INV-{k + 1}.xml",
                f"{e + 1:064x}", f"file:///store/out/{e + 1}.xml", f"/erp/in/{k + 1}.xml",
                "skipped" if skipped else "delivered", "exported before; reexport: skip" if skipped else None,
                "export_run", at,
            )  # fmt: skip


COLUMNS = {
    SourceFile: "id integration source_path size mtime sha256 status reason run_id first_seen_at updated_at",
    InvoiceRecord: "id integration source_file_id source_path run_id received_at number type status sender "
    "sender_name receiver receiver_name customer issue_date due_date currency total_without_vat total_vat "
    "total_with_vat payable customer_order_number supplier_order_number source_sha256 source_url document_url",
    Delivery: "id integration source_file_id destination output_name output_sha256 remote_path status run_id "
    "delivered_at delivery_id",
    InvoiceExport: "id integration invoice_id destination output_name output_sha256 output_url remote_path "
    "status reason run_id recorded_at",
}


def load(engine: sa.Engine, data: Data) -> dict[str, float]:
    """Fill the tables; on PostgreSQL with COPY, its secondary indexes dropped and built after."""
    rows = {
        SourceFile: data.source_files,
        InvoiceRecord: data.invoice_rows,
        Delivery: data.delivery_rows,
        InvoiceExport: data.export_rows,
    }
    times: dict[str, float] = {}
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            for model, make in rows.items():
                names = COLUMNS[model].split()
                connection.execute(sa.insert(model), [dict(zip(names, r, strict=True)) for r in make()])
        return times
    with engine.begin() as connection:
        indexes = connection.execute(
            sa.text(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid WHERE NOT x.indisprimary AND NOT x.indisunique "
                "AND t.relname IN ('source_files', 'invoices', 'deliveries', 'invoice_exports')"
            )
        ).all()
        for name, _ in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
    raw = engine.raw_connection()
    try:
        for model, make in rows.items():
            started = time.perf_counter()
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    f"COPY {model.__tablename__} ({', '.join(COLUMNS[model].split())}) FROM STDIN"
                ) as copy,
            ):
                for row in make():
                    copy.write_row(row)
            raw.commit()
            times[f"COPY {model.__tablename__}"] = time.perf_counter() - started
        started = time.perf_counter()
        with raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _, definition in indexes:
                cursor.execute(definition)
            for table in ("source_files", "invoices", "deliveries", "invoice_exports"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        raw.commit()
        times["indexes built again"] = time.perf_counter() - started
        started = time.perf_counter()
        raw.driver_connection.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        times["VACUUM ANALYZE"] = time.perf_counter() - started
    finally:
        raw.close()
    return times


# -- the requests -----------------------------------------------------------------------------------


class Requests:
    """Random parameters drawn from the loaded data, and each request as the dashboard makes it."""

    def __init__(self, data: Data, seed: int = 11) -> None:
        self.data = data
        self.rng = random.Random(seed)

    def invoice(self) -> int:
        return self.rng.randrange(data_size(self.data))

    def filters(self) -> d.TransactionFilters:
        k, rng = self.invoice(), self.rng
        file = int(self.data.invoice_file[k])
        at = self.data.time(self.data.file_time[file])
        choice = rng.choice(
            ["integration", "sender", "receiver", "number", "order", "status", "destination", "dates"]
        )
        return {
            "integration": lambda: d.TransactionFilters(
                integration=TRANSFERS[self.data.file_integration[file]]
            ),
            "sender": lambda: d.TransactionFilters(sender=f"SUP{int(self.data.sender[k]):05d}"),
            "receiver": lambda: d.TransactionFilters(receiver=f"CUS{int(self.data.receiver[k]):06d}"),
            "number": lambda: d.TransactionFilters(number=f"INV-{int(self.data.sender[k]):04d}-{k + 1:07d}"),
            "order": lambda: d.TransactionFilters(customer_order_number=f"PO-{rng.randrange(400_000):06d}"),
            "status": lambda: d.TransactionFilters(
                status=rng.choice([s for s in d.Status if s is not d.Status.PENDING])
            ),
            "destination": lambda: d.TransactionFilters(destination=rng.choice(DESTINATIONS)),
            "dates": lambda: d.TransactionFilters(time_from=at, time_to=at + dt.timedelta(days=7)),
        }[choice]()

    def sort(self) -> d.Sort:
        return d.Sort(key=self.rng.choice(list(d.SortKey)), descending=self.rng.random() < 0.5)

    def search(self) -> str:
        k = self.invoice()
        text = self.rng.choice(
            [
                f"{k + 1:07d}",
                company(int(self.data.sender[k]), 0).split()[0],
                company(int(self.data.receiver[k]), 1).split()[0],
                f"CUS{int(self.data.receiver[k]):06d}",
            ]
        )
        return text.strip()

    def deep_cursor(self, sort: d.Sort) -> str:
        """The cursor after a random invoice: the page there, as deep as a person could page."""
        k = self.invoice()
        file = int(self.data.invoice_file[k])
        at = self.data.time(self.data.file_time[file])
        key = d._Key(group=0, value=None, time=at, rank=0, id=k + 1)
        return d.encode_cursor(key, sort)

    def transaction_id(self) -> str:
        kind = self.rng.random()
        if kind < 0.8:
            return f"invoice-{self.invoice() + 1}"
        if kind < 0.95:
            return f"export-{self.rng.randrange(len(self.data.exported)) + 1}"
        return f"file-{int(self.rng.choice(np.flatnonzero(self.data.file_rejected[:5000]))) + 1}"


def data_size(data: Data) -> int:
    return data.invoices


def hub_requests(req: Requests) -> dict[str, Callable[[sa.Connection], object]]:
    allowed = TRANSFERS[::4] + EXPORTS[:2]
    return {
        "list (first page, newest first)": lambda c: d.list_transactions(c),
        "list, as a user of 11 integrations": lambda c: d.list_transactions(c, integrations=set(allowed)),
        "filter (one column, random)": lambda c: d.list_transactions(c, filters=req.filters()),
        "sort (random column and direction)": lambda c: d.list_transactions(c, sort=req.sort()),
        "page deep (random position, by time)": lambda c: d.list_transactions(
            c, page_after=req.deep_cursor(d.Sort())
        ),
        "search (free text)": lambda c: d.list_transactions(
            c, filters=d.TransactionFilters(search=req.search())
        ),
        "detail (one transaction)": lambda c: d.transaction_detail(c, req.transaction_id()),
        "health (all 42 integrations)": lambda c: d.integration_health(c, TRANSFERS + EXPORTS, now=NOW),
        "chart (volume per day, 30 days)": lambda c: d.volume_per_day(
            c, req.rng.choice(TRANSFERS + EXPORTS), 30, now=NOW
        ),
    }


# -- the baseline: a view, OFFSET and count(*) ------------------------------------------------------

NAIVE_VIEW = """
SELECT 0 AS rank, i.id, i.integration, 'inbound' AS direction, i.sender, i.receiver, i.number,
       i.customer_order_number, i.supplier_order_number, i.received_at AS time,
       CASE WHEN i.status = 'paid' THEN 'paid'
            WHEN EXISTS (SELECT 1 FROM invoice_exports e WHERE e.invoice_id = i.id AND e.status = 'delivered')
                 THEN 'exported'
            WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.source_file_id = i.source_file_id
                         AND d.integration = i.integration AND d.status = 'delivered') THEN 'delivered'
            ELSE 'received' END AS status,
       lower(coalesce(i.number, '') || ' ' || coalesce(i.sender, '') || ' ' || coalesce(i.sender_name, '') || ' ' ||
             coalesce(i.receiver, '') || ' ' || coalesce(i.receiver_name, '') || ' ' ||
             coalesce(i.customer_order_number, '') || ' ' || coalesce(i.supplier_order_number, '')) AS text
FROM invoices i
UNION ALL
SELECT 1, e.id, e.integration, 'outbound', i.sender, i.receiver, i.number, i.customer_order_number,
       i.supplier_order_number, e.recorded_at,
       CASE e.status WHEN 'delivered' THEN 'exported' WHEN 'skipped' THEN 'skipped' ELSE 'pending' END,
       lower(i.number || ' ' || coalesce(i.sender, '') || ' ' || coalesce(i.receiver, ''))
FROM invoice_exports e JOIN invoices i ON i.id = e.invoice_id
UNION ALL
SELECT 2, f.id, f.integration, 'inbound', NULL, NULL, NULL, NULL, NULL, f.updated_at,
       CASE WHEN f.status IN ('failed', 'duplicate') THEN 'rejected' ELSE 'received' END,
       lower(f.source_path || ' ' || coalesce(f.reason, ''))
FROM source_files f WHERE NOT EXISTS (SELECT 1 FROM invoices i WHERE i.source_file_id = f.id)
"""


def naive_page(
    connection: sa.Connection, where: str = "", params: dict | None = None, order: str = "time DESC",
    offset: int = 0, limit: int = 50,
) -> tuple[int, list]:  # fmt: skip
    """What a listing without keyset paging does: count(*) for the pager, then OFFSET."""
    params = params or {}
    condition = f"WHERE {where}" if where else ""
    total = connection.execute(
        sa.text(f"SELECT count(*) FROM ({NAIVE_VIEW}) t {condition}"), params
    ).scalar_one()
    rows = connection.execute(
        sa.text(f"SELECT * FROM ({NAIVE_VIEW}) t {condition} ORDER BY {order}, rank, id "
                f"LIMIT {limit} OFFSET {offset}"), params,
    ).all()  # fmt: skip
    return total, rows


def naive_requests(req: Requests) -> dict[str, Callable[[sa.Connection], object]]:
    allowed = TRANSFERS[::4] + EXPORTS[:2]

    def filtered(c: sa.Connection) -> object:
        f = req.filters()
        for column in ("integration", "sender", "receiver", "number", "customer_order_number", "status"):
            value = getattr(f, column)
            if value is not None:
                return naive_page(c, f"{column} = :v", {"v": str(value)})
        if f.destination is not None:
            return naive_page(c)  # (the view has no destination: a plain page instead)
        return naive_page(c, "time >= :a AND time < :b", {"a": f.time_from, "b": f.time_to})

    def sorted_(c: sa.Connection) -> object:
        s = req.sort()
        column = {"time": "time", "status": "status"}.get(s.key.value, s.key.value)
        return naive_page(c, order=f"{column} {'DESC' if s.descending else 'ASC'}")

    return {
        "list (first page, newest first)": lambda c: naive_page(c),
        "list, as a user of 11 integrations": lambda c: naive_page(
            c, f"integration IN ({', '.join(repr(n) for n in allowed)})"
        ),
        "filter (one column, random)": filtered,
        "sort (random column and direction)": sorted_,
        "page deep (random position, by time)": lambda c: naive_page(c, offset=req.invoice()),
        "search (free text)": lambda c: naive_page(c, "text LIKE :p", {"p": f"%{req.search().lower()}%"}),
    }


def measure(engine: sa.Engine, requests: dict[str, Callable], repeat: int) -> dict[str, list[float]]:
    """Each request ``repeat`` times, interleaved (one of each, then again), in milliseconds."""
    times: dict[str, list[float]] = {name: [] for name in requests}
    with engine.connect() as connection:
        for request in requests.values():  # warm-up: plans and caches, not measured
            request(connection)
        for _ in range(repeat):
            for name, request in requests.items():
                started = time.perf_counter()
                answer = request(connection)
                times[name].append((time.perf_counter() - started) * 1000)
                assert answer is not None, name
            connection.rollback()
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def report(hub: dict[str, list[float]], naive: dict[str, list[float]]) -> bool:
    print("| request | p50 ms | p95 ms | baseline p50 ms | baseline p95 ms | x baseline p95 |")
    print("|---|---:|---:|---:|---:|---:|")
    met = True
    for name, values in hub.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        met &= p95 < TARGET_P95_MS
        if name in naive:
            b50, b95 = percentile(naive[name], 50), percentile(naive[name], 95)
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {b50:.0f} | {b95:.0f} | {b95 / p95:.0f}x faster |")
        else:
            print(f"| {name} | {p50:.1f} | {p95:.1f} | | | |")
    worst = max(percentile(v, 95) for v in hub.values())
    print(f"\nworst p95 {worst:.1f} ms; target p95 < {TARGET_P95_MS:.0f} ms: {'met' if met else 'MISSED'}")
    return met


def check(engine: sa.Engine, data: Data) -> None:
    """The answers are right, not only fast: the listing reaches every row, filters find theirs."""
    with engine.connect() as connection:
        first = d.list_transactions(connection, limit=10)
        assert len(first.rows) == 10 and first.has_more, "the listing has rows"
        assert all(a.time >= b.time for a, b in zip(first.rows, first.rows[1:], strict=False)), "newest first"
        number = f"INV-{int(data.sender[0]):04d}-{1:07d}"
        rows = d.list_transactions(connection, filters=d.TransactionFilters(number=number)).rows
        assert "invoice-1" in {r.id for r in rows} and {r.number for r in rows} == {number}
        assert all(r.kind is d.Kind.EXPORT for r in rows if r.id != "invoice-1"), "and its exports"
        found = d.list_transactions(connection, filters=d.TransactionFilters(search=f"{1:07d}")).rows
        assert "invoice-1" in {r.id for r in found}
        detail = d.transaction_detail(connection, "invoice-1")
        assert detail is not None and detail.history[0].step is d.Step.FETCHED
        rejected = d.list_transactions(
            connection, filters=d.TransactionFilters(status=d.Status.REJECTED)
        ).rows
        assert rejected and all(r.status is d.Status.REJECTED and r.reason for r in rejected)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--baseline-repeat", type=int, default=20)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("INVOICE_HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin URL: a fresh database is created beside it and dropped afterwards",
    )
    parser.add_argument("--quick", action="store_true", help="2,000 invoices on SQLite, 5 repeats")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--reuse", help="the URL of a database a --keep run left (same --invoices): not loaded again"
    )
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.repeat, args.baseline_repeat = 2000, 5, 0
    started = time.perf_counter()
    data = Data(args.invoices)
    print(f"generated {data.invoices:,} invoices in {time.perf_counter() - started:.1f} s")
    admin = name = None
    if args.reuse:
        url = args.reuse
    elif args.quick:
        folder = tempfile.mkdtemp(prefix="bench_dashboard_")
        url = f"sqlite:///{folder}/ledger.db"
    else:
        name = f"invoice_hub_bench_dashboard_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    try:
        engine = database.get_engine(url)
        started = time.perf_counter()
        steps = load(engine, data) if not args.reuse else {}
        with engine.connect() as connection:
            counts = {
                t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("invoices", "deliveries", "invoice_exports", "source_files")
            }
        print(
            f"loaded in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        )
        for step, seconds in steps.items():
            print(f"  {step}: {seconds:.1f} s")
        check(engine, data)
        hub = measure(engine, hub_requests(Requests(data)), args.repeat)
        naive = (
            measure(engine, naive_requests(Requests(data, seed=12)), args.baseline_repeat)
            if args.baseline_repeat and engine.dialect.name == "postgresql"
            else {}
        )
        print(
            f"\n{args.repeat} requests each (baseline: {args.baseline_repeat} each), {engine.dialect.name}\n"
        )
        met = report(hub, naive)
        engine.dispose()
        database._engines.pop(url, None)
    finally:
        if admin is not None:
            if args.keep:
                print(f"kept {url}")
            else:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
