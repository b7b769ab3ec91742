"""The billy API v2 client and its mapping, against the billy stand-in (``tests/servers/billy.py``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from decimal import Decimal

import pytest
from lxml import etree

from invoice_hub.accounting import AccountingError, open_source
from invoice_hub.accounting.billy import BillyClient, BillySource
from invoice_hub.accounting.billy_mapping import NO_LINES, TOTALS_DIFFER, UNKNOWN_TAX_RATE
from invoice_hub.accounting.http import retry_after
from invoice_hub.formats.ubl_writer import write_peppol_bis3, write_ubl
from invoice_hub.hooks.billy import BillyHook
from invoice_hub.validation.en16931 import check_en16931
from invoice_hub.validation.peppol import check_peppol
from tests.servers.billy import BillyStandIn, pdf_bytes
from tests.test_airflow_test_connection import airflow_test

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 7, tzinfo=dt.UTC)


class Waits(list):
    """The waits the client asked for (recorded, not slept: the test stays fast)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(billy: BillyStandIn, *, token: str | None = None, page_size: int = 50, **options) -> BillySource:
    client = BillyClient(
        billy.token if token is None else token, base_url=billy.url, page_size=page_size, **options
    )
    return BillySource(client)


def invoice_requests(billy: BillyStandIn) -> list[dict]:
    return [r for r in billy.requests if r["path"] == "/v2/invoices"]


def test_every_invoice_is_read_once_with_lines_and_contacts_in_the_same_calls(billy: BillyStandIn) -> None:
    docs = list(source(billy, page_size=100).documents(START, END))

    expected = billy.approved(dt.date(2026, 3, 2), dt.date(2026, 3, 6))
    assert len(expected) == 400  # the drafts are not approved
    assert sorted(d.source_id for d in docs) == sorted(i["id"] for i in expected)
    listing = invoice_requests(billy)
    for request in listing:
        assert request["query"]["include"] == ["invoice.lines:embed,invoice.contact:sideload"]
        assert request["query"]["state"] == ["approved"]
        assert request["headers"]["X-Access-Token"] == billy.token
    # 80 a day, 100 a page: the 5 days are probed (one record each) and halved until each window
    # fits one page, then each day is one request: one snapshot each
    probes = [r for r in listing if r["query"]["pageSize"] == ["1"]]
    reads = [r for r in listing if r["query"]["pageSize"] == ["100"]]
    assert len(probes) + len(reads) == len(listing) and len(probes) <= 4
    assert sorted((r["query"]["minEntryDate"][0], r["query"]["maxEntryDate"][0]) for r in reads) == [
        (f"2026-03-0{d}", f"2026-03-0{d}") for d in range(2, 7)
    ]
    assert all(r["query"]["page"] == ["1"] for r in reads)
    # no request per invoice for its lines or contact: besides the listing, the organisation, the tax
    # rates and, for a credit note read before the invoice it credits, that invoice's number
    others = Counter(r["path"].rsplit("/", 1)[0] for r in billy.requests if r["path"] != "/v2/invoices")
    assert others["/v2"] == 2 and set(others) <= {"/v2", "/v2/invoices"}
    assert others["/v2/invoices"] < 10
    by_id = {d.source_id: d for d in docs}
    one = expected[17]
    contact = billy.contact(one["contactId"])
    mapped = by_id[one["id"]].invoice
    assert mapped is not None and mapped.buyer.name == contact["name"]
    assert len(mapped.lines) == len(one["lines"])


def test_a_day_longer_than_a_page_is_read_page_by_page_twice(billy: BillyStandIn) -> None:
    day = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    docs = list(source(billy, page_size=30).documents(day, day + dt.timedelta(days=1)))

    assert len(docs) == len({d.source_id for d in docs}) == 80
    pages = [r["query"]["page"][0] for r in invoice_requests(billy)]
    assert pages == ["1", "2", "3"] * 2  # two passes agree: nothing changed under the reader


def test_sideloaded_contacts_come_once_beside_the_invoices(billy: BillyStandIn) -> None:
    client = BillyClient(billy.token, base_url=billy.url, page_size=100)
    page = client.page(
        "invoices",
        "invoices",
        {"state": "approved", "include": "invoice.lines:embed,invoice.contact:sideload"},
        1,
    )

    assert page.page_count == 4 and page.total == 400 and len(page.records) == 100
    assert all("lines" in r and "contact" not in r for r in page.records)
    assert set(page.contacts) == {r["contactId"] for r in page.records}


