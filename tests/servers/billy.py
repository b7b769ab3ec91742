"""A stand-in for billy's API v2 (billy is a SaaS that cannot run here), a real HTTP server on
127.0.0.1 following billy's published documentation (https://www.billy.dk/api/):

- the paths ``/v2/organization``, ``/v2/taxRates``, ``/v2/contacts``, ``/v2/invoices``,
  ``/v2/invoices/:id`` and the signed ``downloadUrl`` of each invoice's PDF;
- the ``X-Access-Token`` header (401 with billy's error body without it or with another token);
- list responses ``{"meta": {"statusCode", "success", "paging": {"page", "pageCount", "pageSize",
  "total", "firstUrl", "previousUrl", "nextUrl", "lastUrl"}}, "<resources>": [...]}`` with ``page``
  and ``pageSize`` (at most 1000), filters by property (``state``, ``isCustomer``, ``contactId``) and
  ``minEntryDate``/``maxEntryDate``, ``sortProperty``/``sortDirection`` (default: creation order);
- ``include=invoice.lines:embed`` (lines inside each invoice) or ``:sideload`` (``invoiceLines``
  beside, ``lineIds`` inside), ``invoice.contact:sideload`` (``contacts`` beside, each once) or
  ``:embed`` (``contact`` inside);
- error bodies ``{"meta": {"statusCode": N, "success": false}, "errorCode": ..., "errorMessage": ...}``.

Faults a test injects: :meth:`BillyStandIn.fail` (the next N requests of a path answer a status,
429 with ``Retry-After`` included), and :attr:`BillyStandIn.after_page` (called after each page of
``/v2/invoices`` is served: a test approves or voids invoices there, shifting the pages).

Data: :meth:`BillyStandIn.generate` books several hundred invoices and credit notes over some
days for a few dozen customers, with VAT, discounts, EAN/GLN and CVR numbers, consistent totals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.servers.sshd import free_port

CENT = Decimal("0.01")
MAX_PAGE_SIZE = 1000
ORGANIZATION_ID = "org-hub-demo"


class _DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)  # billy's JSON numbers; the client reads them back as Decimal
        return super().default(o)


def _dumps(body: Any) -> bytes:
    # Decimals as JSON numbers with their exact digits (json would otherwise print floats).
    text = json.dumps(body, cls=_DecimalEncoder)
    return text.encode()


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def gln(first12: str) -> str:
    """A GLN (GS1 location number): 12 digits and their GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def pdf_bytes(invoice: dict[str, Any]) -> bytes:
    """A small, valid-looking PDF that says which invoice it renders (tests compare it)."""
    text = f"billy invoice {invoice['invoiceNo']} {invoice['id']}"
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n% "
        + text.encode()
        + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


@dataclass
class Fault:
    status: int
    times: int
    path: str
    retry_after: str | None = None


