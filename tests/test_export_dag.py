"""dag.test() of export integrations: invoices a transfer received, selected by the run's data
interval, rendered per customer, delivered once; re-runs follow the reexport policy."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.invoices import Invoices
from invoice_hub.ledger.tables import InvoiceExport
from tests.conftest import SHARED
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db", "staging_url")

BASE = (SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml").read_text()

RECEIVE = """
name: supplier_in
source: {{type: local, path: {root}/in}}
transform: {{input: ubl, validate: structure, output: ubl}}
destinations: [{{type: local, path: {root}/erp}}]
"""

EXPORT = """
name: semine_send
kind: export
schedule: "@daily"
start_date: 2026-11-01
select: {{date_field: issue_date, customers: {customers}}}
transform: {{output: ubl, filename: "{{invoice_number}}.xml"}}
reexport: {reexport}
customers:
  - id: C2
    output: ap_agility
    destinations: [{{type: local, path: {root}/c2}}]
  - id: C9
    active: false
destinations: [{{type: local, path: {root}/out}}]
"""


def invoice(number: str, issued: str, customer: str) -> str:
    return (
        BASE.replace("<cbc:ID>Snippet1</cbc:ID>", f"<cbc:ID>{number}</cbc:ID>", 1)
        .replace("<cbc:IssueDate>2017-11-13</cbc:IssueDate>", f"<cbc:IssueDate>{issued}</cbc:IssueDate>")
        .replace('<cbc:ID schemeID="0002">FR23342</cbc:ID>', f'<cbc:ID schemeID="0002">{customer}</cbc:ID>')
    )


@pytest.fixture
def received(integrations_dir: Path, tmp_path: Path, ledger_db: str) -> Path:
    """Five invoices received by a transfer: the ledger's invoices for the exports to select."""
    write(integrations_dir / "supplier_in.yaml", RECEIVE.format(root=tmp_path))
    for number, issued, customer in (
        ("INV-1", "2026-11-01", "C1"),
        ("INV-2", "2026-11-02", "C1"),
        ("INV-3", "2026-11-02", "C2"),
        ("INV-4", "2026-11-03", "C1"),
        ("INV-5", "2026-11-02", "C9"),
    ):
        drop(tmp_path / "in", f"{number}.xml", invoice(number, issued, customer))
    state, tasks = run_dag(load_dag("supplier_in"))
    assert state == "success", tasks
    return tmp_path


def export(integrations_dir: Path, root: Path, reexport: str = "skip", customers: str = "all") -> None:
    write(
        integrations_dir / "semine_send.yaml",
        EXPORT.format(root=root, reexport=reexport, customers=customers),
    )


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_received_invoices_are_in_the_ledger(received: Path, ledger_db: str) -> None:
    from invoice_hub.ledger.invoices import Criteria

    rows = Invoices(get_engine(ledger_db)).select(Criteria())
    assert [(r.number, r.issue_date.isoformat(), r.customer) for r in rows] == [
        ("INV-1", "2026-11-01", "C1"),
        ("INV-2", "2026-11-02", "C1"),
        ("INV-3", "2026-11-02", "C2"),
        ("INV-5", "2026-11-02", "C9"),
        ("INV-4", "2026-11-03", "C1"),
    ]
    first = rows[0]
    assert (first.sender, first.currency, str(first.total_with_vat)) == ("99887766", "EUR", "1656.25")
    assert first.source_url.endswith(".xml") and first.document_url.endswith(".json")


def test_an_interval_exports_exactly_its_invoices_once(
    received: Path, integrations_dir: Path, ledger_db: str
) -> None:
    export(integrations_dir, received)
    # A daily run at 2026-11-03 00:00 covers the data interval [2026-11-02, 2026-11-03).
    state, tasks = run_dag(load_dag("semine_send"), logical_date=day("2026-11-03"))
    assert state == "success", tasks
    # INV-5's customer C9 is not active.
    assert files_in(received / "out") == ["INV-2.xml"]
    assert files_in(received / "c2") == ["INV-3.xml"], "C2's own gateway"
    assert "<InvoiceNumber>INV-3</InvoiceNumber>" in (received / "c2" / "INV-3.xml").read_text(), "and format"
    assert (received / "out" / "INV-2.xml").read_text().count("<cbc:ID>INV-2</cbc:ID>") == 1

    state, tasks = run_dag(load_dag("semine_send"), logical_date=day("2026-11-03"))
    assert state == "success", tasks
    assert files_in(received / "out") == ["INV-2.xml"], "reexport: skip delivers nothing again"
    assert len(files_in(received / "c2")) == 1
    with get_engine(ledger_db).connect() as connection:
        statuses = sorted(
            (row.status, row.destination) for row in connection.execute(InvoiceExport.__table__.select())
        )
    assert statuses == [
        ("delivered", "customers.C2.destinations.0"),
        ("delivered", "destinations.0"),
        ("skipped", "customers.C2.destinations.0"),
        ("skipped", "destinations.0"),
    ]


