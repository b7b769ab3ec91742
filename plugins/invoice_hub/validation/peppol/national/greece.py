"""PEPPOL BIS 3 national rules for Greece (GR-R-*, and the warnings GR-S-*).

Greek invoices carry what the tax authority's myDATA platform needs: an invoice number of six
``|``-separated segments (the issuer's tax number, the issue date, the branch, the Greek document
type, the series, the number), the MARK number myDATA assigned, and tax numbers (TIN, checked with
their check digit) as VAT numbers and PEPPOL addresses.

Which rules apply follows the schematron's variables: ``$isGreekSender`` (``$supplierCountry`` is GR
or EL: the seller's VAT prefix, else its tax representative's, else its address), the buyer's country
for the buyer rules, and ``$accountingSupplierCountry`` (the seller's own, no representative) for its
PEPPOL address. The MARK rules also need a seller address in Greece.
"""

from __future__ import annotations

import math
import re

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, norm, text
from invoice_hub.validation.en16931.registry import checks, define
from invoice_hub.validation.peppol.identifiers import tin_verification, xs_number
from invoice_hub.validation.peppol.national import (
    accounting_supplier_country,
    customer_country,
    parties,
    supplier_country,
    vat_schemes,
)

define("GR-R-001-1", "fatal", "When the Supplier is Greek, the Invoice Id should consist of 6 segments")
define(
    "GR-R-001-2",
    "fatal",
    "When the Supplier is Greek, the Invoice Id first segment must be a valid TIN Number and match either the Supplier's or the Tax Representative's Tin Number",
)
define(
    "GR-R-001-3",
    "fatal",
    "When the Supplier is Greek, the Invoice Id second segment must be a valid Date that matches the invoice Issue Date",
)
define(
    "GR-R-001-4", "fatal", "When Supplier is Greek, the Invoice Id third segment must be a positive integer"
)
define(
    "GR-R-001-5",
    "fatal",
    "When Supplier is Greek, the Invoice Id in the fourth segment must be a valid greek document type",
)
define("GR-R-001-6", "fatal", "When Supplier is Greek, the Invoice Id fifth segment must not be empty")
define("GR-R-001-7", "fatal", "When Supplier is Greek, the Invoice Id sixth segment must not be empty")
define(
    "GR-R-002",
    "fatal",
    "Greek Suppliers must provide their full name as they are registered in the Greek Business Registry (G.E.MH.) as a legal entity or in the Tax Registry as a natural person",
)
define(
    "GR-S-011",
    "warning",
    "Greek suppliers must provide their Seller Tax Registration Number, prefixed by the country code",
)
define(
    "GR-R-003",
    "fatal",
    "For the Greek Suppliers, the VAT must start with 'EL' and must be a valid TIN number",
)
define("GR-R-004-1", "fatal", "When Supplier is Greek, there must be one MARK Number")
define("GR-S-008-1", "warning", "When Supplier is Greek, there should be one invoice url")
define("GR-R-008-2", "fatal", "When Supplier is Greek, there should be no more than one invoice url")
define("GR-R-004-2", "fatal", "When Supplier is Greek, the MARK Number must be a positive integer")
define(
    "GR-R-008-3",
    "fatal",
    "When Supplier is Greek and the INVOICE URL Document reference exists, the External Reference URI should be present",
)
define("GR-R-005", "fatal", "Greek Suppliers must provide the full name of the buyer")
define(
    "GR-R-009",
    "fatal",
    "Greek suppliers that send an invoice through the PEPPOL network must use a correct TIN number as an electronic address according to PEPPOL Electronic Address Identifier scheme (schemeID 9933).",
)
define(
    "GR-R-006",
    "fatal",
    "Greek Suppliers must provide the VAT number of the buyer, if the buyer is Greek",
)
define(
    "GR-R-010",
    "fatal",
    "Greek Suppliers that send an invoice through the PEPPOL network to a greek buyer must use a correct TIN number as an electronic address according to PEPPOL Electronic Address Identifier scheme (SchemeID 9933)",
)

