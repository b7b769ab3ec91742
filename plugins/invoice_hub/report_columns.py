"""The columns an open accounts-receivable report may have, and the headers each is recognised by.

Kept apart from the reader (which needs pandas) because ``transform.csv.columns`` in integration
files is checked against them while Airflow parses DAGs."""

from __future__ import annotations

import re

#: Canonical column -> the headers accepted for it, compared after :func:`normalise_header`: English,
#: and German for the DACH ERPs' exports. Each alias belongs to one column only, so a header is never
#: read two ways.
COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "invoice number", "invoice no", "invoice nr", "invoice num", "invoice ref", "invoice reference",
        "invoice", "invoice id", "invoice code", "document number", "document no", "document ref",
        "document reference", "doc number", "doc no", "reference", "ref",
        "rechnungsnummer", "rechnungsnr", "rechnung nr", "belegnummer", "belegnr",
    ),
    "customer_id": (
        "customer id", "customer number", "customer no", "customer nr", "customer ref", "customer reference",
        "customer code", "customer account", "account number", "account no", "account id", "account code",
        "account ref", "debtor id", "debtor number", "debtor no", "debtor code", "client id", "client number",
        "client no", "client code", "kundennummer", "kundennr", "debitorennummer", "debitorennr",
        "debitor nr",
    ),
    "customer_name": (
        "customer name", "customer", "company name", "company", "client name", "client", "debtor name",
        "debtor", "account name", "bill to", "bill to name", "kunde", "kundenname", "firma",
    ),
    "customer_email": (
        "customer email", "customer e mail", "email", "e mail", "email address", "e mail address",
        "contact email", "billing email", "client email", "debtor email", "account email", "e mail adresse",
    ),
    "issue_date": (
        "issue date", "invoice date", "date", "document date", "date issued", "issued", "issued on",
        "issued date", "invoice issue date", "rechnungsdatum", "belegdatum", "datum",
    ),
    "due_date": (
        "due date", "payment due date", "date due", "due", "due on", "invoice due date", "fälligkeit",
        "fälligkeitsdatum", "fällig am", "faelligkeit", "faelligkeitsdatum", "faellig am",
    ),
    "currency": (
        "currency", "currency code", "ccy", "cur", "curr", "invoice currency", "währung", "waehrung",
    ),
    "amount": (
        "amount", "total", "invoice amount", "total amount", "gross amount", "original amount",
        "invoice total", "amount total", "document amount", "betrag", "rechnungsbetrag", "bruttobetrag",
        "gesamtbetrag",
    ),
    "open_amount": (
        "open amount", "outstanding", "outstanding amount", "amount due", "balance", "amount outstanding",
        "open balance", "remaining amount", "amount remaining", "balance due", "amount open",
        "outstanding balance", "unpaid amount", "due amount", "offener betrag", "offen", "restbetrag",
        "saldo", "offener saldo",
    ),
    "order_reference": (
        "order reference", "order number", "order no", "order ref", "order id", "po number", "po no",
        "po", "po reference", "purchase order", "purchase order number", "customer po", "bestellnummer",
        "bestellnr", "auftragsnummer", "auftragsnr",
    ),
}  # fmt: skip

#: The headers the writer uses, in its column order (Kolleno-style names the reader recognises).
HEADERS: dict[str, str] = {
    "invoice_number": "Invoice Number",
    "customer_id": "Customer ID",
    "customer_name": "Customer Name",
    "customer_email": "Customer Email",
    "issue_date": "Issue Date",
    "due_date": "Due Date",
    "currency": "Currency",
    "amount": "Amount",
    "open_amount": "Open Amount",
    "order_reference": "Order Reference",
}


def normalise_header(header: str) -> str:
    """``Invoice No.`` -> ``invoice no``: headers differ in case, spacing and punctuation, not meaning."""
    return re.sub(r"[\W_]+", " ", header.casefold()).strip()


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for column, aliases in COLUMNS.items():
        for alias in (column, *aliases):
            key = normalise_header(alias)
            if index.setdefault(key, column) != column:
                raise ValueError(f"the header alias {alias!r} is listed for {index[key]} and {column}")
    return index


_ALIASES = _alias_index()


def canonical_column(header: str) -> str | None:
    """The canonical column a header is read as without ``columns:`` (None: kept as a custom field)."""
    return _ALIASES.get(normalise_header(header))