def test_reexport_new_name_and_replace(received: Path, integrations_dir: Path) -> None:
    export(integrations_dir, received, reexport="new_name", customers="[C1]")
    run_dag(load_dag("semine_send"), logical_date=day("2026-11-03"))
    run_dag(load_dag("semine_send"), logical_date=day("2026-11-03"))
    assert files_in(received / "out") == ["INV-2.xml", "INV-2_1.xml"]
    assert files_in(received / "c2") == [], "C2 is not activated by customers: [C1]"
    export(integrations_dir, received, reexport="replace", customers="[C1]")
    (received / "out" / "INV-2.xml").write_text("changed by hand")
    state, tasks = run_dag(load_dag("semine_send"), logical_date=day("2026-11-03"))
    assert state == "success", tasks
    assert files_in(received / "out") == ["INV-2.xml", "INV-2_1.xml"]
    assert "<cbc:ID>INV-2</cbc:ID>" in (received / "out" / "INV-2.xml").read_text(), "replaced"


def test_manual_export_by_invoice_numbers_and_dates(received: Path, integrations_dir: Path) -> None:
    export(integrations_dir, received)
    state, tasks = run_dag(load_dag("semine_send"), run_conf={"invoice_numbers": ["INV-4"]})
    assert state == "success", tasks
    assert files_in(received / "out") == ["INV-4.xml"]
    state, tasks = run_dag(
        load_dag("semine_send"), run_conf={"date_from": "2026-11-01", "date_to": "2026-11-02"}
    )
    assert state == "success", tasks
    assert files_in(received / "out") == ["INV-1.xml", "INV-2.xml", "INV-4.xml"]


