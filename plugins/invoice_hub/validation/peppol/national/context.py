"""When a country's rules apply: the schematron's ``<let>`` variables for the seller's and buyer's country.

``PEPPOL-EN16931-UBL.sch`` decides "this is a German (Danish, Italian, ...) invoice" in three different
ways, and each country's rules use its own, so each is kept here exactly as written:

- ``$supplierCountry`` / ``$customerCountry`` (IT, and NO and GR): the first two letters of the party's
  VAT identifier, else (seller only) those of the tax representative's, else the postal address
  country code, upper-cased and trimmed; ``XX`` when there is none of them;
- ``$supplierCountryIsDE`` / ``$customerCountryIsDE`` (DE): the postal address country code,
  upper-cased and trimmed;
- ``$DKSupplierCountry`` (DK) and ``$SupplierCountry`` (IS): the postal address country code as it is
  written, not trimmed (`` DK`` is not Denmark there).

Where the schematron would stop with a dynamic error (two VAT identifiers on one party, so that
``upper-case`` gets a sequence), the first one counts.
"""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, first, norm

SUPPLIER = "cac:AccountingSupplierParty"
CUSTOMER = "cac:AccountingCustomerParty"
_COUNTRY = "cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode"


def _vat_prefix(party: etree._Element | None) -> str | None:
    """``cac:PartyTaxScheme[cac:TaxScheme/cbc:ID = 'VAT']/substring(cbc:CompanyID, 1, 2)``, normalized
    and upper-cased, when the first such substring is not empty (the schematron's ``if`` on it)."""
    for scheme in every(party, "cac:PartyTaxScheme"):
        if any(e.text == "VAT" for e in every(scheme, "cac:TaxScheme/cbc:ID")):
            company = first(scheme, "cbc:CompanyID")
            prefix = (company.text or "")[:2] if company is not None else ""
            return norm(prefix).upper() if prefix else None
    return None


def postal_country(doc: Doc, party: str) -> str | None:
    """The raw text of ``/*/{party}/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode``
    (``""`` when the element is empty), None when it is absent."""
    element = first(first(doc.root, party), _COUNTRY)
    return None if element is None else element.text or ""


def supplier_country(doc: Doc) -> str:
    """``$supplierCountry``: seller VAT prefix, else tax representative VAT prefix, else postal country."""
    seller = first(doc.root, f"{SUPPLIER}/cac:Party")
    for prefix in (_vat_prefix(seller), _vat_prefix(first(doc.root, "cac:TaxRepresentativeParty"))):
        if prefix is not None:
            return prefix
    country = postal_country(doc, SUPPLIER)
    return "XX" if country is None else norm(country).upper()


def customer_country(doc: Doc) -> str:
    """``$customerCountry``: buyer VAT prefix, else the buyer's postal country."""
    prefix = _vat_prefix(first(doc.root, f"{CUSTOMER}/cac:Party"))
    if prefix is not None:
        return prefix
    country = postal_country(doc, CUSTOMER)
    return "XX" if country is None else norm(country).upper()


def country_is(doc: Doc, party: str, code: str) -> bool:
    """``upper-case(normalize-space(/*/{party}/.../cbc:IdentificationCode)) = code`` (DE's form)."""
    return norm(postal_country(doc, party)).upper() == code


#: xs:double's lexical form, the one XPath's ``number()`` reads (anything else is NaN).
_DOUBLE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|-?INF|NaN")


def xs_double(text: str | None) -> Decimal | None:
    """XPath ``number(.)`` as an exact Decimal; None for NaN (every comparison with it is false)."""
    value = (text or "").strip()
    if not _DOUBLE.fullmatch(value) or value == "NaN":
        return None
    return Decimal(value.replace("INF", "Infinity"))
