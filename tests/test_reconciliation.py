"""Open-AR reconciliation on hand-made snapshot sequences: every status transition, the safety holds,
bad rows, re-processing and replaying, against a real, migrated ledger on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest

from invoice_hub.config.models import Reconcile
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.receivables import Receivables
from invoice_hub.reconciliation.apply import Outcome, reconcile_file
from invoice_hub.reconciliation.snapshot import looks_truncated, produced_at

HEADER = "Invoice No,Customer,Open Amount,Currency,Due Date\n"
NAME = "kolleno_receiving"


@pytest.fixture
def receivables(ledger_url: str) -> Receivables:
    return Receivables(get_engine(ledger_url))


class Sequence:
    """Snapshots written as files and reconciled one after another, as the operator does."""

    def __init__(self, folder: Path, receivables: Receivables, options: Reconcile | None = None) -> None:
        self.folder, self.receivables, self.options = folder, receivables, options or Reconcile()

    def report(self, day: int, rows: str, header: str = HEADER) -> Path:
        path = self.folder / f"open_ar_2026-11-{day:02d}.csv"
        path.write_text(header + rows, encoding="utf-8")
        return path

    def apply(self, day: int, rows: str, header: str = HEADER, approved_by: str | None = None) -> Outcome:
        return self.reconcile(self.report(day, rows, header), approved_by)

    def reconcile(self, path: Path, approved_by: str | None = None) -> Outcome:
        return reconcile_file(
            self.receivables,
            NAME,
            self.options,
            path,
            source=f"/csv_data_uploads/{path.name}",
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            produced_at=produced_at(path.name, path.stat().st_mtime),
            run_id="test",
            approved_by=approved_by,
        )

    def state(self) -> dict[str, tuple[str, Decimal | None]]:
        return {i.invoice_ref: (i.status, i.open_amount) for i in self.receivables.invoices(NAME)}


def changes(outcome: Outcome) -> dict[str, str]:
    assert outcome.comparison is not None
    return dict(zip(outcome.comparison.changes["ref"], outcome.comparison.changes["change"], strict=True))


@pytest.fixture
def sequence(tmp_path: Path, receivables: Receivables) -> Sequence:
    return Sequence(tmp_path, receivables)


def test_every_transition(sequence: Sequence) -> None:
    first = sequence.apply(1, "A,c1,100.00,EUR,2026-12-01\nB,c1,50.00,EUR,\nC,c2,10,EUR,\nD,c2,5,EUR,\n")
    assert first.status == "applied"
    assert changes(first) == dict.fromkeys("ABCD", "opened")

    second = sequence.apply(2, "A,c1,100.00,EUR,2026-12-01\nB,c1,20.00,EUR,\nC,c2,12.5,EUR,\nE,c3,7,EUR,\n")
    assert second.status == "applied", second.reason
    assert changes(second) == {"B": "partially_paid", "C": "amount_changed", "E": "opened", "D": "paid"}

    third = sequence.apply(3, "A,c1,100.00,EUR,\nB,c1,20,EUR,\nC,c2,12.50,EUR,\nD,c2,5,EUR,\nE,c3,7,EUR,\n")
    assert changes(third) == {"D": "reopened"}, "A, B, C, E are unchanged (12.50 = 12.5)"

    assert sequence.state() == {
        "A": ("open", Decimal("100.0000")),
        "B": ("open", Decimal("20.0000")),
        "C": ("open", Decimal("12.5000")),
        "D": ("open", Decimal("5.0000")),
        "E": ("open", Decimal("7.0000")),
    }
    reopened = {i.invoice_ref: i for i in sequence.receivables.invoices(NAME)}["D"]
    assert reopened.needs_review and reopened.paid_at is None
    history = [(c.change, c.previous_amount, c.open_amount) for c in sequence.receivables.history(NAME, "D")]
    assert history == [
        ("opened", None, Decimal("5.0000")),
        ("paid", Decimal("5.0000"), None),
        ("reopened", None, Decimal("5.0000")),
    ]


def test_paid_keeps_the_last_open_amount_and_the_snapshot_time(sequence: Sequence) -> None:
    sequence.apply(1, "A,c1,100,EUR,\nB,c1,30,EUR,\nC,c1,1,EUR,\n")
    sequence.apply(2, "A,c1,100,EUR,\nB,c1,25,EUR,\nC,c1,1,EUR,\n")
    sequence.apply(3, "A,c1,100,EUR,\nC,c1,1,EUR,\n")
    paid = sequence.receivables.invoices(NAME, "paid")
    assert [(i.invoice_ref, i.open_amount) for i in paid] == [("B", Decimal("25.0000"))]
    assert paid[0].paid_at.replace(tzinfo=dt.UTC) == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert [c.change for c in sequence.receivables.history(NAME, "B")] == ["opened", "partially_paid", "paid"]


def test_too_many_paid_is_held_until_approved(sequence: Sequence) -> None:
    sequence.apply(1, "A,c,1,EUR,\nB,c,1,EUR,\nC,c,1,EUR,\nD,c,1,EUR,\n")
    held = sequence.apply(2, "A,c,1,EUR,\n")
    assert held.status == "held"
    assert "3 of 4 open invoices paid (75.0%, more than max_paid_fraction 50%)" in (held.reason or "")
    assert sequence.state()["B"][0] == "open", "a held snapshot changes nothing"
    (snapshot,) = [s for s in sequence.receivables.snapshots(NAME) if s.status == "held"]
    assert (snapshot.paid, snapshot.open_before) == (3, 4)

    again = sequence.apply(2, "A,c,1,EUR,\n")
    assert again.status == "held", "held again on every run until approved"
    approved = sequence.apply(2, "A,c,1,EUR,\n", approved_by="manual__1 (alice)")
    assert approved.status == "applied"
    assert [s.status for s in sequence.receivables.snapshots(NAME)] == ["applied", "applied"]
    assert sequence.receivables.snapshots(NAME)[1].approved_by == "manual__1 (alice)"
    assert sorted(r for r, (status, _) in sequence.state().items() if status == "paid") == ["B", "C", "D"]


def test_exactly_the_fraction_is_not_held(tmp_path: Path, receivables: Receivables) -> None:
    sequence = Sequence(tmp_path, receivables, Reconcile(max_paid_fraction=0.5))
    sequence.apply(1, "A,c,1,EUR,\nB,c,1,EUR,\n")
    assert sequence.apply(2, "A,c,1,EUR,\n").status == "applied"


def test_empty_and_truncated_reports_are_held(sequence: Sequence) -> None:
    sequence.apply(1, "A,c,1,EUR,\nB,c,2,EUR,\n")
    empty = sequence.apply(2, "")
    assert empty.status == "held" and "no rows" in (empty.reason or "")
    path = sequence.report(3, "A,c,1,EUR,2026-12-01\nB,c,2,E")  # cut off mid-row
    assert looks_truncated(path)
    cut = sequence.reconcile(path)
    assert cut.status == "held" and "cut off" in (cut.reason or "")
    assert sequence.state() == {"A": ("open", Decimal("1.0000")), "B": ("open", Decimal("2.0000"))}


def test_a_last_line_without_line_end_is_not_truncation(sequence: Sequence) -> None:
    assert not looks_truncated(sequence.report(1, "A,c,1,EUR,2026-12-01\nB,c,2,EUR,2026-12-01"))
    assert not looks_truncated(sequence.report(2, ""))


def test_bad_rows_change_nothing_and_are_reported(sequence: Sequence) -> None:
    sequence.apply(1, "A,c,10,EUR,\nB,c,20,EUR,\nC,c,30,EUR,\nD,c,40,EUR,\n")
    outcome = sequence.apply(
        2, "A,c,5,EUR,\nB,c,ten,EUR,\nC,c,30,EUR,\nC,c,1,EUR,\nD,c,40,EURO,\nE,c,x,EUR,\n"
    )
    assert outcome.status == "applied", outcome.reason
    assert changes(outcome) == {"A": "partially_paid"}, "B, C, D are in the report: not paid, not changed"
    assert outcome.snapshot is not None
    not_applied = outcome.snapshot.not_applied
    assert not_applied.to_dict("records") == [
        {"row": 3, "invoice_ref": "B", "why": "no valid open amount"},
        {"row": 4, "invoice_ref": "C", "why": "the invoice reference is on more than one row"},
        {"row": 5, "invoice_ref": "C", "why": "the invoice reference is on more than one row"},
        {"row": 6, "invoice_ref": "D", "why": "no valid currency"},
        {"row": 7, "invoice_ref": "E", "why": "no valid open amount"},
    ]
    rules = {(f.rule, f.location) for f in outcome.snapshot.findings}
    assert ("CSV-AMOUNT", "row 3, column Open Amount") in rules
    assert ("CSV-DUPLICATE", "row 5, column Invoice No") in rules
    assert sequence.state()["B"] == ("open", Decimal("20.0000"))
    assert "E" not in sequence.state(), "an invoice without a valid amount is not opened"


def test_rows_without_a_reference_hold_the_snapshot(sequence: Sequence) -> None:
    sequence.apply(1, "A,c,10,EUR,\nB,c,20,EUR,\n")
    outcome = sequence.apply(2, "A,c,10,EUR,\n,c,20,EUR,\n")
    assert outcome.status == "held"
    assert "1 row(s) have no invoice reference" in (outcome.reason or "")
    assert sequence.state()["B"][0] == "open"


def test_a_missing_required_column_rejects_the_file(sequence: Sequence) -> None:
    outcome = sequence.apply(1, "c,10,EUR\n", header="Customer,Open Amount,Currency\n")
    assert outcome.status == "rejected"
    assert "CSV-HEADER" in (outcome.reason or "") and "invoice" in (outcome.reason or "").lower()
    assert sequence.receivables.snapshots(NAME) == []


def test_configured_columns_and_extra_fields(tmp_path: Path, receivables: Receivables) -> None:
    options = Reconcile(
        columns={"invoice_ref": "Beleg", "open_amount": "Offen", "customer": "Konto"},
        decimal=",",
        delimiter=";",
    )
    sequence = Sequence(tmp_path, receivables, options)
    outcome = sequence.apply(1, "R-1;K1;1.234,56;Nord\n", header="Beleg;Konto;Offen;Region\n")
    assert outcome.status == "applied", outcome.reason
    (invoice,) = receivables.invoices(NAME)
    assert (invoice.invoice_ref, invoice.customer, invoice.open_amount) == ("R-1", "K1", Decimal("1234.5600"))
    assert invoice.extra == '{"Region": "Nord"}'


def test_reprocessing_the_same_snapshot_changes_nothing(sequence: Sequence) -> None:
    sequence.apply(1, "A,c,10,EUR,\nB,c,20,EUR,\n")
    second = sequence.apply(2, "A,c,10,EUR,\n")
    assert changes(second) == {"B": "paid"}
    before = (sequence.state(), len(sequence.receivables.history(NAME, "B")))
    again = sequence.reconcile(sequence.folder / "open_ar_2026-11-02.csv")
    assert again.status == "already_applied"
    assert (sequence.state(), len(sequence.receivables.history(NAME, "B"))) == before


def test_an_older_snapshot_is_held_not_applied(sequence: Sequence) -> None:
    sequence.apply(1, "A,c,10,EUR,\nB,c,20,EUR,\n")
    sequence.apply(3, "A,c,10,EUR,\n")
    late = sequence.apply(2, "A,c,10,EUR,\nB,c,20,EUR,\n")
    assert late.status == "held" and "before /csv_data_uploads/open_ar_2026-11-03.csv" in (late.reason or "")
    assert sequence.state()["B"][0] == "paid"


def test_replaying_the_snapshots_in_order_reaches_the_same_state(tmp_path: Path, ledger_url: str) -> None:
    reports = [
        "A,c,10,EUR,\nB,c,20,EUR,\nC,c,30,EUR,\n",
        "A,c,10,EUR,\nB,c,15,EUR,\nC,c,30,EUR,\nD,c,1,EUR,\n",
        "A,c,10,EUR,\nC,c,30,EUR,\nD,c,2,EUR,\n",
        "A,c,10,EUR,\nB,c,15,EUR,\nC,c,30,EUR,\nD,c,2,EUR,\n",
    ]
    first = Sequence(tmp_path / "a", Receivables(get_engine(ledger_url)))
    first.folder.mkdir()
    for day, rows in enumerate(reports, start=1):
        first.apply(day, rows)
    for day in range(1, len(reports) + 1):  # a backfill over the range: each one recognised
        assert first.reconcile(first.folder / f"open_ar_2026-11-{day:02d}.csv").status == "already_applied"
    fresh = Sequence(tmp_path / "b", Receivables(get_engine(f"sqlite:///{tmp_path / 'fresh.db'}")))
    fresh.folder.mkdir()
    for day, rows in enumerate(reports, start=1):
        fresh.apply(day, rows)
    assert fresh.state() == first.state()
    assert [c.change for c in fresh.receivables.history(NAME, "B")] == [
        "opened",
        "partially_paid",
        "paid",
        "reopened",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("open_ar_2026-11-20.csv", dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
        ("report_20261120T0630.csv", dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)),
        ("ar-2026-11-20_06-30-15.csv", dt.datetime(2026, 11, 20, 6, 30, 15, tzinfo=dt.UTC)),
        ("open_invoices_20261120_063015.csv", dt.datetime(2026, 11, 20, 6, 30, 15, tzinfo=dt.UTC)),
        ("INV-99999999_2026-11-20.csv", dt.datetime(2026, 11, 20, tzinfo=dt.UTC)),
        ("open_invoices.csv", dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)),
    ],
)
def test_produced_at_from_the_name_else_the_modification_time(name: str, expected: dt.datetime) -> None:
    assert produced_at(name, 1_700_000_000.0) == expected


def test_the_state_is_queryable_from_the_command_line(
    sequence: Sequence, ledger_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from invoice_hub.cli import main

    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", ledger_url)

    sequence.apply(1, "A,c1,100.00,EUR,2026-12-01\nB,c1,50.00,EUR,\n")
    sequence.apply(2, "A,c1,60,EUR,2026-12-01\n")
    assert main(["receivables", NAME, "--status", "paid"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        '"B","paid","50.00","EUR","","c1","","2026-11-01T00:00:00+00:00","2026-11-02T00:00:00+00:00","false"'
    ), "for spreadsheets: every cell quoted"
    assert len(lines) == 2
    assert main(["receivables", NAME, "--ref", "A"]) == 0
    rows = [row[1:4] for row in list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]]
    assert rows == [["opened", "", "100.00"], ["partially_paid", "100.00", "60.00"]]
    assert main(["receivables", NAME, "--ref", "Z"]) == 1