def test_find_invoices_lists_what_was_exported(
    received: Path,
    integrations_dir: Path,
    ledger_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from invoice_hub.cli import main

    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", ledger_db)
    export(integrations_dir, received)
    run_dag(load_dag("semine_send"), logical_date=day("2026-11-03"))
    capsys.readouterr()
    assert main(["find-invoices", "semine_send", "--from", "2026-11-02", "--to", "2026-11-03"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert [(r[0], r[4], r[5]) for r in rows] == [
        ("INV-2", "C1", "exported"),
        ("INV-3", "C2", "exported"),
        ("INV-5", "C9", "not activated"),
        ("INV-4", "C1", "not exported"),
    ]
    assert rows[0][6].endswith("/out/INV-2.xml")
    assert main(["find-invoices", "semine_send", "--customer", "C2"]) == 0
    assert [r[0] for r in list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]] == ["INV-3"]
    assert main(["find-invoices", "supplier_in"]) == 2, "a transfer is not an export"


KOLLENO_REPORT = """
name: kolleno_send_report
kind: export
schedule: "@hourly"
start_date: 2026-11-01
select: {{period: all, statuses: [open]}}
transform: {{output: open_ar_csv, filename: "open_ar_{{timestamp}}.csv"}}
destinations: [{{type: sftp, conn_id: kolleno_sftp, path: {remote}/csv_data_uploads}}]
"""
KOLLENO_PDFS = """
name: kolleno_send_pdfs
kind: export
schedule: "@daily"
start_date: 2026-11-01
select: {{date_field: received_at}}
transform: {{output: pdf}}
destinations: [{{type: sftp, conn_id: kolleno_sftp, path: {remote}}}]
"""


def with_pdf(xml: str, pdf: bytes) -> str:
    import base64

    head, tail = xml.split("<cac:AccountingSupplierParty>", 1)
    return (
        head
        + "<cac:AdditionalDocumentReference><cbc:ID>scan</cbc:ID><cac:Attachment>"
        + '<cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="scan.pdf">'
        + base64.b64encode(pdf).decode()
        + "</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>"
        + "<cac:AccountingSupplierParty>"
        + tail
    )


def test_kolleno_send_report_and_pdfs_over_sftp_with_a_key(
    integrations_dir: Path,
    tmp_path: Path,
    ledger_db: str,
    sshd: Any,
    remote: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from invoice_hub.formats.open_ar_csv import read_open_ar_report

    monkeypatch.setenv("AIRFLOW_CONN_KOLLENO_SFTP", sshd.connection(auth="key"))
    write(integrations_dir / "supplier_in.yaml", RECEIVE.format(root=tmp_path))
    for number, customer in (("INV-7", "C1"), ("INV-8", "C2")):
        pdf = b"%PDF-1.4\n" + number.encode() + b"\n%%EOF\n"
        drop(tmp_path / "in", f"{number}.xml", with_pdf(invoice(number, "2026-11-02", customer), pdf))
    assert run_dag(load_dag("supplier_in"))[0] == "success"
    write(integrations_dir / "kolleno_send_report.yaml", KOLLENO_REPORT.format(remote=remote))
    write(integrations_dir / "kolleno_send_pdfs.yaml", KOLLENO_PDFS.format(remote=remote))

    state, tasks = run_dag(load_dag("kolleno_send_report"))
    assert state == "success", tasks
    (report,) = files_in(remote / "csv_data_uploads")
    assert report.startswith("open_ar_") and report.endswith(".csv")
    table = read_open_ar_report(remote / "csv_data_uploads" / report)
    assert table.frame["invoice_number"].tolist() == ["INV-7", "INV-8"]
    assert [str(a) for a in table.frame["open_amount"]] == ["1656.25", "1656.25"]

    received_today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    state, tasks = run_dag(load_dag("kolleno_send_pdfs"), logical_date=received_today + dt.timedelta(days=1))
    assert state == "success", tasks
    assert sorted(p for p in files_in(remote) if p.endswith(".pdf")) == ["INV-7.pdf", "INV-8.pdf"]
    assert (remote / "INV-7.pdf").read_bytes() == b"%PDF-1.4\nINV-7\n%%EOF\n"


def test_paid_invoices_leave_a_report_of_open_ones(
    received: Path,
    integrations_dir: Path,
    ledger_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from invoice_hub.cli import main
    from invoice_hub.formats.open_ar_csv import read_open_ar_report

    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", ledger_db)
    assert main(["invoice-status", "INV-2", "INV-4", "--status", "paid"]) == 0
    assert main(["invoice-status", "INV-404", "--status", "paid"]) == 1
    assert "INV-404: not in the ledger" in capsys.readouterr().out
    write(
        integrations_dir / "open_report.yaml",
        f"""
        name: open_report
        kind: export
        select: {{period: all, statuses: [open]}}
        transform: {{output: open_ar_csv, filename: open.csv}}
        destinations: [{{type: local, path: {received}/report}}]
        """,
    )
    state, tasks = run_dag(load_dag("open_report"))
    assert state == "success", tasks
    report = read_open_ar_report(received / "report" / "open.csv")
    assert report.frame["invoice_number"].tolist() == ["INV-1", "INV-3", "INV-5"]


def test_a_run_without_logical_date_exports_the_interval_a_triggered_run_gets(
    received: Path, integrations_dir: Path
) -> None:
    """``airflow dags trigger`` (no logical date, no data interval) exports what the Trigger form's
    default run exports: the last complete day before it, not every invoice ever received."""
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    drop(received / "in", "INV-Y.xml", invoice("INV-Y", yesterday, "C1"))
    state, tasks = run_dag(load_dag("supplier_in"))
    assert state == "success", tasks
    export(integrations_dir, received)

    state, tasks = run_dag(load_dag("semine_send"), logical_date=None)
    assert state == "success", tasks
    assert files_in(received / "out") == ["INV-Y.xml"], "only yesterday's invoice, as the UI's default run"

    state, tasks = run_dag(load_dag("semine_send"), logical_date=dt.datetime.now(dt.UTC))
    assert state == "success", tasks
    assert files_in(received / "out") == ["INV-Y.xml"], "the UI's default run selects the same (skip)"


def test_misspelt_params_are_refused(received: Path, integrations_dir: Path) -> None:
    export(integrations_dir, received)
    state, tasks = run_dag(load_dag("semine_send"), run_conf={"customers": "C1"})
    assert state == "failed" and tasks["select"] == "failed", tasks
    assert files_in(received / "out") == []


MINIMAL_EXPORT = {
    "kind": "export",
    "transform": {"output": "ubl"},
    "destinations": [{"type": "local", "path": "/tmp/x"}],
}


def test_unknown_params_name_the_allowed_ones() -> None:
    from invoice_hub.config.models import Integration
    from invoice_hub.errors import HubError
    from invoice_hub.exchange.select import EXPORT_PARAMS
    from invoice_hub.operators.base import check_params

    integration = Integration.model_validate({"name": "semine_send", **MINIMAL_EXPORT})
    check_params(integration, {"customer": "C1", "date_from": None}, EXPORT_PARAMS)
    check_params(integration, None, EXPORT_PARAMS)
    with pytest.raises(HubError) as caught:
        check_params(integration, {"customers": "C1", "customer": "C1"}, EXPORT_PARAMS)
    message = str(caught.value)
    assert "'customers'" in message and "invoice_numbers, customer, date_from, date_to" in message
    assert not caught.value.retryable


def test_a_manual_only_export_without_a_selection_says_what_to_choose() -> None:
    from invoice_hub.config.models import Integration
    from invoice_hub.errors import HubError
    from invoice_hub.exchange.select import run_interval

    manual = Integration.model_validate({"name": "by_hand", **MINIMAL_EXPORT})
    with pytest.raises(HubError, match=r"no schedule.*invoice_numbers, customer or date_from/date_to"):
        run_interval(manual, None, None, dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC))
    daily = manual.model_copy(update={"schedule": "@daily"})
    assert run_interval(daily, None, None, dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC)) == (
        day("2026-11-02"),
        day("2026-11-03"),
    )
    given = (day("2026-10-01"), day("2026-10-02"))
    assert run_interval(daily, *given, dt.datetime(2026, 11, 3, tzinfo=dt.UTC)) == given


def test_the_trigger_form_has_no_required_field(
    received: Path, integrations_dir: Path, tmp_path: Path
) -> None:
    """Airflow's form requires every Param whose type does not admit null: none of the hub's is."""
    from airflow.sdk.definitions.param import ParamsDict

    export(integrations_dir, received)
    write(
        integrations_dir / "kolleno_open_ar.yaml",
        f"""
        name: kolleno_open_ar
        kind: open_ar_reconciliation
        source: {{type: local, path: {tmp_path}/ar}}
        destinations: [{{type: local, path: {tmp_path}/changes}}]
        """,
    )
    for dag_id, names in (
        ("semine_send", ["invoice_numbers", "customer", "date_from", "date_to", "resend"]),
        ("kolleno_open_ar", ["approve", "resend"]),
    ):
        params = load_dag(dag_id).params
        assert sorted(params) == sorted(names)
        for name in names:
            schema = params.get_param(name).schema
            assert "null" in schema["type"], (dag_id, name, schema)
        # the form sends null for every field left empty: valid, and the defaults are null too
        assert ParamsDict({k: params.get_param(k) for k in names}).validate() == dict.fromkeys(names)
        empty = ParamsDict({k: params.get_param(k) for k in names})
        empty.update(dict.fromkeys(names))
        assert empty.validate() == dict.fromkeys(names)


def test_a_date_that_is_not_a_date_says_how_to_write_it() -> None:
    from invoice_hub.config.models import Integration
    from invoice_hub.errors import HubError
    from invoice_hub.exchange.select import criteria_for

    integration = Integration.model_validate({"name": "by_hand", **MINIMAL_EXPORT})
    with pytest.raises(HubError, match=r"'03.11.2026' is not a date: write YYYY-MM-DD") as caught:
        criteria_for(integration, None, None, date_from="03.11.2026")
    assert not caught.value.retryable
    assert criteria_for(integration, None, None, date_from="2026-11-03").start == dt.datetime(
        2026, 11, 3, tzinfo=dt.UTC
    )
