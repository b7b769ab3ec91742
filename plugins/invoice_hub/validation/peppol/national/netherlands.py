"""PEPPOL BIS 3 national rules for the Netherlands (NL-R-001 … NL-R-009, from the NLCIUS).

They apply when the seller's postal address is in the Netherlands (``$supplierCountryIsNL``: its
country code, not its VAT number, unlike most countries), some of them only when the buyer's or the
tax representative's address is too. The messages drop the ``[NL-R-00n]`` the schematron repeats at
their start, as every message in the registry does.
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, clark, dec, every, exists, norm, text
from invoice_hub.validation.en16931.registry import checks, define
from invoice_hub.validation.peppol.national import address_country, parties, party, top

define(
    "NL-R-001",
    "fatal",
    "For suppliers in the Netherlands, if the document is a creditnote, the document MUST contain an invoice reference (cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)",
)
define(
    "NL-R-002",
    "fatal",
    "For suppliers in the Netherlands the supplier's address (cac:AccountingSupplierParty/cac:Party/cac:PostalAddress) MUST contain street name (cbc:StreetName), city (cbc:CityName) and post code (cbc:PostalZone)",
)
define(
    "NL-R-003",
    "fatal",
    "For suppliers in the Netherlands, the legal entity identifier MUST be either a KVK or OIN number (schemeID 0106 or 0190)",
)
define(
    "NL-R-004",
    "fatal",
    "For suppliers in the Netherlands, if the customer is in the Netherlands, the customer address (cac:AccountingCustomerParty/cac:Party/cac:PostalAddress) MUST contain the street name (cbc:StreetName), the city (cbc:CityName) and post code (cbc:PostalZone)",
)
define(
    "NL-R-005",
    "fatal",
    "For suppliers in the Netherlands, if the customer is in the Netherlands, the customer's legal entity identifier MUST be either a KVK or OIN number (schemeID 0106 or 0190)",
)
define(
    "NL-R-006",
    "fatal",
    "For suppliers in the Netherlands, if the fiscal representative is in the Netherlands, the representative's address (cac:TaxRepresentativeParty/cac:PostalAddress) MUST contain street name (cbc:StreetName), city (cbc:CityName) and post code (cbc:PostalZone)",
)
define(
    "NL-R-007",
    "fatal",
    "For suppliers in the Netherlands, the supplier MUST provide a means of payment (cac:PaymentMeans) if the payment is from customer to supplier",
)
define(
    "NL-R-008",
    "fatal",
    "For suppliers in the Netherlands, if the customer is in the Netherlands, the payment means code (cac:PaymentMeans/cbc:PaymentMeansCode) MUST be one of 30, 48, 49, 57, 58 or 59",
)
define(
    "NL-R-009",
    "fatal",
    "For suppliers in the Netherlands, if an order line reference (cac:OrderLineReference/cbc:LineID) is used, there must be an order reference on the document level (cac:OrderReference/cbc:ID)",
)

_DUTCH_PAYMENT_MEANS = frozenset({"30", "48", "49", "57", "58", "59"})
_SUPPLIER, _CUSTOMER = "cac:AccountingSupplierParty", "cac:AccountingCustomerParty"
_ORDER_LINE_REFERENCE = clark("cac:OrderLineReference")


def _is_nl(element: etree._Element | None) -> bool:
    """``upper-case(normalize-space(element/cac:PostalAddress/cac:Country/cbc:IdentificationCode)) = 'NL'``."""
    code = address_country(element)
    return code is not None and norm(code.text).upper() == "NL"


def _addresses(doc: Doc, role: str) -> list[etree._Element]:
    """``role/cac:Party/cac:PostalAddress`` wherever ``role`` is (the rule contexts are relative)."""
    return [address for found in parties(doc, role) for address in every(found, "cac:PostalAddress")]


def _legal_ids(doc: Doc, role: str) -> list[etree._Element]:
    return [
        company
        for found in parties(doc, role)
        for company in every(found, "cac:PartyLegalEntity/cbc:CompanyID")
    ]


def _has_street_city_zone(address: etree._Element) -> bool:
    return all(exists(address, f"cbc:{name}") for name in ("StreetName", "CityName", "PostalZone"))


def _kvk_or_oin(company_id: etree._Element) -> bool:
    """schemeID 0106 (KVK, the Chamber of Commerce) or 0190 (OIN, the government's number), non-empty."""
    scheme = f" {company_id.get('schemeID', '')} "
    return (" 0106 " in scheme or " 0190 " in scheme) and norm(company_id.text) != ""


def _means_given_if_due(doc: Doc, totals: etree._Element) -> bool:
    """NL-R-007's test: nothing is due to the supplier (an invoice's payable amount ≤ 0, a credit
    note's ≥ 0), or a payment means is given. A missing or unreadable amount compares false, as in XPath."""
    payable = dec(text(totals, "cbc:PayableAmount"))
    if payable is not None and (payable >= 0 if doc.credit_note else payable <= 0):
        return True
    return bool(doc.all("cac:PaymentMeans"))


@checks(*(f"NL-R-00{n}" for n in range(1, 10)))
def netherlands(doc: Doc) -> None:
    if not _is_nl(party(doc, _SUPPLIER)):
        return
    customer_nl = _is_nl(party(doc, _CUSTOMER))
    if doc.all("cbc:CreditNoteTypeCode") and not exists(
        doc.root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
    ):
        for type_code in doc.all("cbc:CreditNoteTypeCode"):
            doc.fail("NL-R-001", type_code)
    for address in _addresses(doc, _SUPPLIER):
        doc.fail_unless(_has_street_city_zone(address), "NL-R-002", address)
    for company_id in _legal_ids(doc, _SUPPLIER):
        doc.fail_unless(_kvk_or_oin(company_id), "NL-R-003", company_id)
    if customer_nl:
        for address in _addresses(doc, _CUSTOMER):
            doc.fail_unless(_has_street_city_zone(address), "NL-R-004", address)
        for company_id in _legal_ids(doc, _CUSTOMER):
            doc.fail_unless(_kvk_or_oin(company_id), "NL-R-005", company_id)
    if _is_nl(top(doc, "cac:TaxRepresentativeParty")):
        for representative in doc.all("cac:TaxRepresentativeParty"):
            for address in every(representative, "cac:PostalAddress"):
                doc.fail_unless(_has_street_city_zone(address), "NL-R-006", address)
    for totals in doc.all("cac:LegalMonetaryTotal"):
        doc.fail_unless(_means_given_if_due(doc, totals), "NL-R-007", totals)
    if customer_nl:
        for means in doc.all("cac:PaymentMeans"):
            code = norm(text(means, "cbc:PaymentMeansCode"))
            doc.fail_unless(code in _DUTCH_PAYMENT_MEANS, "NL-R-008", means)
    if not exists(doc.root, "cac:OrderReference/cbc:ID"):
        for line_id in doc.all("cbc:LineID"):
            if (parent := line_id.getparent()) is not None and parent.tag == _ORDER_LINE_REFERENCE:
                doc.fail("NL-R-009", line_id)
