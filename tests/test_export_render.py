"""An export's render as a library function, without Airflow (``exchange.export_render``): each selected
invoice in its customer's format for its customer's destinations, re-exports by ``reexport``. The
DAG-level behaviour (select, deliver, archive, backfills) is in test_export_dag.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.config.loader import load_integration
from invoice_hub.config.models import Integration
from invoice_hub.document_store import DocumentStore
from invoice_hub.exchange.export_archive import export_failures, record_deliveries
from invoice_hub.exchange.export_render import ExportRun, export_row, reexport_outputs, render_export
from invoice_hub.exchange.select import criteria_for, entry_of, select_entries
from invoice_hub.formats.ubl import read_ubl
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.invoices import Criteria, Invoices, Received
from invoice_hub.ledger.tables import InvoiceExport
from invoice_hub.manifest import FileEntry, Output
from invoice_hub.reasons import Reason
from invoice_hub.staging import Staging
from tests.test_export_dag import invoice

EXPORT = """
name: semine_send
kind: export
schedule: "@daily"
start_date: 2026-11-01
select: {{date_field: issue_date}}
transform: {{output: ubl, filename: "{{invoice_number}}.xml"}}
reexport: {reexport}
customers:
  - id: C2
    output: ap_agility
    destinations: [{{type: local, path: {root}/c2}}]