@dataclass
class BillyStandIn:
    token: str = "billy-access-token-7f3a9c2e51d84b06"
    port: int = field(default_factory=free_port)
    organization: dict[str, Any] = field(default_factory=dict)
    tax_rates: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    #: Every request: method, path, query (dict of lists), headers.
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    #: Called as ``after_page(server, page_number, query)`` after a page of /v2/invoices is served.
    after_page: Callable[[BillyStandIn, int, dict[str, list[str]]], None] | None = None
    #: Property filters this stand-in leaves unapplied (to test a client that must not trust one).
    ignored_filters: set[str] = field(default_factory=set)
    #: An error body that echoes the request's token (as a careless proxy would): for redaction tests.
    echo_token: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- data ---------------------------------------------------------------------------------

    def generate(
        self,
        count: int = 400,
        *,
        start: dt.date = dt.date(2026, 3, 2),
        days: int = 5,
        seed: int = 16,
        customers: int = 30,
    ) -> BillyStandIn:
        """Book ``count`` approved invoices (every 10th a credit note of an earlier one) over ``days``
        days from ``start``, for ``customers`` customers, plus a few drafts that must never be read."""
        rng = random.Random(seed)
        self.organization = {
            "id": ORGANIZATION_ID,
            "name": "Hub Demo ApS",
            "street": "Vesterbrogade 12",
            "zipcode": "1620",
            "city": "København V",
            "countryId": "DK",
            "registrationNo": "12345674",
            "email": "faktura@hubdemo.dk",
            "phone": "+45 33 12 34 56",
            "baseCurrencyId": "DKK",
        }
        self.tax_rates = [
            {
                "id": "tax-25",
                "name": "Salgsmoms 25%",
                "abbreviation": "S25",
                "rate": Decimal("0.25"),
                "appliesToSales": True,
                "isActive": True,
            },
            {
                "id": "tax-0",
                "name": "Momsfrit salg",
                "abbreviation": "S0",
                "rate": Decimal("0"),
                "appliesToSales": True,
                "isActive": True,
            },
        ]
        self.contacts = []
        for n in range(customers):
            danish = n % 5 != 4
            self.contacts.append(
                {
                    "id": f"contact-{n:03d}",
                    "organizationId": ORGANIZATION_ID,
                    "type": "company" if n % 7 else "person",
                    "name": f"Kunde {n:03d} A/S" if n % 7 else f"Person {n:03d}",
                    "contactNo": str(1000 + n),
                    "street": f"Nørregade {n + 1}",
                    "zipcodeText": "8000" if danish else "11122",
                    "cityText": "Aarhus C" if danish else "Stockholm",
                    "stateText": None,
                    "countryId": "DK" if danish else "SE",
                    "registrationNo": (f"{30000000 + n * 1117:08d}" if danish else f"SE55660{n:03d}0101")
                    if n % 7
                    else None,
                    "ean": gln(f"579800000{n:03d}") if n % 3 == 0 else None,
                    "phone": None,
                    "isCustomer": n != customers - 1,  # the last is a supplier only
                    "isSupplier": n == customers - 1,
                    "isArchived": n == 1,
                    "currencyId": "DKK" if danish else "SEK",
                    "createdTime": "2025-01-01T09:00:00",
                }
            )
        buyers = [c for c in self.contacts if c["isCustomer"]]
        self.invoices = []
        for i in range(count):
            day = start + dt.timedelta(days=i * days // max(count, 1))
            contact = buyers[rng.randrange(len(buyers))]
            credit = i % 10 == 9 and any(inv["type"] == "invoice" for inv in self.invoices)
            credited = (
                next(inv for inv in reversed(self.invoices) if inv["type"] == "invoice") if credit else None
            )
            # approved within the day, some a few days later than their entry date (booked late)
            approved = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(
                minutes=i, days=2 if i % 13 == 0 else 0
            )
            self.book(
                contact=(credited and self.contact(credited["contactId"])) or contact,
                entry_date=day,
                approved_time=approved,
                lines=self._random_lines(rng),
                credited=credited,
            )
        for j in range(3):  # drafts: never in a listing of approved invoices
            self.book(
                contact=buyers[j],
                entry_date=start,
                approved_time=None,
                lines=self._random_lines(rng),
                state="draft",
            )
        return self

    def _random_lines(self, rng: random.Random) -> list[dict[str, Any]]:
        lines = []
        for k in range(rng.randint(1, 4)):
            quantity = Decimal(rng.randint(1, 20))
            unit_price = Decimal(rng.randint(100, 500000)) / 100
            discount = rng.random() < 0.2
            lines.append(
                {
                    "description": f"Ydelse {k + 1}" + ("\nmed beskrivelse" if k == 2 else ""),
                    "quantity": quantity,
                    "unitPrice": unit_price,
                    "unit": rng.choice(["pieces", "hours", "days"]),
                    "taxRateId": "tax-0" if rng.random() < 0.1 else "tax-25",
                    "discountMode": "percent" if discount else None,
                    "discountValue": Decimal(10) if discount else None,
                    "discountText": "Rabat 10%" if discount else None,
                }
            )
        return lines

    def book(
        self,
        *,
        contact: dict[str, Any],
        entry_date: dt.date,
        approved_time: dt.datetime | None,
        lines: list[dict[str, Any]],
        credited: dict[str, Any] | None = None,
        state: str = "approved",
        currency: str | None = None,
    ) -> dict[str, Any]:
        """Book one invoice (or credit note of ``credited``): billy computes line amounts, VAT and
        totals as it does (per line, rounded to the cent; ``taxMode: excl``)."""
        with self.lock:
            number = len(self.invoices) + 1
            invoice_id = f"inv-{number:06d}"
            rates = {r["id"]: r["rate"] for r in self.tax_rates}
            booked_lines = []
            for priority, line in enumerate(lines):
                gross = line["quantity"] * line["unitPrice"]
                off = (
                    gross * line["discountValue"] / 100
                    if line.get("discountMode") == "percent"
                    else Decimal(0)
                )
                amount = _money(gross - off)
                booked_lines.append(
                    {
                        "id": f"{invoice_id}-line-{priority}",
                        "invoiceId": invoice_id,
                        "productId": None,
                        "priority": priority,
                        **line,
                        "amount": amount,
                        "tax": _money(amount * rates.get(line.get("taxRateId"), Decimal(0))),
                    }
                )
            net = sum((line["amount"] for line in booked_lines), Decimal(0))
            # billy's invoice VAT is the VAT of each rate's sum, so it matches the breakdown
            by_rate: dict[str, Decimal] = {}
            for line in booked_lines:
                by_rate[line.get("taxRateId")] = (
                    by_rate.get(line.get("taxRateId"), Decimal(0)) + line["amount"]
                )
            tax = sum(
                (_money(amount * rates.get(rate, Decimal(0))) for rate, amount in by_rate.items()), Decimal(0)
            )
            invoice = {
                "id": invoice_id,
                "organizationId": ORGANIZATION_ID,
                "type": "creditNote" if credited else "invoice",
                "createdTime": f"{entry_date.isoformat()}T07:00:00",
                "approvedTime": approved_time.isoformat(timespec="seconds") if approved_time else None,
                "contactId": contact["id"],
                "attContactPersonId": None,
                "entryDate": entry_date.isoformat(),
                "paymentTermsMode": "net",
                "paymentTermsDays": 8,
                "dueDate": (entry_date + dt.timedelta(days=8)).isoformat(),
                "state": state,
                "sentState": "unsent",
                "invoiceNo": str(10000 + number) if state == "approved" else None,
                "taxMode": "excl",
                "amount": net,
                "tax": tax,
                "grossAmount": net + tax,
                "currencyId": currency or contact.get("currencyId") or "DKK",
                "exchangeRate": 1,
                "balance": net + tax,
                "isPaid": False,
                "creditedInvoiceId": credited["id"] if credited else None,
                "contactMessage": f"Tak for handlen, {contact['name']}",
                "lineDescription": booked_lines[0]["description"] if booked_lines else "",
                "downloadUrl": None,
                "lines": booked_lines,
            }
            invoice["downloadUrl"] = (
                f"{self.url}/downloads/invoices/{invoice_id}/{ORGANIZATION_ID}/"
                f"{hashlib.sha256((invoice_id + self.token).encode()).hexdigest()[:40]}/invoice-no-{invoice['invoiceNo']}.pdf"
            )
            self.invoices.append(invoice)
            return invoice

    def approve_new(self, entry_date: dt.date, contact: dict[str, Any] | None = None) -> dict[str, Any]:
        """An invoice approved now (later than every other): what an accountant does mid-listing."""
        with self.lock:
            latest = max(
                dt.datetime.fromisoformat(i["approvedTime"]) for i in self.invoices if i["approvedTime"]
            )
            lines = [
                {
                    "description": "Ny ydelse",
                    "quantity": Decimal(1),
                    "unitPrice": Decimal("100.00"),
                    "unit": "pieces",
                    "taxRateId": "tax-25",
                }
            ]
            buyer = contact or next(c for c in self.contacts if c["isCustomer"])
            return self.book(
                contact=buyer,
                entry_date=entry_date,
                approved_time=latest + dt.timedelta(seconds=1),
                lines=lines,
            )

    def void(self, invoice_id: str) -> None:
        with self.lock:
            self.invoice_by_id(invoice_id)["state"] = "voided"

    def contact(self, contact_id: str) -> dict[str, Any]:
        return next(c for c in self.contacts if c["id"] == contact_id)

    def invoice_by_id(self, invoice_id: str) -> dict[str, Any]:
        return next(i for i in self.invoices if i["id"] == invoice_id)

    def approved(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """The approved invoices with entry dates in [start, end]: what a reader must return."""
        return [
            i
            for i in self.invoices
            if i["state"] == "approved" and start.isoformat() <= i["entryDate"] <= end.isoformat()
        ]

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self, status: int, *, times: int = 1, path: str = "/v2/invoices", retry_after: str | None = None
    ) -> None:
        """The next ``times`` requests whose path starts with ``path`` answer ``status``."""
        with self.lock:
            self.faults.append(Fault(status, times, path, retry_after))

    def _fault_for(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and path.startswith(fault.path):
                    fault.times -= 1
                    return fault
        return None

    # --- server -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"

    def connection(self, token: str | None = None, **extra: object) -> str:
        """The Airflow connection (JSON) of type ``billy`` pointing at this stand-in."""
        return json.dumps(
            {
                "conn_type": "billy",
                "host": self.url,
                "password": self.token if token is None else token,
                "extra": {"timeout": 10, "backoff": 0.01, **extra},
            }
        )

    def start(self) -> BillyStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one write per response, sent at once: with keep-alive, headers and body written apart
            # meet Nagle's algorithm and the client's delayed ACK (40 ms a request)
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                stand_in._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _error(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = {"meta": {"statusCode": status, "success": False}, "errorCode": code, "errorMessage": message}
        self._send(handler, status, _dumps(body), "application/json; charset=utf-8", headers)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        path = parts.path
        with self.lock:
            self.requests.append(
                {"method": "GET", "path": path, "query": query, "headers": dict(handler.headers)}
            )
        fault = self._fault_for(path)
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            self._error(
                handler,
                fault.status,
                "TOO_MANY_REQUESTS" if fault.status == 429 else "SERVER_ERROR",
                f"injected {fault.status}",
                extra,
            )
            return
        if path.startswith("/v2/downloads/invoices/"):  # signed URL: no token needed, as billy's
            invoice_id = path.split("/")[4]
            try:
                invoice = self.invoice_by_id(invoice_id)
            except StopIteration:
                self._error(handler, 404, "NOT_FOUND", "No such file")
                return
            self._send(handler, 200, pdf_bytes(invoice), "application/pdf")
            return
        given = handler.headers.get("X-Access-Token")
        if given != self.token:
            echoed = f" (token {given})" if self.echo_token and given else ""
            self._error(
                handler,
                401,
                "AUTHENTICATION_FAILED",
                f"You must be logged in to access this resource{echoed}",
            )
            return
        try:
            body = self._route(path, query)
        except LookupError as exc:
            self._error(handler, 404, "NOT_FOUND", str(exc))
            return
        self._send(handler, 200, _dumps(body), "application/json; charset=utf-8")
        if path == "/v2/invoices" and self.after_page is not None:
            self.after_page(self, int(query.get("page", ["1"])[0]), query)

    def _route(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            if path == "/v2/organization":
                return {"meta": {"statusCode": 200, "success": True}, "organization": dict(self.organization)}
            if path == "/v2/taxRates":
                return self._list("taxRates", list(self.tax_rates), query, path)
            if path == "/v2/contacts":
                return self._list("contacts", self._filtered(self.contacts, query), query, path)
            if path == "/v2/invoices":
                return self._invoices(query, path)
            if path.startswith("/v2/invoices/"):
                invoice_id = path.rsplit("/", 1)[1]
                try:
                    invoice = self.invoice_by_id(invoice_id)
                except StopIteration:
                    raise LookupError(f"Invoice {invoice_id} was not found") from None
                record, _ = self._shaped(invoice, self._includes(query))
                return {"meta": {"statusCode": 200, "success": True}, "invoice": record}
        raise LookupError(f"Unknown route GET {path}")

    @staticmethod
    def _filtered(records: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
        reserved = {
            "page",
            "pageSize",
            "include",
            "sortProperty",
            "sortDirection",
            "minEntryDate",
            "maxEntryDate",
        }
        out = records
        for name, values in query.items():
            if name in reserved:
                continue
            wanted = values[0]
            out = [r for r in out if str(r.get(name)).lower() == wanted.lower()]
        return out

    @staticmethod
    def _includes(query: dict[str, list[str]]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in ",".join(query.get("include", [])).split(","):
            relation, _, mode = part.strip().partition(":")
            if relation:
                found[relation] = mode or "sideload"
        return found

    def _shaped(
        self, invoice: dict[str, Any], includes: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, list]]:
        record = {k: v for k, v in invoice.items() if k != "lines"}
        beside: dict[str, list] = {}
        lines_mode = includes.get("invoice.lines")
        if lines_mode == "embed":
            record["lines"] = [dict(line) for line in invoice["lines"]]
        elif lines_mode == "sideload":
            record["lineIds"] = [line["id"] for line in invoice["lines"]]
            beside["invoiceLines"] = [dict(line) for line in invoice["lines"]]
        contact_mode = includes.get("invoice.contact")
        if contact_mode == "embed":
            record["contact"] = dict(self.contact(invoice["contactId"]))
        elif contact_mode == "sideload":
            beside["contacts"] = [dict(self.contact(invoice["contactId"]))]
        return record, beside

    def _invoices(self, query: dict[str, list[str]], path: str) -> dict[str, Any]:
        records = self._filtered(self.invoices, query)
        low, high = query.get("minEntryDate", [None])[0], query.get("maxEntryDate", [None])[0]
        records = [
            r for r in records if (not low or r["entryDate"] >= low) and (not high or r["entryDate"] <= high)
        ]
        includes = self._includes(query)
        body = self._list("invoices", records, query, path, shape=lambda r: self._shaped(r, includes))
        return body

    def _list(
        self,
        key: str,
        records: list[dict[str, Any]],
        query: dict[str, list[str]],
        path: str,
        shape: Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, list]]] | None = None,
    ) -> dict[str, Any]:
        prop = query.get("sortProperty", [None])[0]
        if prop:
            records = sorted(records, key=lambda r: (r.get(prop) is None, r.get(prop) or ""))
            if query.get("sortDirection", ["ASC"])[0].upper() == "DESC":
                records = list(reversed(records))
        size = min(MAX_PAGE_SIZE, max(1, int(query.get("pageSize", [MAX_PAGE_SIZE])[0])))
        page = max(1, int(query.get("page", ["1"])[0]))
        total = len(records)
        page_count = max(1, -(-total // size))
        chosen = records[(page - 1) * size : page * size]
        beside: dict[str, dict[str, dict]] = {}
        out = []
        for record in chosen:
            if shape is None:
                out.append(dict(record))
                continue
            shaped, extra = shape(record)
            out.append(shaped)
            for name, items in extra.items():
                for item in items:
                    beside.setdefault(name, {})[item["id"]] = item  # sideloaded records, each once

        def link(number: int) -> str | None:
            if number < 1 or number > page_count:
                return None
            params = {k: v[0] for k, v in query.items()} | {"page": number, "pageSize": size}
            return f"{self.url}{path[3:]}?{urlencode(params)}"

        paging = {
            "page": page,
            "pageCount": page_count,
            "pageSize": size,
            "total": total,
            "firstUrl": link(1),
            "previousUrl": link(page - 1),
            "nextUrl": link(page + 1),
            "lastUrl": link(page_count),
        }
        body: dict[str, Any] = {"meta": {"statusCode": 200, "success": True, "paging": paging}, key: out}
        for name, items in beside.items():
            body[name] = list(items.values())
        return body