_GREEK = frozenset({"GR", "EL"})
#: ``$dateRegExp``: day, month, year with an optional separator; anchored at the start only, as there.
_DATE = re.compile(r"^(0?[1-9]|[12][0-9]|3[01])[-\\/ ]?(0?[1-9]|1[0-2])[-\\/ ]?(19|20)[0-9]{2}")
#: ``$greekDocumentType``: the myDATA document types a PEPPOL invoice or credit note may be.
_DOCUMENT_TYPES = frozenset({"1.1", "1.6", "2.1", "2.4", "5.1", "5.2"})
#: ``castable as xs:integer`` (the schematron's ``xs:integer(…)`` cast stops with an error otherwise).
_INTEGER = re.compile(r"[ \t\n\r]*[+-]?[0-9]+[ \t\n\r]*")
_MARK, _INVOICE_URL = "##M.AR.K##", "##INVOICE|URL##"
_TIN_SCHEME = "9933"


def _tokenize(value: str | None, separator: str) -> list[str]:
    """XPath ``tokenize`` on a literal separator: nothing of an empty string, empty tokens kept."""
    return value.split(separator) if value else []


def _segment(segments: list[str], position: int) -> str | None:
    """``$segments[position]`` (1-based): None (the empty sequence) past the end."""
    return segments[position - 1] if position <= len(segments) else None


def _tin_matches(doc: Doc, tin: str) -> bool:
    """``tin`` is characters 3-11 of the seller's or its tax representative's VAT number."""
    for party in ("cac:AccountingSupplierParty/cac:Party", "cac:TaxRepresentativeParty"):
        for element in every(doc.root, party):
            if any((text(scheme, "cbc:CompanyID") or "")[2:11] == tin for scheme in vat_schemes(element)):
                return True
    return False


def _date_matches(segment: str, issue_date: str | None) -> bool:
    """GR-R-001-3: the segment is a day/month/year date, and is the issue date (YYYY-MM-DD) reversed."""
    if not norm(segment) or not _DATE.match(segment):
        return False
    day_month_year, year_month_day = _tokenize(segment, "/"), _tokenize(issue_date, "-")
    return (
        len(day_month_year) >= 3 and len(year_month_day) >= 3 and day_month_year[:3] == year_month_day[2::-1]
    )


def _non_negative_integer(segment: str | None) -> bool:
    if not norm(segment) or math.isnan(xs_number(segment or "")):
        return False
    return _INTEGER.fullmatch(segment or "") is not None and int(segment or "") >= 0


def _check_invoice_number(doc: Doc, number: etree._Element) -> None:
    """GR-R-001-*: the six segments of the invoice number (BT-1)."""
    segments = _tokenize(number.text, "|")
    tin, date, branch, kind, series, sequence = (_segment(segments, i) for i in range(1, 7))
    doc.fail_unless(len(segments) == 6, "GR-R-001-1", number)
    tin_ok = tin is not None and len(norm(tin)) == 9 and tin_verification(tin) and _tin_matches(doc, tin)
    doc.fail_unless(tin_ok, "GR-R-001-2", number)
    doc.fail_unless(
        date is not None and _date_matches(date, text(doc.root, "cbc:IssueDate")), "GR-R-001-3", number
    )
    doc.fail_unless(_non_negative_integer(branch), "GR-R-001-4", number)
    doc.fail_unless(bool(norm(kind)) and kind in _DOCUMENT_TYPES, "GR-R-001-5", number)
    doc.fail_unless(bool(series), "GR-R-001-6", number)
    doc.fail_unless(bool(sequence), "GR-R-001-7", number)


def _vat_ids(party: etree._Element) -> list[etree._Element]:
    """``cac:PartyTaxScheme[normalize-space(cac:TaxScheme/cbc:ID) = 'VAT']/cbc:CompanyID``."""
    return [
        company_id
        for scheme in every(party, "cac:PartyTaxScheme")
        if norm(text(scheme, "cac:TaxScheme/cbc:ID")) == "VAT"
        for company_id in every(scheme, "cbc:CompanyID")
    ]


