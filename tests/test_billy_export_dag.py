"""dag.test() of exports reading billy (the API v2 stand-in of ``tests/servers/billy.py``): one
interval exports exactly its approved invoices, each activated customer in its own format over its
own gateway (SFTP and e-mail on the real test servers), once; the rest is listed, not sent."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import InvoiceExport, InvoiceRecord
from tests.helpers import files_in, load_dag, run_dag, write
from tests.servers.billy import BillyStandIn
from tests.servers.mail_http import SmtpServer

pytestmark = pytest.mark.usefixtures("airflow_db", "staging_url")

DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
GATEWAY, MAILED, NOT_ACTIVATED = "contact-003", "contact-002", "contact-000"

EXPORT = """
name: billy_send
kind: export
schedule: "@daily"
start_date: 2026-11-01
source: {{type: billy, conn_id: billy}}
select: {{date_field: {date_field}, customers: [{gateway}, {mailed}]}}
transform: {{output: ubl, validate: {validate}, filename: "{{invoice_number}}.xml"}}
customers:
  - id: {gateway}
    output: peppol_bis3{gateway_mapping}
    destinations: [{{type: sftp, conn_id: partner_sftp, path: {remote}}}]
  - id: {mailed}
    destinations: [{{type: email, conn_id: partner_smtp, to: [ap@kunde002.example]}}]
"""


def line(description: str = "Konsulentydelse", quantity: int = 2, price: str = "450.00") -> dict[str, Any]:
    return {
        "description": description,
        "quantity": Decimal(quantity),
        "unitPrice": Decimal(price),
        "unit": "hours",
        "taxRateId": "tax-25",
    }


def book(books: BillyStandIn, contact: str, day: dt.date, **options: Any) -> str:
    """One approved invoice of ``contact`` dated ``day`` (approved that morning); its number."""
    options.setdefault("lines", [line()])
    booked = books.book(
        contact=books.contact(contact),
        entry_date=day,
        approved_time=dt.datetime.combine(day, dt.time(9)),
        **options,
    )
    return booked["invoiceNo"]


@pytest.fixture
def books(monkeypatch: pytest.MonkeyPatch) -> Iterator[BillyStandIn]:
    """billy with four customers and, each day of DAYS, one approved invoice for three of them."""
    server = BillyStandIn().generate(0, customers=5)  # the organisation, tax rates and contacts
    for day in DAYS:
        for contact in (GATEWAY, MAILED, NOT_ACTIVATED):
            book(server, contact, day)
    server.start()
    monkeypatch.setenv("AIRFLOW_CONN_BILLY", server.connection())
    yield server
    server.stop()


def numbers(books: BillyStandIn, contact: str, day: dt.date | None = None) -> list[str]:
    return [
        i["invoiceNo"]
        for i in books.invoices
        if i["state"] == "approved"
        and i["contactId"] == contact
        and day in (None, dt.date.fromisoformat(i["entryDate"]))
    ]


def export(
    integrations_dir: Path,
    remote: Path,
    date_field: str = "issue_date",
    validate: str = "peppol",
    gateway_mapping: str | None = None,
) -> None:
    write(
        integrations_dir / "billy_send.yaml",
        EXPORT.format(
            gateway=GATEWAY,
            mailed=MAILED,
            remote=remote,
            date_field=date_field,
            validate=validate,
            gateway_mapping=f"\n    mapping: {gateway_mapping}" if gateway_mapping else "",
        ),
    )


#: The gateway customer's own receiver and supplier settings: what its invoices carry besides billy's.
RECEIVER_SETTINGS = """
description: what contact-003's e-invoicing gateway wants in every invoice
substitutions:
  - {field: buyer_reference, value: EAN-ORDER-4711, mode: always}
  - {field: seller.contact.email, value: peppol@hubdemo.dk, mode: always}
