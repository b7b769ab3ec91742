"""The billy accounting system's API v2 as an accounting source (:class:`BillySource`).

Followed: billy's published "Billy API v2 Documentation" (https://www.billy.dk/api/, the same text
as https://www.billyapp.com/api/): the endpoint ``https://api.billysbilling.com/v2``, the
``X-Access-Token`` header, the list conventions (``GET /v2/invoices`` answering ``{"meta": {...,
"paging": {"page", "pageCount", "pageSize", "total", ...}}, "invoices": [...]}``), ``page`` and
``pageSize``, filtering by property (``state=approved``) and by ``minEntryDate``/``maxEntryDate``,
sorting (``sortProperty``, ``sortDirection``), and relationships with ``include``
(``invoice.lines:embed`` puts each invoice's lines inside it, ``invoice.contact:sideload`` puts the
contacts beside the invoices under ``contacts``, each once). Field names are those of its
``invoices``, ``invoiceLines``, ``contacts``, ``organization`` and ``taxRates`` resources
(``invoiceNo``, ``entryDate``, ``approvedTime``, ``currencyId``, ``taxMode``, ``downloadUrl``,
``contactId``, ``registrationNo``, ``ean``, ``isCustomer``, ...), checked against invoice records as
the API returns them.

Reading a listing while the books change
----------------------------------------
Pages are numbered, so a record that enters the listing ahead of the page being read (an invoice
approved meanwhile) pushes the rest down by one (the next page repeats one: a double), and one that
leaves it (an invoice voided meanwhile) pulls them up (the next page starts one later: a skip); an
approval and a voiding together leave ``meta.paging.total`` as it was. So:

1. one response is one snapshot: the interval is read in windows of entry dates
   (``minEntryDate``/``maxEntryDate``) that each fit one page, found by halving the range where a
   one-record probe (``pageSize=1``) counts more than a page; a daily run is one request;
2. a window that still needs several pages (a single day with more invoices than a page, or the
   listing by approval time) is sorted by ``approvedTime``, every record is taken once by its id,
   and the listing is read again until two whole passes saw the same records with one total, at
   most :data:`MAX_PASSES` times, then the run fails retryable rather than risk a skip;
3. windows do not overlap (an approved invoice's entry date does not change), so nothing is taken
   twice across them.

By approval time (``date_field: approved_at``) billy has no filter, so the listing is sorted newest
first and read until a page ends before the interval's start (a daily run: usually one page).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from invoice_hub.accounting import AccountingError, Customer, DateField, SourcedInvoice
from invoice_hub.accounting.billy_mapping import BillyBooks, map_invoice, organization_party, to_customer
from invoice_hub.accounting.http import DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT, ApiSession
from invoice_hub.ledger.invoices import interval_bound
from invoice_hub.model import Party
from invoice_hub.redaction import register_secrets

log = logging.getLogger(__name__)

API_URL = "https://api.billysbilling.com/v2"
#: billy's largest page; fewer requests for the same records.
DEFAULT_PAGE_SIZE = 1000
MAX_PASSES = 5
INCLUDE = "invoice.lines:embed,invoice.contact:sideload"


def describe_billy_error(response: requests.Response) -> str:
    """billy's own words from an error body (``errorMessage``, ``errorCode``), else nothing."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    message = body.get("errorMessage") or (body.get("meta") or {}).get("errorMessage") or ""
    code = body.get("errorCode") or ""
    return f"{message} ({code})" if message and code else str(message or code)


@dataclass(frozen=True)
class Page:
    """One page of a listing: its records, the sideloaded contacts, and ``meta.paging``."""

    records: list[dict[str, Any]]
    contacts: dict[str, dict[str, Any]]
    number: int
    page_count: int
    total: int