def test_one_interval_reads_its_days_only(billy: BillyStandIn) -> None:
    day = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    docs = list(source(billy).documents(day, day + dt.timedelta(days=1)))
    hourly = list(source(billy).documents(day + dt.timedelta(hours=5), day + dt.timedelta(hours=6)))

    assert {d.issue_date for d in docs} == {dt.date(2026, 3, 3)}
    assert len(docs) == len(billy.approved(dt.date(2026, 3, 3), dt.date(2026, 3, 3)))
    assert hourly == []  # the day belongs to the interval that holds its midnight


def test_by_approval_time_reads_the_newest_pages_only(billy: BillyStandIn) -> None:
    day = dt.datetime(2026, 3, 6, tzinfo=dt.UTC)
    docs = list(source(billy).documents(day, day + dt.timedelta(days=1), "approved_at"))

    expected = [
        i for i in billy.invoices if i["state"] == "approved" and i["approvedTime"].startswith("2026-03-06")
    ]
    assert sorted(d.source_id for d in docs) == sorted(i["id"] for i in expected)
    assert any(d.issue_date != dt.date(2026, 3, 6) for d in docs)  # booked late: approved that day
    assert len(invoice_requests(billy)) < 8  # sorted newest first, stopped before the interval


def test_customer_and_number_selections(billy: BillyStandIn) -> None:
    src = source(billy)
    contact = billy.invoices[0]["contactId"]
    mine = list(src.documents(START, END, customer_id=contact))
    numbers = [billy.invoices[5]["invoiceNo"], billy.invoices[9]["invoiceNo"]]
    chosen = list(src.numbered(numbers))

    assert mine and {d.customer_id for d in mine} == {contact}
    assert len(mine) == len(
        [i for i in billy.approved(START.date(), END.date()) if i["contactId"] == contact]
    )
    assert [d.number for d in chosen] == numbers
    with pytest.raises(AccountingError, match="numbered '99999'") as error:
        list(src.numbered([numbers[0], "99999"]))
    assert not error.value.retryable

    billy.ignored_filters.add("invoiceNo")  # an API that does not apply the filter: read it all
    assert [d.number for d in source(billy).numbered(numbers)] == numbers


def test_mapped_invoices_pass_en16931_and_peppol(billy: BillyStandIn) -> None:
    docs = list(source(billy, page_size=1000).documents(START, END))
    by_id = {i["id"]: i for i in billy.invoices}
    kinds: Counter[str] = Counter()
    for doc in docs:
        assert doc.mappable, doc.findings
        invoice = doc.with_pdf()
        assert invoice.attachments[-1].content == pdf_bytes(by_id[doc.source_id])
        assert invoice.attachments[-1].mime_type == "application/pdf"
        findings = [f for f in check_en16931(etree.fromstring(write_ubl(invoice))) if f.severity == "fatal"]
        assert findings == [], (doc.number, findings)
        if invoice.buyer.endpoint is not None:  # PEPPOL delivers to an electronic address only
            peppol = [
                f for f in check_peppol(etree.fromstring(write_peppol_bis3(invoice))) if f.severity == "fatal"
            ]
            assert peppol == [], (doc.number, peppol)
            kinds["peppol"] += 1
        kinds[invoice.type] += 1
        assert invoice.totals.payable == by_id[doc.source_id]["grossAmount"]
    assert kinds["credit_note"] >= 30 and kinds["invoice"] >= 300 and kinds["peppol"] >= 100