"""


def mailed(smtpd: SmtpServer) -> list[str]:
    """The attachment names of every message the e-mail gateway received."""
    return sorted(part.get_filename() for message in smtpd.messages for part in message.iter_attachments())


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def test_an_interval_exports_exactly_its_invoices_to_two_customers_over_two_gateways(
    books: BillyStandIn,
    integrations_dir: Path,
    ledger_db: str,
    sftp_conn: str,
    remote: Path,
    smtpd: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from invoice_hub.cli import main

    monkeypatch.setenv(
        "INVOICE_HUB_MAPPINGS_DIR",
        str(write(integrations_dir.parent / "mappings" / "gateway.yaml", RECEIVER_SETTINGS).parent),
    )
    export(integrations_dir, remote, gateway_mapping="gateway.yaml")
    # The run at 2026-11-03 00:00 covers [2026-11-02, 2026-11-03): the invoices dated 2026-11-02.
    state, tasks = run_dag(load_dag("billy_send"), logical_date=midnight(DAYS[2]))
    assert state == "success", tasks
    (peppol,) = numbers(books, GATEWAY, DAYS[1])
    (ubl,) = numbers(books, MAILED, DAYS[1])
    assert files_in(remote) == [f"{peppol}.xml"], "the gateway customer's invoice of that day, nothing else"
    document = (remote / f"{peppol}.xml").read_text()
    assert "urn:fdc:peppol.eu:2017:poacc:billing:3.0" in document and f"<cbc:ID>{peppol}</cbc:ID>" in document
    assert "EmbeddedDocumentBinaryObject" in document, "billy's PDF goes along"
    assert "<cbc:BuyerReference>EAN-ORDER-4711</cbc:BuyerReference>" in document, "its receiver settings"
    assert "<cbc:ElectronicMail>peppol@hubdemo.dk</cbc:ElectronicMail>" in document, "its supplier settings"
    assert mailed(smtpd) == [f"{ubl}.xml"], "the other customer's invoice, as UBL by e-mail"
    # PEPPOL BIS 3 output that passes the hub's own PEPPOL validation, as a receiver would check it
    assert main(["validate", "--level", "peppol", str(remote / f"{peppol}.xml")]) == 0, (
        capsys.readouterr().out
    )

    pdfs = sum(r["path"].startswith("/v2/downloads/") for r in books.requests)
    assert pdfs == 2, "the PDFs of the activated customers' invoices only"

    state, tasks = run_dag(load_dag("billy_send"), logical_date=midnight(DAYS[2]))
    assert state == "success", tasks
    assert files_in(remote) == [f"{peppol}.xml"] and len(smtpd.messages) == 1, "a re-run delivers nothing"
    again = sum(r["path"].startswith("/v2/downloads/") for r in books.requests)
    assert again == pdfs, "a re-run reads billy's listing again, not the PDFs it has"
    engine = get_engine(ledger_db)
    with engine.connect() as connection:
        paths = sorted(
            connection.execute(InvoiceRecord.__table__.select()).mappings(), key=lambda r: r["number"]
        )
        statuses = sorted(
            (r.status, r.destination) for r in connection.execute(InvoiceExport.__table__.select())
        )
    (skipped,) = numbers(books, NOT_ACTIVATED, DAYS[1])
    billy_id = {i["invoiceNo"]: i["id"] for i in books.invoices}
    assert [
        (r["number"], r["source_path"], r["customer"], r["source_url"] == r["document_url"]) for r in paths
    ] == [
        (peppol, f"billy:{billy_id[peppol]}", GATEWAY, False),
        (ubl, f"billy:{billy_id[ubl]}", MAILED, False),
        (skipped, f"billy:{billy_id[skipped]}", NOT_ACTIVATED, True),
    ], "recorded once each, as billy:<id>; the customer not activated without a PDF (none downloaded)"
    assert statuses == [
        ("delivered", f"customers.{MAILED}.destinations.0"),
        ("delivered", f"customers.{GATEWAY}.destinations.0"),
        ("skipped", f"customers.{MAILED}.destinations.0"),
        ("skipped", f"customers.{GATEWAY}.destinations.0"),
    ]

    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", ledger_db)
    capsys.readouterr()
    assert main(["find-invoices", "billy_send", "--from", "2026-11-02", "--to", "2026-11-03"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert sorted((r[0], r[4], r[5]) for r in rows) == sorted(
        [(peppol, GATEWAY, "exported"), (ubl, MAILED, "exported")]
        + [(n, GATEWAY, "not exported") for n in numbers(books, GATEWAY, DAYS[2])]
        + [(n, MAILED, "not exported") for n in numbers(books, MAILED, DAYS[2])]
        + [(n, NOT_ACTIVATED, "not activated") for n in numbers(books, NOT_ACTIVATED, DAYS[1])]
        + [(n, NOT_ACTIVATED, "not activated") for n in numbers(books, NOT_ACTIVATED, DAYS[2])]
    )

    assert main(["customers", "billy_send"]) == 0
    listed = {r[0]: r for r in list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]}
    assert sorted(listed) == ["contact-000", "contact-001", "contact-002", "contact-003"], "customers only"
    assert (listed[GATEWAY][7], listed[GATEWAY][8], listed[GATEWAY][10]) == (
        "activated",
        "peppol_bis3",
        "gateway.yaml",
    )
    assert listed[GATEWAY][9] == f"customers.{GATEWAY}.destinations.0"
    assert (listed[MAILED][7], listed[MAILED][8]) == ("activated", "ubl")
    assert listed[NOT_ACTIVATED][7] == "not activated"
    assert listed[GATEWAY][4] == books.contact(GATEWAY)["ean"], "the GLN an e-invoicing network delivers to"


def test_a_manual_export_by_dates_rereads_billy_and_a_429_mid_listing_skips_nothing(
    books: BillyStandIn,
    integrations_dir: Path,
    sftp_conn: str,
    remote: Path,
    smtpd: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BILLY", books.connection(page_size=2))  # several pages
    export(integrations_dir, remote, validate="en16931")
    limited: list[int] = []

    def rate_limit_once(server: BillyStandIn, page: int, query: dict[str, list[str]]) -> None:
        if page == 2 and not limited:
            limited.append(page)
            server.fail(429, times=2, retry_after="0")  # the next two requests: page 3, twice

    books.after_page = rate_limit_once
    state, tasks = run_dag(
        load_dag("billy_send"), run_conf={"date_from": "2026-11-01", "date_to": "2026-11-03"}
    )
    assert state == "success", tasks
    assert limited, "the listing was rate-limited while it was read"
    assert files_in(remote) == sorted(f"{n}.xml" for n in numbers(books, GATEWAY))
    assert mailed(smtpd) == sorted(f"{n}.xml" for n in numbers(books, MAILED))
    assert [f.times for f in books.faults] == [0], "both 429s were answered mid-listing, and retried"


def test_an_invoice_billy_cannot_give_as_the_customer_format_fails_by_name_and_the_rest_goes_out(
    books: BillyStandIn, integrations_dir: Path, sftp_conn: str, remote: Path, smtpd: SmtpServer
) -> None:
    day = dt.date(2026, 11, 5)
    good = book(books, GATEWAY, day)
    empty = book(books, MAILED, day, lines=[])
    bitcoin = book(books, GATEWAY, day, currency="XBT")
    export(integrations_dir, remote)
    state, tasks = run_dag(load_dag("billy_send"), logical_date=midnight(day + dt.timedelta(days=1)))
    assert state == "failed" and tasks["deliver"] == "success" and tasks["archive"] == "failed", tasks
    assert files_in(remote) == [f"{good}.xml"], "the good invoice is delivered all the same"
    assert mailed(smtpd) == []
    failures = _select_manifest("billy_send")
    assert f"invoice {empty}" in failures and "has no lines" in failures and "export.unmappable" in failures
    assert f"invoice {bitcoin} is in currency 'XBT', which peppol_bis3 cannot carry" in failures


def _select_manifest(dag_id: str) -> str:
    """The manifest the last run's select task passed on (failed entries with why)."""
    import json

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel.value)
            .filter(XComModel.dag_id == dag_id, XComModel.task_id == "validate_transform")
            .order_by(XComModel.timestamp.desc())
            .first()
        )
    assert row is not None, "the run passed manifests on"
    return row[0] if isinstance(row[0], str) else json.dumps(row[0])


