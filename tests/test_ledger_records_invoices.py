"""The ledger's record of received invoices, on SQLite and PostgreSQL: each with the outputs it is in
(its link to the deliveries of a file of many invoices), and a rejected file's reason code and
finding ids; migration 0006 keeps every earlier row and link."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select

from invoice_hub.formats import read_document
from invoice_hub.ledger import database
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.invoices import Invoices, Received
from invoice_hub.ledger.status import FileStatus
from invoice_hub.ledger.store import Ledger, Noted, Planned
from invoice_hub.ledger.tables import Delivery, InvoiceOutput, InvoiceRecord, SourceFile
from tests.conftest import SHARED

EXAMPLES = SHARED / "einvoice-examples"


def invoice(name: str):
    (read,) = read_document(EXAMPLES / name, "ubl").invoices
    return read


def received(inv, file_id: int, sha: str, outputs: tuple[tuple[str, str], ...]) -> Received:
    return Received(inv, file_id, "/in/many.xml", sha, "file:///store/src", "file:///store/doc", outputs)


def test_each_invoice_of_a_file_links_to_its_own_outputs_and_their_deliveries(ledger_url: str) -> None:
    engine = get_engine(ledger_url)
    ledger, invoices = Ledger(engine), Invoices(engine)
    (claim,) = ledger.claim_many("in", "run1", [("/in/many.xml", 10, 1.0, "f" * 64)])
    first, second = (
        invoice("en16931/ubl-tc434-example5.xml"),
        invoice("peppol-bis3/examples_base-example.xml"),
    )
    batch = [
        received(first, claim.file_id, "f" * 64, (("TOSL110.xml", "1" * 64),)),
        received(second, claim.file_id, "f" * 64, (("Snippet1.xml", "2" * 64),)),
        received(first, claim.file_id, "f" * 64, (("TOSL110.xml", "1" * 64),)),  # twice in the file
    ]
    assert invoices.record_received("in", "run1", batch) == 2
    assert invoices.record_received("in", "run2", batch) == 0, "a retry records nothing twice"
    ledger.start_deliveries(
        "in", "local:/out", "run1", [Planned("2" * 64, "Snippet1.xml", "/out/Snippet1.xml", claim.file_id)]
    )
    ledger.finish_deliveries("in", "local:/out", [("2" * 64, "/out/Snippet1.xml")])

    with engine.connect() as connection:
        record = connection.execute(select(InvoiceRecord).where(InvoiceRecord.number == "TOSL110")).one()
        links = connection.execute(
            select(InvoiceRecord.number, InvoiceOutput.output_name, Delivery.destination, Delivery.status)
            .join(InvoiceOutput, InvoiceOutput.invoice_id == InvoiceRecord.id)
            .outerjoin(
                Delivery,
                (Delivery.integration == InvoiceOutput.integration)
                & (Delivery.output_sha256 == InvoiceOutput.output_sha256),
            )
            .order_by(InvoiceRecord.number)
        ).all()
    assert (record.sender, record.receiver, record.sender_name) == (
        "5790000436101",
        "5790000436057",
        "SellerCompany",
    )
    assert (record.customer_order_number, record.supplier_order_number) == ("PO4711", "123")
    assert (str(record.issue_date), str(record.due_date), record.currency) == (
        "2013-04-10",
        "2013-05-10",
        "DKK",
    )
    assert [str(v) for v in (record.total_without_vat, record.total_vat, record.total_with_vat, record.payable)] == [
        "4000.00", "675.00", "4675.00", "2337.50"
    ]  # fmt: skip
    assert record.source_file_id == claim.file_id and record.source_path == "/in/many.xml"
    assert [tuple(row) for row in links] == [
        ("Snippet1", "Snippet1.xml", "local:/out", "delivered"),
        ("TOSL110", "TOSL110.xml", None, None),  # its own output was not delivered: no delivery of it
    ]


def test_a_rejected_file_keeps_its_reason_code_and_finding_ids(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
    (claim,) = ledger.claim_many("in", "run1", [("/in/bad.xml", 10, 1.0, "b" * 64)])
    ledger.note_outcomes({claim.file_id: Noted(finding_ids="BR-CO-15 PEPPOL-EN16931-R001")})
    ledger.close_files(
        [claim.file_id],
        FileStatus.FAILED,
        {claim.file_id: "2 fatal finding(s)"},
        {claim.file_id: "validate.peppol"},
    )
    with ledger.engine.connect() as connection:
        row = connection.execute(
            select(SourceFile).where(SourceFile.finding_ids.contains("BR-CO-15"))  # what a search does
        ).one()
    assert (row.status, row.reason_code, row.reason) == ("failed", "validate.peppol", "2 fatal finding(s)")
    assert row.finding_ids.split() == ["BR-CO-15", "PEPPOL-EN16931-R001"]


def test_migration_0006_keeps_every_row_and_link(ledger_url: str, tmp_path: Path) -> None:
    """A ledger at 0005 with a file, a delivery of it and an invoice from it (links that a copy of
    ``source_files`` under foreign keys would set to NULL), brought to the head revision."""
    from alembic import command

    engine = database._create_engine(ledger_url)
    config = database._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.exec_driver_sql(
            "INSERT INTO source_files (id, integration, source_path, size, mtime, sha256, status, reason,"
            " run_id, first_seen_at, updated_at) VALUES (7, 'in', '/in/a.xml', 1, 1.0, 's', 'failed', 'why',"
            " 'r', '2026-11-01', '2026-11-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO deliveries (id, integration, source_file_id, destination, output_name,"
            " output_sha256, status, run_id) VALUES (1, 'in', 7, 'local:/out', 'a.xml', 's', 'delivered', 'r')"
        )
        connection.exec_driver_sql(
            "INSERT INTO invoices (id, integration, source_file_id, source_path, run_id, received_at, number,"
            " type, status, source_sha256, source_url, document_url) VALUES"
            " (1, 'in', 7, '/in/a.xml', 'r', '2026-11-01', 'INV-1', 'invoice', 'open', 's', 'u', 'd')"
        )
    try:
        database.migrate(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT source_file_id FROM deliveries").scalar() == 7
            assert connection.exec_driver_sql("SELECT source_file_id FROM invoices").scalar() == 7
            file = connection.exec_driver_sql(
                "SELECT reason, reason_code, finding_ids FROM source_files"
            ).one()
            assert tuple(file) == ("why", None, None)
            assert connection.execute(sa.select(sa.func.count()).select_from(InvoiceOutput)).scalar() == 0
    finally:
        engine.dispose()