def test_mapping_of_one_invoice_term_by_term(billy: BillyStandIn) -> None:
    contact = next(c for c in billy.contacts if c["ean"] and c["registrationNo"] and c["countryId"] == "DK")
    lines = [
        {
            "description": "Konsulent\nmarts",
            "quantity": Decimal(10),
            "unitPrice": Decimal("850.00"),
            "unit": "hours",
            "taxRateId": "tax-25",
            "discountMode": "percent",
            "discountValue": Decimal(10),
            "discountText": "Rabat 10%",
        },
        {
            "description": "Porto",
            "quantity": Decimal(1),
            "unitPrice": Decimal("40.00"),
            "unit": "pieces",
            "taxRateId": "tax-0",
        },
    ]
    booked = billy.book(
        contact=contact, entry_date=dt.date(2026, 3, 4), approved_time=dt.datetime(2026, 3, 4, 9), lines=lines
    )
    credit = billy.book(
        contact=contact,
        entry_date=dt.date(2026, 3, 5),
        approved_time=dt.datetime(2026, 3, 5, 9),
        lines=lines[1:],
        credited=booked,
    )

    docs = {d.source_id: d for d in source(billy).numbered([booked["invoiceNo"], credit["invoiceNo"]])}
    invoice, note = docs[booked["id"]].invoice, docs[credit["id"]].invoice

    assert invoice is not None and note is not None
    assert (invoice.number, invoice.type_code, invoice.issue_date, invoice.due_date, invoice.currency) == (
        booked["invoiceNo"],
        "380",
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 12),
        "DKK",
    )
    assert invoice.seller.legal_id.model_dump(exclude_none=True) == {"value": "12345674", "scheme": "0184"}
    assert invoice.seller.vat_id == "DK12345674" and invoice.seller.name == "Hub Demo ApS"
    assert invoice.buyer.endpoint.model_dump(exclude_none=True) == {"value": contact["ean"], "scheme": "0088"}
    assert invoice.buyer.legal_id.model_dump(exclude_none=True) == {
        "value": contact["registrationNo"],
        "scheme": "0184",
    }
    assert invoice.buyer.vat_id == "DK" + contact["registrationNo"]
    assert (
        invoice.buyer.address.city == contact["cityText"]
        and invoice.buyer.address.postal_zone == contact["zipcodeText"]
    )
    assert invoice.buyer_reference == contact["contactNo"]
    first, second = invoice.lines
    assert (first.quantity, first.unit_code, first.price, first.net_amount) == (
        10,
        "HUR",
        Decimal("850.00"),
        Decimal("7650.00"),
    )
    assert (first.item_name, first.item_description) == ("Konsulent", "Konsulent\nmarts")
    assert [(a.is_charge, a.amount, a.percent, a.reason) for a in first.allowances_charges] == [
        (False, Decimal("850.00"), 10, "Rabat 10%")
    ]
    assert (first.tax.code, first.tax.rate) == ("S", 25)
    assert (second.tax.code, second.tax.rate, second.tax.exemption_reason) == ("E", 0, "Momsfrit salg")
    assert [(s.category.code, s.taxable_amount, s.tax_amount) for s in invoice.tax_subtotals] == [
        ("S", Decimal("7650.00"), Decimal("1912.50")),
        ("E", Decimal("40.00"), Decimal("0.00")),
    ]
    assert (invoice.totals.tax_exclusive, invoice.totals.tax, invoice.totals.payable) == (
        Decimal("7690.00"),
        Decimal("1912.50"),
        Decimal("9602.50"),
    )
    assert (note.type, note.type_code, note.preceding_invoices) == (
        "credit_note",
        "381",
        [booked["invoiceNo"]],
    )


def test_records_the_model_cannot_hold_are_findings_naming_the_invoice(billy: BillyStandIn) -> None:
    def book(tax_rate: str | None) -> dict:
        lines = (
            []
            if tax_rate is None
            else [
                {
                    "description": "X",
                    "quantity": Decimal(1),
                    "unitPrice": Decimal(5),
                    "unit": "pieces",
                    "taxRateId": tax_rate,
                }
            ]
        )
        return billy.book(
            contact=billy.contacts[2],
            entry_date=dt.date(2026, 3, 4),
            approved_time=dt.datetime(2026, 3, 4, 9),
            lines=lines,
        )

    empty, odd, tampered = book(None), book("tax-gone"), book("tax-25")
    tampered["grossAmount"] += Decimal("100.00")  # an invoice-level fee the lines do not show

    docs = {d.source_id: d for d in source(billy).documents(START, END)}

    assert len(docs) == 403  # read and listed, not dropped
    for record, rule in ((empty, NO_LINES), (odd, UNKNOWN_TAX_RATE), (tampered, TOTALS_DIFFER)):
        doc = docs[record["id"]]
        assert not doc.mappable and doc.invoice is None
        assert [f.rule for f in doc.findings] == [rule]
        assert f"billy invoice {record['invoiceNo']} (id {record['id']})" in doc.findings[0].message
        with pytest.raises(AccountingError, match=record["invoiceNo"]) as error:
            doc.with_pdf()
        assert not error.value.retryable
    assert sum(d.mappable for d in docs.values()) == 400