destinations: [{{type: local, path: {root}/out}}]
"""


def _integration(tmp_path: Path, reexport: str) -> Integration:
    path = tmp_path / "semine_send.yaml"
    path.write_text(EXPORT.format(root=tmp_path, reexport=reexport))
    loaded = load_integration(path)
    assert loaded.integration is not None, loaded.problems
    return loaded.integration


@pytest.fixture
def invoices(tmp_path: Path, ledger_db: str) -> Invoices:
    """Two received invoices in the ledger, of customers C1 and C2, their documents in a store."""
    store = DocumentStore((tmp_path / "store").as_uri())
    ledger = Invoices(get_engine(ledger_db))
    received = []
    for number, customer in (("INV-1", "C1"), ("INV-2", "C2")):
        text = invoice(number, "2017-11-13", customer)
        read = read_ubl(text.encode(), f"{number}.xml")
        source_url, sha256 = store.put_bytes(text.encode(), ".xml")
        document_url, _ = store.put_bytes(read.model_dump_json().encode(), ".json")
        received.append(Received(read, None, f"in/{number}.xml", sha256, source_url, document_url))
    ledger.record_received("supplier_in", "run-0", received)
    return ledger


def _entries(invoices: Invoices) -> list[FileEntry]:
    """What select hands on: one fetched entry per invoice, its document the staged URL."""
    return [entry_of(r) for r in invoices.select(Criteria(start=None, end=None, numbers=("INV-1", "INV-2")))]


def _run(tmp_path: Path, reexport: str, run_id: str) -> ExportRun:
    staging = Staging("semine_send", run_id, base_url=(tmp_path / "staging").as_uri())
    return ExportRun(_integration(tmp_path, reexport), staging, run_id, dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
                     lambda name: None)  # fmt: skip


def _delivered(invoices: Invoices, entries: list[FileEntry], run_id: str) -> None:
    rows = [
        export_row(entry, output, target, f"/remote/{output.name}", "delivered", None)
        for entry in entries
        for output in entry.outputs
        for target in output.targets
    ]
    invoices.record_exports("semine_send", run_id, rows)


def test_each_invoice_is_rendered_in_its_customers_format_for_its_customers_destinations(
    tmp_path: Path, invoices: Invoices
) -> None:
    entries = _entries(invoices)
    render_export(_run(tmp_path, "skip", "run-1"), entries, invoices)
    by_number = {e.source_path.rpartition("#")[2]: e for e in entries}
    assert {e.status for e in entries} == {"transformed"}
    (ubl,) = by_number["INV-1"].outputs
    assert ubl.name == "INV-1.xml" and ubl.targets == ["destinations.0"]
    (ap_agility,) = by_number["INV-2"].outputs  # C2: ap_agility, its own destination
    assert ap_agility.targets == ["customers.C2.destinations.0"]
    assert (
        b"<InvoiceNumber>INV-2</InvoiceNumber>" in Path(ap_agility.url.removeprefix("file://")).read_bytes()
    )


def test_reexport_skip_records_what_was_exported_before_and_delivers_nothing(
    tmp_path: Path, invoices: Invoices
) -> None:
    first = _entries(invoices)
    render_export(_run(tmp_path, "skip", "run-1"), first, invoices)
    _delivered(invoices, first, "run-1")

    again = _entries(invoices)
    render_export(_run(tmp_path, "skip", "run-2"), again, invoices)
    assert {(e.status, e.reason_code) for e in again} == {("duplicate", Reason.EXPORT_EXPORTED_BEFORE)}
    assert all(e.outputs == [] for e in again)
    with Session(invoices.engine) as session:
        skipped = session.scalars(select(InvoiceExport).where(InvoiceExport.status == "skipped")).all()
    assert (
        sorted((row.run_id, row.reason) for row in skipped)
        == [("run-2", "exported before; reexport: skip")] * 2
    )


@pytest.mark.parametrize(("policy", "if_exists"), [("replace", "replace"), ("new_name", "unique")])
def test_reexport_sends_again_with_a_delivery_key_of_the_run(
    tmp_path: Path, invoices: Invoices, policy: str, if_exists: str
) -> None:
    first = _entries(invoices)
    render_export(_run(tmp_path, policy, "run-1"), first, invoices)
    _delivered(invoices, first, "run-1")

    again = _entries(invoices)
    render_export(_run(tmp_path, policy, "run-2"), again, invoices)
    assert {e.status for e in again} == {"transformed"}
    for before, now in zip(first, again, strict=True):
        (output,) = now.outputs
        assert output.if_exists == if_exists and output.targets == before.outputs[0].targets
        assert output.delivery_key not in (None, before.outputs[0].delivery_key)


def test_an_invoice_that_cannot_be_read_fails_alone(tmp_path: Path, invoices: Invoices) -> None:
    entries = _entries(invoices)
    broken = entries[0]
    (tmp_path / "broken.json").write_text("{not json")
    broken.staged_url = (tmp_path / "broken.json").as_uri()
    render_export(_run(tmp_path, "skip", "run-1"), entries, invoices)
    assert broken.status == "failed" and broken.reason_code == Reason.TRANSFORM_ERROR
    assert entries[1].status == "transformed"


def _output(sha256: str = "a" * 64) -> Output:
    return Output(name="INV-1.xml", url="file:///x", sha256=sha256, size=1)


def test_reexport_outputs_splits_fresh_targets_from_those_that_had_it() -> None:
    fresh_and_again = reexport_outputs("new_name", [_output()], ["d.0", "d.1"], {"d.1"}, "run-2")
    assert [(o.targets, o.if_exists) for o in fresh_and_again] == [
        (["d.0"], _output().if_exists),
        (["d.1"], "unique"),
    ]
    assert fresh_and_again[0].delivery_key == _output().delivery_key  # a fresh target: as usual
    assert reexport_outputs("skip", [_output()], ["d.0", "d.1"], {"d.1"}, "run-2")[0].targets == ["d.0"]
    assert reexport_outputs("skip", [_output()], ["d.1"], {"d.1"}, "run-2") == []
    keys = {
        reexport_outputs("replace", [_output()], ["d.1"], {"d.1"}, run)[0].delivery_key
        for run in ("r1", "r2")
    }
    assert len(keys) == 2, "each run's re-export is a send of its own"


def test_select_takes_the_invoices_of_the_interval_of_activated_customers(
    tmp_path: Path, invoices: Invoices
) -> None:
    export = _integration(tmp_path, "skip")
    issued = dt.datetime(2017, 11, 13, tzinfo=dt.UTC)
    day = criteria_for(export, issued, issued + dt.timedelta(days=1))

    selection = select_entries(export, day, "run-1", invoices.engine)
    assert sorted(e.source_path for e in selection.chosen) == ["in/INV-1.xml#INV-1", "in/INV-2.xml#INV-2"]
    assert all(e.status == "fetched" and e.invoice_id and e.staged_url for e in selection.chosen)
    assert selection.failed == [] and selection.not_activated == 0
    next_day = criteria_for(export, issued + dt.timedelta(days=1), issued + dt.timedelta(days=2))
    assert select_entries(export, next_day, "run-2", invoices.engine).entries == []

    inactive = [c.model_copy(update={"active": False}) for c in export.customers]  # C2 paused
    selection = select_entries(
        export.model_copy(update={"customers": inactive}), day, "run-3", invoices.engine
    )
    assert [e.customer for e in selection.chosen] == ["C1"] and selection.not_activated == 1


def test_archive_records_each_delivery_and_keeps_the_rendered_document(
    tmp_path: Path, invoices: Invoices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICE_HUB_STORE_URL", (tmp_path / "store").as_uri())
    entries = _entries(invoices)
    render_export(_run(tmp_path, "skip", "run-1"), entries, invoices)
    delivered, failed = entries
    delivered.outputs[0].delivered_to = {"destinations.0": "/out/INV-1.xml"}
    failed.fail(Reason.DELIVER_REFUSED, "customers.C2.destinations.0 refused INV-2.xml: permission denied")

    assert record_deliveries("semine_send", "run-1", entries, invoices) == 1
    assert record_deliveries("semine_send", "run-1", entries, invoices) == 1  # a retry: the same row

    with Session(invoices.engine) as session:
        (row,) = session.scalars(select(InvoiceExport)).all()
    assert (row.invoice_id, row.destination, row.remote_path, row.status) == (
        delivered.invoice_id,
        "destinations.0",
        "/out/INV-1.xml",
        "delivered",
    )
    assert (
        row.output_url
        and DocumentStore.open(row.output_url).read()
        == Path(delivered.outputs[0].url.removeprefix("file://")).read_bytes()
    )
    message = export_failures(entries) or ""
    assert message.startswith("1 invoice(s) could not be exported:")
    assert "in/INV-2.xml#INV-2: [deliver.refused] customers.C2.destinations.0 refused" in message
    assert export_failures([delivered]) is None
