"""Amounts are exact in every ledger backend (SQLite and PostgreSQL): a 20-digit amount with cents
round-trips, a one-cent change on it is detected by reconciliation, and migration 0005 converts the
amounts earlier versions stored (SQLite: REALs) without losing a row."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from invoice_hub.amounts import amounts_to_units, units_to_amount
from invoice_hub.config.models import Reconcile
from invoice_hub.ledger import database
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.receivables import Receivables
from invoice_hub.ledger.tables import AMOUNT_TYPE, ArInvoice
from invoice_hub.reconciliation.apply import Outcome, reconcile_file
from invoice_hub.reconciliation.snapshot import produced_at

WIDE = "12345678901234567890.12"  # 20 digits and cents: a float has 15 to 17
NAME = "ar_wide"


def _apply(folder: Path, receivables: Receivables, day: int, rows: str) -> Outcome:
    path = folder / f"open_ar_2026-11-{day:02d}.csv"
    path.write_text("Invoice No,Open Amount,Currency\n" + rows, encoding="utf-8")
    return reconcile_file(
        receivables,
        NAME,
        Reconcile(),
        path,
        source=f"/in/{path.name}",
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        produced_at=produced_at(path.name, path.stat().st_mtime),
        run_id="test",
    )


def _changes(outcome: Outcome) -> dict[str, str]:
    assert outcome.comparison is not None, outcome.reason
    frame = outcome.comparison.changes
    return dict(zip(frame["ref"], frame["change"], strict=True))


def test_a_cent_on_twenty_digits_round_trips_and_is_detected(tmp_path: Path, ledger_url: str) -> None:
    receivables = Receivables(get_engine(ledger_url))
    first = _apply(tmp_path, receivables, 1, f"A,{WIDE},EUR\nB,10.00,EUR\n")
    assert _changes(first) == {"A": "opened", "B": "opened"}
    state = {i.invoice_ref: i.open_amount for i in receivables.invoices(NAME)}
    assert state["A"] == Decimal(WIDE), "stored exactly"

    second = _apply(tmp_path, receivables, 2, "A,12345678901234567890.11,EUR\nB,10.00,EUR\n")
    assert _changes(second) == {"A": "partially_paid"}, "one cent less on 20 digits"
    third = _apply(tmp_path, receivables, 3, "A,12345678901234567890.11,EUR\nB,10.00,EUR\n")
    assert _changes(third) == {}, "the same amounts again: no change"

    (opened, partial) = receivables.history(NAME, "A")
    assert opened.open_amount == Decimal(WIDE)
    assert (partial.previous_amount, partial.open_amount) == (
        Decimal(WIDE),
        Decimal("12345678901234567890.11"),
    )
    _apply(tmp_path, receivables, 4, "B,10.00,EUR\n")
    paid = receivables.history(NAME, "A")[-1]
    assert (paid.change, paid.previous_amount) == ("paid", Decimal("12345678901234567890.11")), (
        "copied in SQL (INSERT ... SELECT) exactly"
    )


def test_units_are_exact_for_any_width() -> None:
    narrow = amounts_to_units(np.array([Decimal("12.34"), None, "-0.5"], dtype=object))
    assert narrow.dtype == np.float64 and narrow[0] == 123400 and np.isnan(narrow[1]) and narrow[2] == -5000
    wide = amounts_to_units(np.array([WIDE, None, Decimal("1")], dtype=object))
    assert wide[0] == 123456789012345678901200 and wide[0] != 123456789012345678901100
    assert units_to_amount(wide[0]) == Decimal(WIDE)
    assert units_to_amount(wide[1]) is None


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.integers(-(10**16), 10**16), st.integers(-(10**24), 10**24)))
def test_units_are_exact_for_every_amount_of_four_decimals(units: int) -> None:
    """Every width, not only 20 digits: between 2**37 and 9e11 a float64 round trip used to land
    one unit off (e.g. 785413857210.0987)."""
    amount = Decimal(units).scaleb(-4)
    for values in ([amount], [str(amount)], [amount, None, Decimal("1")]):
        converted = amounts_to_units(np.array(values, dtype=object))
        assert int(converted[0]) == units
        assert units_to_amount(converted[0]) == amount


def test_units_are_exact_just_below_the_float_path_bound() -> None:
    for text in ("785413857210.0987", "441926921258.9083", "99999999999.9999", "137438953471.1235"):
        assert int(amounts_to_units(np.array([text], dtype=object))[0]) == int(Decimal(text) * 10_000)


def test_amounts_that_do_not_fit_are_refused_not_rounded(ledger_url: str) -> None:
    engine = get_engine(ledger_url)
    refused = pytest.raises(sa.exc.StatementError, match="at most 28 digits before and 10 after")
    with refused, engine.begin() as connection:
        connection.execute(
            sa.insert(ArInvoice).values(
                integration=NAME,
                invoice_ref="X",
                status="open",
                open_amount=Decimal("1.00000000001"),
                opened_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                last_snapshot_id=1,
            )
        )
    assert AMOUNT_TYPE.process_bind_param(float("nan"), engine.dialect) is None


def test_migration_0005_converts_existing_amounts(ledger_url: str) -> None:
    """A ledger at 0003 (before this change) with amounts in it, and an export of an invoice (whose
    row a table copy under foreign keys would cascade away), brought to the head revision."""
    from alembic import command

    engine = database._create_engine(ledger_url)
    config = database._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.exec_driver_sql(
            "INSERT INTO ar_snapshots (id, integration, source_path, sha256, produced_at, status, rows,"
            " open_before, opened, paid, partially_paid, amount_changed, reopened, run_id, recorded_at)"
            " VALUES (1, 'old', '/a.csv', 'x', '2026-11-01', 'applied', 1, 0, 1, 0, 0, 0, 0, 'r', '2026-11-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO ar_invoices (id, integration, invoice_ref, status, open_amount, opened_at,"
            " needs_review, last_snapshot_id) VALUES (1, 'old', 'A', 'open', 1234.5, '2026-11-01', false, 1),"
            " (2, 'old', 'B', 'open', 12, '2026-11-01', false, 1), (3, 'old', 'C', 'open', NULL, '2026-11-01', false, 1)"
        )
        connection.exec_driver_sql(
            "INSERT INTO invoices (id, integration, source_path, run_id, received_at, number, type, status,"
            " total_with_vat, payable, source_sha256, source_url, document_url) VALUES"
            " (1, 'in', '/x.xml', 'r', '2026-11-01', 'INV-1', 'invoice', 'open', 0.1, 99.99, 's', 'u', 'd')"
        )
        connection.exec_driver_sql(
            "INSERT INTO invoice_exports (id, integration, invoice_id, destination, output_name,"
            " output_sha256, status, run_id, recorded_at)"
            " VALUES (1, 'out', 1, 'local:/out', 'INV-1.xml', 'h', 'delivered', 'r', '2026-11-01')"
        )
    try:
        database.migrate(engine)
        with engine.connect() as connection:
            amounts = dict(connection.execute(sa.select(ArInvoice.invoice_ref, ArInvoice.open_amount)).all())
            invoice = connection.exec_driver_sql("SELECT total_with_vat, payable FROM invoices").one()
            exports = connection.exec_driver_sql("SELECT count(*) FROM invoice_exports").scalar()
            if engine.dialect.name == "sqlite":
                stored = connection.exec_driver_sql(
                    "SELECT typeof(open_amount) FROM ar_invoices WHERE id = 1"
                )
                assert stored.scalar() == "text"
        assert amounts == {"A": Decimal("1234.5"), "B": Decimal("12"), "C": None}
        assert [Decimal(str(v)) for v in invoice] == [Decimal("0.1"), Decimal("99.99")]
        assert exports == 1, "the export of the migrated invoice is still there"
        receivables = Receivables(engine)
        assert list(receivables.open_state("old")["units"][:2]) == [12345000, 120000]
    finally:
        engine.dispose()
