"""PEPPOL BIS 3 national rules: one module per country, each applying only where its own context holds
(the seller's or buyer's country, as ``PEPPOL-EN16931-UBL.sch`` states it for that country).

The schematron's document-wide ``<let>`` variables that several countries share are here, computed as
its XPath computes them, so that a country's rules switch on for exactly the documents they do there.
Every document pays for them (most belong to no country whose rules apply), so they read the parties
from the document's index and walk children by tag instead of compiling an ElementPath each time.
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, clark, norm

_PARTY, _TAX_SCHEME, _ID = clark("cac:Party"), clark("cac:TaxScheme"), clark("cbc:ID")
_PARTY_TAX_SCHEME, _COMPANY_ID = clark("cac:PartyTaxScheme"), clark("cbc:CompanyID")
_ADDRESS, _COUNTRY, _CODE = clark("cac:PostalAddress"), clark("cac:Country"), clark("cbc:IdentificationCode")


def _child(parent: etree._Element | None, tag: str) -> etree._Element | None:
    return next(parent.iterchildren(tag), None) if parent is not None else None


def top(doc: Doc, name: str) -> etree._Element | None:
    """``/*/name``: the document's (first) element of that name directly below its root."""
    return next((element for element in doc.all(name) if element.getparent() is doc.root), None)


def party(doc: Doc, role: str) -> etree._Element | None:
    """``/*/role/cac:Party`` (role: ``cac:AccountingSupplierParty``, ``cac:AccountingCustomerParty``)."""
    return _child(top(doc, role), _PARTY)


def parties(doc: Doc, role: str) -> list[etree._Element]:
    """``role/cac:Party`` wherever ``role`` is: the parties a relative rule context such as
    ``cac:AccountingSupplierParty/cac:Party`` matches (UBL has one, below the root)."""
    return [found for element in doc.all(role) for found in element.iterchildren(_PARTY)]


def address_country(party: etree._Element | None) -> etree._Element | None:
    """``party/cac:PostalAddress/cac:Country/cbc:IdentificationCode`` (the first), None when absent."""
    return _child(_child(_child(party, _ADDRESS), _COUNTRY), _CODE)


def vat_schemes(party: etree._Element | None) -> list[etree._Element]:
    """``party/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID = 'VAT']``: the party's VAT registrations.

    The comparison with 'VAT' is exact (no trimming), as it is in the country variables and in the
    rules that use this form (others trim it: they say ``normalize-space``, and do it themselves)."""
    if party is None:
        return []
    return [
        scheme
        for scheme in party.iterchildren(_PARTY_TAX_SCHEME)
        if any(i.text == "VAT" for tax in scheme.iterchildren(_TAX_SCHEME) for i in tax.iterchildren(_ID))
    ]


def vat_prefix(party: etree._Element | None) -> str:
    """``party/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID = 'VAT']/substring(cbc:CompanyID, 1, 2)``: ''
    where the party has no VAT registration (or one without a number)."""
    schemes = vat_schemes(party)
    number = _child(schemes[0], _COMPANY_ID) if schemes else None
    return (number.text or "")[:2] if number is not None else ""


def _country(parties: tuple[etree._Element | None, ...], address_of: etree._Element | None) -> str:
    """The first party's VAT number prefix, else ``address_of``'s country code, else 'XX' (upper case)."""
    for candidate in parties:
        prefix = vat_prefix(candidate)
        if prefix:  # XPath's effective boolean value: a non-empty string, even ' ', is true
            return norm(prefix).upper()
    code = address_country(address_of)
    return norm(code.text).upper() if code is not None else "XX"


def supplier_country(doc: Doc) -> str:
    """``$supplierCountry``: the seller's VAT prefix, else its tax representative's, else its address country."""
    supplier = party(doc, "cac:AccountingSupplierParty")
    return _country((supplier, top(doc, "cac:TaxRepresentativeParty")), supplier)


def accounting_supplier_country(doc: Doc) -> str:
    """``$accountingSupplierCountry`` (Greece): as :func:`supplier_country` without the tax representative."""
    supplier = party(doc, "cac:AccountingSupplierParty")
    return _country((supplier,), supplier)


def customer_country(doc: Doc) -> str:
    """``$customerCountry``: the buyer's VAT prefix, else its address country, else 'XX'."""
    customer = party(doc, "cac:AccountingCustomerParty")
    return _country((customer,), customer)


def written_country(doc: Doc, role: str) -> str:
    """``concat(/*/role/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode)``: the code as
    written, neither trimmed nor upper-cased, '' when absent (Denmark's and Iceland's country variables)."""
    code = address_country(party(doc, role))
    return (code.text or "") if code is not None else ""


def both_german(doc: Doc) -> bool:
    """``$supplierCountryIsDE and $customerCountryIsDE``: both postal address countries, trimmed and
    upper-cased, are DE (PEPPOL-EN16931-R002 and P0112 relax for them; the DE rules apply to them)."""
    return all(
        norm(written_country(doc, role)).upper() == "DE"
        for role in ("cac:AccountingSupplierParty", "cac:AccountingCustomerParty")
    )