def _greek_vat(company_id: etree._Element) -> bool:
    """EL followed by a tax number whose check digit is right."""
    value = company_id.text or ""
    return value[:2] == "EL" and tin_verification(value[2:])


def _one_greek_vat(party: etree._Element) -> bool:
    """GR-S-011 and GR-R-006: exactly one VAT number, and it is Greek."""
    vat_ids = _vat_ids(party)
    return len(vat_ids) == 1 and _greek_vat(vat_ids[0])


def _tin_endpoint(endpoint: etree._Element) -> bool:
    """GR-R-009/010: the PEPPOL address is a tax number, scheme 9933."""
    return endpoint.get("schemeID") == _TIN_SCHEME and tin_verification(endpoint.text or "")


def _has_name(party: etree._Element) -> bool:
    return bool(text(party, "cac:PartyName/cbc:Name"))


def _described(reference: etree._Element, description: str) -> bool:
    return any(d.text == description for d in every(reference, "cbc:DocumentDescription"))


def _check_references(doc: Doc, address_in_greece: bool) -> None:
    """The MARK number and the invoice URL (document references with a reserved description)."""
    if address_in_greece:
        own = every(doc.root, "cac:AdditionalDocumentReference")  # the document's, not its lines'
        marks = sum(_described(reference, _MARK) for reference in own)
        urls = sum(_described(reference, _INVOICE_URL) for reference in own)
        doc.fail_unless(marks == 1, "GR-R-004-1", doc.root)
        doc.fail_unless(urls == 1, "GR-S-008-1", doc.root)
        doc.fail_unless(urls <= 1, "GR-R-008-2", doc.root)
    for reference in doc.all("cac:AdditionalDocumentReference"):
        if address_in_greece and _described(reference, _MARK):
            for mark in every(reference, "cbc:ID"):
                doc.fail_unless(re.match("[1-9]", mark.text or "") is not None, "GR-R-004-2", mark)
        if _described(reference, _INVOICE_URL):
            uri = text(reference, "cac:Attachment/cac:ExternalReference/cbc:URI")
            doc.fail_unless(bool(norm(uri)), "GR-R-008-3", reference)


@checks(
    *(f"GR-R-001-{n}" for n in range(1, 8)),
    *("GR-R-002", "GR-S-011", "GR-R-003", "GR-R-004-1", "GR-S-008-1", "GR-R-008-2", "GR-R-004-2"),
    *("GR-R-008-3", "GR-R-005", "GR-R-009", "GR-R-006", "GR-R-010"),
)
def greece(doc: Doc) -> None:
    if accounting_supplier_country(doc) in _GREEK:
        for party in parties(doc, "cac:AccountingSupplierParty"):
            for endpoint in every(party, "cbc:EndpointID"):
                doc.fail_unless(_tin_endpoint(endpoint), "GR-R-009", endpoint)
    if supplier_country(doc) not in _GREEK:
        return
    for number in every(doc.root, "cbc:ID"):
        _check_invoice_number(doc, number)
    for party in parties(doc, "cac:AccountingSupplierParty"):
        doc.fail_unless(_has_name(party), "GR-R-002", party)
        doc.fail_unless(_one_greek_vat(party), "GR-S-011", party)
        for company_id in _vat_ids(party):
            doc.fail_unless(_greek_vat(company_id), "GR-R-003", company_id)
    address = "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode"
    _check_references(doc, any(code.text == "GR" for code in every(doc.root, address)))
    greek_buyer = customer_country(doc) in _GREEK
    for party in parties(doc, "cac:AccountingCustomerParty"):
        doc.fail_unless(_has_name(party), "GR-R-005", party)
        if greek_buyer:
            doc.fail_unless(_one_greek_vat(party), "GR-R-006", party)
            for endpoint in every(party, "cbc:EndpointID"):
                doc.fail_unless(_tin_endpoint(endpoint), "GR-R-010", endpoint)