def test_a_refused_token_fails_at_once_and_permanently(billy: BillyStandIn) -> None:
    with pytest.raises(AccountingError) as error:
        list(source(billy, token="not-the-right-token").documents(START, END))

    assert not error.value.retryable
    assert "refused (401)" in str(error.value) and "password" in str(error.value)
    assert "You must be logged in" in str(error.value)  # billy's own words, from its error body
    assert len(billy.requests) == 1  # no retry


@pytest.mark.parametrize("status", [403, 404])
def test_forbidden_and_missing_are_permanent(billy: BillyStandIn, status: int) -> None:
    billy.fail(status, path="/v2/organization")
    with pytest.raises(AccountingError) as error:
        source(billy).organization()

    assert not error.value.retryable and f"({status})" in str(error.value)
    assert "GET organization" in str(error.value)
    assert len(billy.requests) == 1


def test_a_missing_invoice_names_its_path(billy: BillyStandIn) -> None:
    with pytest.raises(AccountingError, match=r"GET invoices/inv-nope does not exist \(404\).*was not found"):
        BillyClient(billy.token, base_url=billy.url).invoice("inv-nope")


def test_rate_limits_are_waited_out_as_retry_after_asks(billy: BillyStandIn) -> None:
    waits = Waits()
    billy.fail(429, times=2, retry_after="3")
    billy.fail(503, times=1)
    src = source(billy, sleep=waits, backoff=0.5)
    docs = list(src.documents(START, END))

    assert len(docs) == 400 and len({d.source_id for d in docs}) == 400
    assert waits[:2] == [3.0, 3.0]  # Retry-After: 3 beats the back-off's 0.5 and 1.0
    assert waits[2] == 2.0  # a 503 without Retry-After: the back-off, doubled each time
    assert src.client.api.retries == 3


def test_errors_that_outlast_the_back_off_are_retryable(billy: BillyStandIn) -> None:
    billy.fail(502, times=10)
    src = source(billy, sleep=Waits(), max_attempts=3)
    src.books()
    with pytest.raises(AccountingError) as error:
        list(src.documents(START, END))

    assert error.value.retryable and "answered 502 3 times" in str(error.value)
    assert len(invoice_requests(billy)) == 3


def test_retry_after_as_seconds_or_http_date() -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    assert retry_after("7") == 7.0
    assert 25 < retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT")) <= 30
    assert retry_after("soon") is None and retry_after(None) is None


def test_pages_that_shift_while_read_lose_nothing_and_double_nothing(billy: BillyStandIn) -> None:
    """After page 1 an accountant approves two invoices and voids two: one already read, one on a
    later page. Read naively, page by page, the listing skips and doubles invoices."""
    listing = sorted(billy.approved(START.date(), END.date()), key=lambda i: i["approvedTime"])
    read_early, unread = listing[10], listing[300]
    changed: list[str] = []

    def accountant(server: BillyStandIn, page: int, query: dict) -> None:
        if page == 1 and not changed:
            changed.extend(server.approve_new(dt.date(2026, 3, 3))["id"] for _ in range(2))
            server.void(read_early["id"])
            server.void(unread["id"])

    billy.after_page = accountant
    docs = list(source(billy).documents(START, END))
    ids = [d.source_id for d in docs]

    assert len(ids) == len(set(ids))  # nothing doubled
    now_approved = {i["id"] for i in billy.approved(START.date(), END.date())}
    assert now_approved <= set(ids)  # nothing skipped, the two new ones included
    assert set(changed) <= set(ids) and unread["id"] not in ids
    assert set(ids) - now_approved <= {read_early["id"]}  # voided after it was read: read once

    # The same voiding, read naively (every page once, no id check, no second pass), skips one:
    fresh = BillyStandIn().generate(400)
    early = sorted(fresh.approved(START.date(), END.date()), key=lambda i: i["approvedTime"])[10]
    fresh.after_page = lambda server, page, query: server.void(early["id"]) if page == 1 else None
    fresh.start()
    try:
        client = BillyClient(fresh.token, base_url=fresh.url, page_size=50)
        params = {"state": "approved", "sortProperty": "approvedTime", "sortDirection": "ASC"}
        naive = {r["id"] for page in client.pages("invoices", "invoices", params) for r in page.records}
        still_approved = {i["id"] for i in fresh.approved(START.date(), END.date())}
        assert len(still_approved - naive) == 1  # page 2 moved up by one under the reader
    finally:
        fresh.stop()


