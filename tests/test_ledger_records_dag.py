"""dag.test(): every invoice that passes through a transfer is in the ledger, with its outputs and
deliveries, passthrough without validation included; a rejected file is found by its finding ids.

Before: a transfer with ``output: passthrough`` and ``validate: none`` never opened its files, so
its invoices were nowhere in the ledger (no export, open-AR report or dashboard saw them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from invoice_hub.ledger.tables import Delivery, InvoiceOutput, InvoiceRecord, SourceFile
from tests.conftest import SHARED
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db", "staging_url")

EXAMPLES = SHARED / "einvoice-examples"


def invoices_with_deliveries(ledger_db: str) -> list[tuple]:
    """Each received invoice with what it is in and where that went, as the dashboard joins them."""
    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                InvoiceRecord.integration,
                InvoiceRecord.number,
                SourceFile.source_path,
                InvoiceOutput.output_name,
                Delivery.destination,
                Delivery.status,
            )
            .join(SourceFile, SourceFile.id == InvoiceRecord.source_file_id)
            .join(InvoiceOutput, InvoiceOutput.invoice_id == InvoiceRecord.id)
            .join(
                Delivery,
                (Delivery.integration == InvoiceOutput.integration)
                & (Delivery.output_sha256 == InvoiceOutput.output_sha256),
            )
            .order_by(InvoiceRecord.integration, InvoiceRecord.number)
        ).all()
    engine.dispose()
    return [(i, n, Path(p).name, o, Path(d.split(":", 1)[1]).name, s) for i, n, p, o, d, s in rows]


def test_a_passthrough_transfer_without_validation_records_its_invoices(
    integrations_dir: Path, ledger_db: str, capfd: pytest.CaptureFixture[str]
) -> None:
    write(
        integrations_dir / "pass_ubl.yaml",
        """
        name: pass_ubl
        source: {type: local, path: inbox, on_success: {move_to: done}}
        transform: {input: ubl, validate: none, output: passthrough}
        destinations: [{type: local, path: outbox}]
        """,
    )
    write(  # no format named: the files are passed on unopened, as before
        integrations_dir / "pass_any.yaml",
        """
        name: pass_any
        source: {type: local, path: anybox}
        destinations: [{type: local, path: anyout}]
        """,
    )
    inbox = integrations_dir / "inbox"
    drop(inbox, "order.xml", (EXAMPLES / "en16931/ubl-tc434-example5.xml").read_bytes())
    drop(inbox, "base.xml", (EXAMPLES / "peppol-bis3/examples_base-example.xml").read_bytes())
    drop(inbox, "notes.txt", "not an invoice at all")
    drop(
        integrations_dir / "anybox",
        "any.xml",
        (EXAMPLES / "peppol-bis3/examples_base-example.xml").read_bytes(),
    )

    state, tasks = run_dag(load_dag("pass_ubl"))
    assert state == "success", tasks
    assert str(run_dag(load_dag("pass_any"))[0]) == "success"

    assert files_in(integrations_dir / "outbox") == ["base.xml", "notes.txt", "order.xml"], "all delivered"
    assert invoices_with_deliveries(ledger_db) == [
        ("pass_ubl", "Snippet1", "base.xml", "base.xml", "outbox", "delivered"),
        ("pass_ubl", "TOSL110", "order.xml", "order.xml", "outbox", "delivered"),
    ], "pass_any records nothing: its files are not said to be invoices"
    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        order = connection.execute(select(InvoiceRecord).where(InvoiceRecord.number == "TOSL110")).one()
    engine.dispose()
    assert (order.type, order.sender, order.receiver, order.receiver_name) == (
        "invoice", "5790000436101", "5790000436057", "Buyercompany ltd"
    )  # fmt: skip
    assert (order.customer_order_number, order.supplier_order_number, order.currency) == (
        "PO4711",
        "123",
        "DKK",
    )
    assert (str(order.issue_date), str(order.total_with_vat), str(order.payable)) == (
        "2013-04-10",
        "4675.00",
        "2337.50",
    )
    assert order.document_url and order.source_url, "the source and the canonical invoice are kept"
    log = capfd.readouterr().out
    assert "notes.txt: delivered as it is (validate: none), but not recorded in the ledger's invoices" in log


def test_each_invoice_of_a_report_links_to_its_own_output_and_a_rejected_file_to_its_findings(
    integrations_dir: Path, ledger_db: str
) -> None:
    write(
        integrations_dir / "ar_to_ubl.yaml",
        """
        name: ar_to_ubl
        source: {type: local, path: reports, on_success: delete, on_failure: {move_to: rejected}}
        transform:
          input: open_ar_csv
          csv: {delimiter: ";", columns: {invoice_number: Belegnr}}
          validate: structure
          output: ubl
          on_loss: warn
        destinations: [{type: local, path: ubl}]
        """,
    )
    report = "Belegnr;Kunde;Währung;Offener Betrag\nR-1;Müller GmbH;EUR;1.234,50\nR-2;Acme;EUR;99,00\n"
    drop(integrations_dir / "reports", "open_ar.csv", report.encode("cp1252"))
    drop(integrations_dir / "reports", "broken.csv", b"Belegnr;Offener Betrag\nR-3;twelve\n")

    state, tasks = run_dag(load_dag("ar_to_ubl"))

    assert tasks["deliver"] == "success" and state == "failed", tasks  # broken.csv was rejected
    assert invoices_with_deliveries(ledger_db) == [
        ("ar_to_ubl", "R-1", "open_ar.csv", "R-1.xml", "ubl", "delivered"),
        ("ar_to_ubl", "R-2", "open_ar.csv", "R-2.xml", "ubl", "delivered"),
    ], "one file of two invoices: each finds its own output, not the other's"
    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        rejected = connection.execute(
            select(
                SourceFile.status, SourceFile.reason_code, SourceFile.reason, SourceFile.finding_ids
            ).where(SourceFile.finding_ids.contains("CSV-AMOUNT"))
        ).one()
    engine.dispose()
    assert rejected.status == "failed" and rejected.reason_code == "validate.structure", rejected
    assert "CSV-AMOUNT" in rejected.reason and rejected.finding_ids.split() == ["CSV-AMOUNT"]


def test_a_converting_transfer_keeps_what_it_rendered_for_the_dashboard_to_show_and_resend(
    integrations_dir: Path, ledger_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from invoice_hub.document_store import DocumentStore
    from invoice_hub.ledger import dashboard

    monkeypatch.setenv("INVOICE_HUB_STORE_URL", (tmp_path / "store").as_uri())
    write(
        integrations_dir / "to_ap.yaml",
        """
        name: to_ap
        source: {type: local, path: inbox, on_success: {move_to: done}}
        transform: {input: ubl, validate: structure, output: ap_agility, on_loss: warn}
        destinations: [{type: local, path: outbox}]
        """,
    )
    base = (EXAMPLES / "peppol-bis3" / "examples_base-example.xml").read_text(encoding="utf-8")
    drop(integrations_dir / "inbox", "INV-7.xml", base.replace(">Snippet1<", ">INV-7<"))
    state, tasks = run_dag(load_dag("to_ap"))
    assert state == "success", tasks
    (delivered,) = files_in(integrations_dir / "outbox")

    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        (invoice_id,) = connection.execute(select(InvoiceRecord.id)).scalars()
        detail = dashboard.transaction_detail(connection, f"invoice-{invoice_id}")
    engine.dispose()
    assert detail is not None
    rendered = [d for d in detail.documents if d.role == "rendered"]
    assert [d.name for d in rendered] == [delivered], "the AP Agility file the transfer sent"
    with DocumentStore.open(rendered[0].url) as kept:
        assert kept.read() == (integrations_dir / "outbox" / delivered).read_bytes(), "byte for byte"
    assert {d.role for d in detail.documents} == {"source", "canonical", "rendered"}

    # and it can be resent: a run of the transfer's own DAG delivers the rendered file, not the source
    sha256 = hashlib.sha256((integrations_dir / "outbox" / delivered).read_bytes()).hexdigest()
    conf = {"resend": {"document": sha256, "destination": "destinations.0", "token": "tok-rendered-1"}}
    state, tasks = run_dag(load_dag("to_ap"), run_conf=conf)
    assert state == "success", tasks
    sent = files_in(integrations_dir / "outbox")
    assert len(sent) == 2 and all(
        (integrations_dir / "outbox" / name).read_bytes()
        == (integrations_dir / "outbox" / delivered).read_bytes()
        for name in sent
    ), sent


def test_a_delivered_files_en16931_warnings_are_in_the_ledger_and_its_history(
    integrations_dir: Path, ledger_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: a file delivered with warnings (here UBL-CR-005, a UUID EN 16931 says a UBL invoice
    should not include) keeps them in the ledger, and its history says validated, then converted."""
    from invoice_hub.ledger import dashboard
    from invoice_hub.ledger.outcomes import read_conversion, read_validation

    monkeypatch.setenv("INVOICE_HUB_STORE_URL", (tmp_path / "store").as_uri())
    write(
        integrations_dir / "warn_ap.yaml",
        """
        name: warn_ap
        source: {type: local, path: inbox}
        transform: {input: ubl, validate: en16931, output: ap_agility, on_loss: warn}
        destinations: [{type: local, path: outbox}]
        """,
    )
    base = (EXAMPLES / "peppol-bis3" / "examples_base-example.xml").read_text(encoding="utf-8")
    uuid = "<cbc:UUID>6E09886B-DC6E-439F-82D1-7CCAC7F4E3B1</cbc:UUID>"
    drop(
        integrations_dir / "inbox",
        "W-1.xml",
        base.replace("<cbc:ID>Snippet1</cbc:ID>", f"<cbc:ID>W-1</cbc:ID>{uuid}", 1),
    )
    state, tasks = run_dag(load_dag("warn_ap"))
    assert state == "success", tasks
    (delivered,) = files_in(integrations_dir / "outbox")

    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        row = connection.execute(select(SourceFile)).one()
        (invoice_id,) = connection.execute(select(InvoiceRecord.id)).scalars()
        detail = dashboard.transaction_detail(connection, f"invoice-{invoice_id}")
    engine.dispose()
    validation, conversion = read_validation(row.validation), read_conversion(row.conversion)
    assert validation is not None and validation.level == "en16931"
    assert validation.counts["fatal"] == 0 and validation.counts["warning"] >= 1
    (warning,) = [f for f in validation.findings if f.rule == "UBL-CR-005"]
    assert (warning.severity, warning.message, warning.location) == (
        "warning",
        "A UBL invoice should not include the UUID",
        "/Invoice/cbc:UUID",
    )
    assert conversion is not None and (conversion.input, conversion.output, conversion.outputs) == (
        "ubl",
        "ap_agility",
        1,
    )

    assert detail is not None
    steps = [e.step for e in detail.history]
    assert (
        steps[:4]
        == [
            dashboard.Step.FETCHED,
            dashboard.Step.VALIDATED,
            dashboard.Step.CONVERTED,
            dashboard.Step.RECEIVED,
        ]
        and dashboard.Step.DELIVERED in steps
    ), steps
    validated, converted = detail.history[1], detail.history[2]
    assert validated.detail and validated.detail.startswith("validated (en16931): ")
    assert "UBL-CR-005" in validated.detail and validated.status == "warnings"
    assert converted.detail == f"ubl -> ap_agility: {delivered}"