def test_a_bad_token_fails_once_with_a_clear_message(
    books: BillyStandIn,
    integrations_dir: Path,
    ledger_db: str,
    sftp_conn: str,
    remote: Path,
    smtpd: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from invoice_hub.accounting import AccountingError
    from invoice_hub.cli import main
    from invoice_hub.config import load_folder
    from invoice_hub.exchange.accounting_read import read_into_ledger
    from invoice_hub.exchange.select import criteria_for

    monkeypatch.setenv("AIRFLOW_CONN_BILLY", books.connection(token="revoked-token-0000"))
    export(integrations_dir, remote)
    state, tasks = run_dag(load_dag("billy_send"), retries=2, logical_date=midnight(DAYS[2]))
    assert state == "failed" and tasks["select"] == "failed", tasks
    assert len(books.requests) == 1, "refused once: neither the client nor Airflow tries again"
    assert files_in(remote) == []
    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", ledger_db)
    capsys.readouterr()
    assert main(["check-connection", "billy_send"]) == 1
    said = capsys.readouterr().out
    assert "source (billy:billy): FAILED: billy" in said and "401" in said, said

    (entry,) = load_folder([integrations_dir / "billy_send.yaml"])
    assert entry.integration is not None
    criteria = criteria_for(entry.integration, midnight(DAYS[1]), midnight(DAYS[2]))
    with pytest.raises(AccountingError) as caught:
        read_into_ledger(entry.integration, criteria, "manual", get_engine(ledger_db))
    assert not caught.value.retryable
    message = str(caught.value)
    assert "401" in message and "token" in message.lower() and "revoked-token-0000" not in message, message


def test_by_approval_time_an_invoice_booked_late_goes_with_the_day_it_was_approved(
    books: BillyStandIn, integrations_dir: Path, ledger_db: str, remote: Path
) -> None:
    from invoice_hub.config import load_folder
    from invoice_hub.exchange.accounting_read import read_into_ledger
    from invoice_hub.exchange.select import criteria_for
    from invoice_hub.ledger.invoices import Invoices

    late = books.book(
        contact=books.contact(GATEWAY),
        entry_date=DAYS[0],
        approved_time=dt.datetime.combine(DAYS[2], dt.time(15)),
        lines=[line()],
    )["invoiceNo"]
    export(integrations_dir, remote, date_field="approved_at")
    (entry,) = load_folder([integrations_dir / "billy_send.yaml"])
    assert entry.integration is not None
    engine = get_engine(ledger_db)
    by_day = {}
    for day in DAYS:
        criteria = criteria_for(entry.integration, midnight(day), midnight(day + dt.timedelta(days=1)))
        read = read_into_ledger(entry.integration, criteria, f"run-{day}", engine)
        assert [s.customer_id for s in read.not_activated] == [NOT_ACTIVATED], "listed as not activated"
        by_day[day] = sorted(
            r.number for r in Invoices(engine).select(criteria) if r.customer != NOT_ACTIVATED
        )
    first, second, third = (sorted(numbers(books, GATEWAY, d) + numbers(books, MAILED, d)) for d in DAYS)
    assert by_day == {
        DAYS[0]: [n for n in first if n != late],
        DAYS[1]: second,
        DAYS[2]: sorted([*third, late]),
    }


def test_a_manual_export_by_numbers_or_customer_reads_those_from_billy(
    books: BillyStandIn, integrations_dir: Path, ledger_db: str, remote: Path
) -> None:
    """The Trigger form's invoice numbers and customer, without dates: read from billy as asked."""
    from invoice_hub.config import load_folder
    from invoice_hub.exchange.accounting_read import read_into_ledger
    from invoice_hub.exchange.select import criteria_for
    from invoice_hub.ledger.invoices import Invoices

    export(integrations_dir, remote)
    (entry,) = load_folder([integrations_dir / "billy_send.yaml"])
    assert entry.integration is not None
    engine = get_engine(ledger_db)
    wanted = [numbers(books, GATEWAY, DAYS[0])[0], numbers(books, MAILED, DAYS[2])[0]]
    criteria = criteria_for(entry.integration, None, None, invoice_numbers=wanted)
    assert read_into_ledger(entry.integration, criteria, "by-number", engine).recorded == 2
    assert sorted(r.number for r in Invoices(engine).select(criteria)) == sorted(wanted)
    asked = [r for r in books.requests if r["path"] == "/v2/invoices"]
    assert [r["query"]["invoiceNo"] for r in asked] == [[n] for n in wanted], "those two, not the books"

    criteria = criteria_for(entry.integration, None, None, customer=MAILED)
    read = read_into_ledger(entry.integration, criteria, "by-customer", engine)
    assert (read.recorded, read.not_activated) == (2, []), "the customer's other two; nobody else's"
    assert [r.number for r in Invoices(engine).select(criteria)] == numbers(books, MAILED)


def test_a_customer_activated_later_gets_its_invoices_with_their_pdfs(
    books: BillyStandIn, integrations_dir: Path, ledger_db: str, remote: Path
) -> None:
    """Read while not activated: recorded (to be listed) without a PDF; read again once activated:
    the PDF is fetched and the ledger's record points at the invoice with it."""
    from invoice_hub.config import load_folder
    from invoice_hub.document_store import DocumentStore
    from invoice_hub.exchange.accounting_read import read_into_ledger
    from invoice_hub.exchange.select import criteria_for
    from invoice_hub.ledger.invoices import Invoices
    from invoice_hub.model import Invoice

    export(integrations_dir, remote)
    (entry,) = load_folder([integrations_dir / "billy_send.yaml"])
    assert entry.integration is not None
    engine = get_engine(ledger_db)
    interval = (midnight(DAYS[0]), midnight(DAYS[1]))
    read_into_ledger(entry.integration, criteria_for(entry.integration, *interval), "before", engine)
    everyone = entry.integration.model_copy(
        update={"select": entry.integration.select.model_copy(update={"customers": "all"})}
    )
    criteria = criteria_for(everyone, *interval)
    (before,) = [r for r in Invoices(engine).select(criteria) if r.customer == NOT_ACTIVATED]
    assert before.source_url == before.document_url, "no PDF fetched for a customer not activated"

    read = read_into_ledger(everyone, criteria, "after", engine)
    assert read.recorded == 0 and read.not_activated == [], "nothing new: the same record, completed"
    (after,) = [r for r in Invoices(engine).select(criteria) if r.customer == NOT_ACTIVATED]
    assert after.id == before.id and after.source_url.endswith(".pdf")
    with DocumentStore.open(after.document_url) as document:
        invoice = Invoice.model_validate_json(document.read())
    assert [a.mime_type for a in invoice.attachments] == ["application/pdf"]