def test_a_listing_that_never_settles_fails_retryable(billy: BillyStandIn) -> None:
    billy.after_page = lambda server, page, query: (
        server.approve_new(dt.date(2026, 3, 3)) if page == 1 else None
    )
    with pytest.raises(AccountingError, match="kept changing") as error:
        list(source(billy).documents(START, END))
    assert error.value.retryable


def test_customers_are_the_contacts_that_are_customers(billy: BillyStandIn) -> None:
    customers = list(source(billy).customers())

    assert len(customers) == len(billy.contacts) - 1  # the last contact is a supplier only
    assert all(
        r["query"].get("isCustomer") == ["true"] for r in billy.requests if r["path"] == "/v2/contacts"
    )
    archived = next(c for c in customers if c.id == "contact-001")
    assert archived.archived and archived.number == "1001" and archived.registration_no == "30001117"
    assert next(c for c in customers if c.id == "contact-003").gln == billy.contacts[3]["ean"]


def test_the_token_is_never_in_logs_or_errors(billy: BillyStandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    billy.echo_token = True  # a careless proxy echoing the request's token into its error body
    wrong = "wrong-token-5be1c9d04f2a"
    with pytest.raises(AccountingError) as refused:
        source(billy, token=wrong).organization()
    billy.fail(429, times=2, retry_after="0")
    docs = list(source(billy, sleep=Waits()).documents(START, END))

    assert len(docs) == 400
    assert wrong not in str(refused.value) and "(token ***)" in str(refused.value)
    for record in caplog.records:
        assert billy.token not in record.getMessage() and wrong not in record.getMessage()
    assert "attempt 2 again" in caplog.text  # the retries were logged, without the token


def test_billy_connection_opens_the_source_and_passes_airflows_test(
    billy: BillyStandIn, airflow_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = open_source("billy", "billy")  # AIRFLOW_CONN_BILLY, set by the fixture
    try:
        assert src.organization().name == "Hub Demo ApS"
    finally:
        src.close()
    with pytest.raises(AccountingError, match="not an accounting system the hub reads; known: billy"):
        open_source("dinero", "billy")

    good = airflow_test(billy.connection())  # the UI's "Test connection", through Airflow's CLI
    assert "Connection success!" in good.stdout, good.stdout + good.stderr

    monkeypatch.setenv("AIRFLOW_CONN_BILLY_REVOKED", billy.connection(token="revoked-token-0000"))
    ok, message = BillyHook("billy_revoked").test_connection()
    assert not ok and "refused (401)" in message and "revoked-token-0000" not in message
    assert BillyHook("billy").test_connection() == (
        True,
        "Token accepted by billy for the organisation 'Hub Demo ApS'",
    )


def test_an_unreachable_api_is_retried_then_fails_retryable() -> None:
    from tests.servers.sshd import free_port

    waits = Waits()
    client = BillyClient(
        "some-token-1234", base_url=f"http://127.0.0.1:{free_port()}/v2", max_attempts=3, sleep=waits
    )
    with pytest.raises(
        AccountingError, match="GET organization failed 3 times, last: ConnectionError"
    ) as error:
        client.organization()
    assert error.value.retryable and waits == [1.0, 2.0]


def test_the_connection_names_the_api() -> None:
    from types import SimpleNamespace

    from invoice_hub.hooks.billy import base_url

    def connection(host: str | None, port: int | None = None, schema: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(host=host, port=port, schema=schema)

    assert base_url(connection(None)) == "https://api.billysbilling.com/v2"
    assert base_url(connection("http://127.0.0.1:8080/v2/")) == "http://127.0.0.1:8080/v2"
    assert base_url(connection("billy-proxy.internal", 8443)) == "https://billy-proxy.internal:8443/v2"