class BillyClient:
    """The HTTP side: billy's resources as JSON, every page of a listing (see the module)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = API_URL,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = 1.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not token:
            raise AccountingError(
                "billy: the connection has no access token: put it in the connection's password "
                "(billy: Settings -> Access tokens -> Create access token)",
                retryable=False,
            )
        register_secrets([token])  # masked in the hub's messages and Airflow's logs from now on
        options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.api = ApiSession(
            base_url,
            label="billy",
            auth_headers={"X-Access-Token": token},
            describe_error=describe_billy_error,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff=backoff,
            **options,
        )
        self.page_size = page_size

    def close(self) -> None:
        self.api.close()

    def organization(self) -> dict[str, Any]:
        return _one(self.api.get_json("organization"), "organization", "GET organization")

    def tax_rates(self) -> dict[str, dict[str, Any]]:
        return {rate["id"]: rate for rate in self.listing_records("taxRates", "taxRates", {})}

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return _one(self.api.get_json(f"invoices/{invoice_id}"), "invoice", f"GET invoices/{invoice_id}")

    def page(self, resource: str, key: str, params: Mapping[str, Any], number: int) -> Page:
        body = self.api.get_json(resource, {**params, "page": number, "pageSize": self.page_size})
        paging = (body.get("meta") or {}).get("paging") or {}
        records = body.get(key)
        if not isinstance(records, list):
            raise AccountingError(f"billy: GET {resource} answered without a {key!r} list")
        contacts = {c["id"]: c for c in body.get("contacts") or () if isinstance(c, dict) and "id" in c}
        return Page(
            records=records,
            contacts=contacts,
            number=int(paging.get("page", number)),
            page_count=int(paging.get("pageCount", number)),
            total=int(paging.get("total", len(records))),
        )

    def listing_records(self, resource: str, key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record of a listing that does not change while read (tax rates, contacts)."""
        for page in self.pages(resource, key, params):
            yield from page.records

    def pages(self, resource: str, key: str, params: Mapping[str, Any]) -> Iterator[Page]:
        """Every page of one pass over a listing, as ``meta.paging`` counts them."""
        number = 1
        while True:
            page = self.page(resource, key, params, number)
            yield page
            if number >= page.page_count or not page.records:
                return
            number += 1

    def total(self, resource: str, key: str, params: Mapping[str, Any]) -> int:
        """How many records a listing has now: ``meta.paging.total`` of a one-record page."""
        body = self.api.get_json(resource, {**params, "page": 1, "pageSize": 1})
        return int(((body.get("meta") or {}).get("paging") or {}).get("total", len(body.get(key) or ())))

    def stable_listing(
        self,
        resource: str,
        key: str,
        params: Mapping[str, Any],
        *,
        stop: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Iterator[tuple[dict[str, Any], dict[str, dict[str, Any]]]]:
        """Every record of a listing that may change while read, each once, with the contacts
        sideloaded beside it (the module's "Reading a listing while the books change").
        ``stop(record)`` true ends a pass early (the listing is sorted; the rest is outside the
        interval)."""
        seen: set[str] = set()
        previous: frozenset[str] | None = None
        for attempt in range(1, MAX_PASSES + 1):
            ids: list[str] = []
            totals: set[int] = set()
            pages_read = 0
            for page in self.pages(resource, key, params):
                pages_read += 1
                totals.add(page.total)
                stopped = False
                for record in page.records:
                    if stop is not None and stop(record):
                        stopped = True
                        break
                    ids.append(record["id"])
                    if record["id"] not in seen:
                        seen.add(record["id"])
                        yield record, page.contacts
                if stopped:
                    break
            if pages_read == 1:
                return  # one response is one snapshot of the books: nothing can have shifted
            current = frozenset(ids)
            if len(totals) == 1 and len(ids) == len(current) and current == previous:
                return  # two passes saw the same records, neither changing under the reader
            previous = current
            if attempt > 1:
                log.warning(
                    "billy: %s changed while it was read; reading it again (pass %d)", resource, attempt + 1
                )
        raise AccountingError(
            f"billy: {resource} kept changing while it was read ({MAX_PASSES} passes); "
            "the task's retry reads it again later"
        )

    def download(self, url: str) -> bytes:
        return self.api.get_bytes(url, what=f"GET {pdf_name(url)} (the invoice's PDF)")


def _one(body: Mapping[str, Any], key: str, what: str) -> dict[str, Any]:
    """The record under ``key`` of a single-record answer (``{"organization": {...}}``)."""
    record = body.get(key)
    if not isinstance(record, dict):
        raise AccountingError(
            f"billy: {what} answered without an {key!r} record; is the connection's host billy's API?"
        )
    return record


def pdf_name(url: str) -> str:
    """The file name at the end of a download URL (``invoice-no-16147.pdf``)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "invoice.pdf"


def _time(text: str | None) -> dt.datetime | None:
    """billy's times (``2023-07-05T10:26:10``, UTC) as aware datetimes."""
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class BillySource:
    """billy as an :class:`~invoice_hub.accounting.AccountingSource`."""

    name = "billy"

    def __init__(self, client: BillyClient) -> None:
        self.client = client
        self._books: BillyBooks | None = None

    def close(self) -> None:
        self.client.close()

    def books(self) -> BillyBooks:
        """The organisation and tax rates, read once per source: every invoice needs them."""
        if self._books is None:
            self._books = BillyBooks(
                organization=self.client.organization(),
                tax_rates=self.client.tax_rates(),
                invoice_numbers={},
            )
        return self._books

    def organization(self) -> Party:
        return organization_party(self.books().organization)

    def customers(self) -> Iterator[Customer]:
        for contact, _ in self.client.stable_listing("contacts", "contacts", {"isCustomer": "true"}):
            if contact.get("isCustomer", True):
                yield to_customer(contact)

    def documents(
        self,
        start: dt.datetime,
        end: dt.datetime,
        date_field: DateField = "issue_date",
        *,
        customer_id: str | None = None,
    ) -> Iterator[SourcedInvoice]:
        books = self.books()
        start, end = _aware(start), _aware(end)
        params: dict[str, Any] = {"state": "approved", "include": INCLUDE, "sortProperty": "approvedTime"}
        if customer_id:
            params["contactId"] = customer_id
        stop = None
        first = last = dt.date.min
        if date_field == "issue_date":
            # A date belongs to the interval that holds its midnight (UTC), as in the ledger: every
            # entry date falls in exactly one of a row of intervals, hourly ones included.
            first, after = interval_bound("issue_date", start), interval_bound("issue_date", end)
            if after <= first:
                return
            last = after - dt.timedelta(days=1)
            params["sortDirection"] = "ASC"

            def wanted(record: dict[str, Any]) -> bool:
                return (
                    bool(record.get("entryDate"))
                    and first.isoformat() <= record["entryDate"] <= last.isoformat()
                )
        elif date_field == "approved_at":
            params["sortDirection"] = "DESC"

            def stop(record: dict[str, Any]) -> bool:
                approved = _time(record.get("approvedTime"))
                return approved is not None and approved < start

            def wanted(record: dict[str, Any]) -> bool:
                approved = _time(record.get("approvedTime"))
                return approved is not None and start <= approved < end
        else:
            raise AccountingError(
                f"billy: date_field {date_field!r} is not one of issue_date, approved_at", retryable=False
            )
        windows = [params] if date_field == "approved_at" else self._entry_windows(params, first, last)
        for window in windows:
            for record, contacts in self.client.stable_listing("invoices", "invoices", window, stop=stop):
                # a server filtering loosely changes nothing: the interval is the hub's promise
                if wanted(record):
                    yield self._sourced(record, contacts, books)

    def _entry_windows(
        self, params: dict[str, Any], first: dt.date, last: dt.date
    ) -> Iterator[dict[str, Any]]:
        """The listing's parameters for windows of entry dates, oldest first, each small enough for
        one page where a day is (one response: one snapshot, nothing shifts), found by halving the
        range where a one-record probe counts more than a page. A single day is read as it is."""
        pending = [(first, last)]
        while pending:
            low, high = pending.pop()
            window = {**params, "minEntryDate": low.isoformat(), "maxEntryDate": high.isoformat()}
            if low < high and self.client.total("invoices", "invoices", window) > self.client.page_size:
                middle = low + (high - low) // 2
                pending += [(middle + dt.timedelta(days=1), high), (low, middle)]
                continue
            yield window

    def numbered(self, numbers: Iterable[str]) -> Iterator[SourcedInvoice]:
        """The approved invoices and credit notes with these invoice numbers (a manual export by
        invoice), each looked up with billy's property filter ``invoiceNo``. Should an answer hold
        other numbers (the filter not applied), the approved invoices are read whole instead. A
        number billy does not know is an error naming it: a person asked for it, and silence would
        hide a typo."""
        books = self.books()
        wanted = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))
        found: dict[str, list[tuple[dict[str, Any], Mapping[str, dict[str, Any]]]]] = {}
        unfiltered = False
        for number in wanted:
            params = {"state": "approved", "invoiceNo": number, "include": INCLUDE}
            page = self.client.page("invoices", "invoices", params, 1)
            for record in page.records:
                if str(record.get("invoiceNo")) == number:
                    found.setdefault(number, []).append((record, page.contacts))
                else:
                    unfiltered = True
            if unfiltered:
                break
        if unfiltered:
            log.warning("billy: the invoiceNo filter was not applied; reading every approved invoice instead")
            found = {}
            params = {
                "state": "approved",
                "include": INCLUDE,
                "sortProperty": "approvedTime",
                "sortDirection": "ASC",
            }
            for record, listed in self.client.stable_listing("invoices", "invoices", params):
                if str(record.get("invoiceNo")) in wanted:
                    found.setdefault(str(record.get("invoiceNo")), []).append((record, listed))
        missing = [n for n in wanted if n not in found]
        if missing:
            raise AccountingError(
                f"billy has no approved invoice or credit note numbered {', '.join(map(repr, missing))}; check "
                "the numbers (drafts and voided invoices are not exported)",
                retryable=False,
            )
        for number in wanted:
            for record, contacts in found[number]:
                yield self._sourced(record, contacts, books)

    def _sourced(
        self,
        record: dict[str, Any],
        contacts: Mapping[str, dict[str, Any]],
        books: BillyBooks,
    ) -> SourcedInvoice:
        contact = contacts.get(record.get("contactId") or "")
        credited = record.get("creditedInvoiceId")
        if credited and credited not in books.invoice_numbers:
            books.invoice_numbers[credited] = str(self.client.invoice(credited).get("invoiceNo") or credited)
        books.invoice_numbers[record["id"]] = str(record.get("invoiceNo") or record["id"])
        invoice, findings = map_invoice(record, contact, books)
        url = record.get("downloadUrl")
        return SourcedInvoice(
            source=self.name,
            source_id=record["id"],
            number=str(record.get("invoiceNo") or record["id"]),
            customer_id=record.get("contactId"),
            document_type="credit_note" if record.get("type") == "creditNote" else "invoice",
            issue_date=dt.date.fromisoformat(record["entryDate"]) if record.get("entryDate") else None,
            approved_at=_time(record.get("approvedTime")),
            invoice=invoice,
            findings=tuple(findings),
            fetch_pdf=(lambda: self.client.download(url)) if url else None,
            pdf_name=pdf_name(url) if url else None,
        )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
