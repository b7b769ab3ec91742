"""PEPPOL BIS 3 national rules: one module per country, each applying only where its own context holds
(the seller's or buyer's country, as ``PEPPOL-EN16931-UBL.sch`` states it for that country).

The schematron's document-wide ``<let>`` variables that several countries share are here, computed as
its XPath computes them, so that a country's rules switch on for exactly the documents they do there.
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, first, norm, text


def vat_schemes(party: etree._Element | None) -> list[etree._Element]:
    """``party/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID = 'VAT']``: the party's VAT registrations.

    The comparison with 'VAT' is exact (no trimming), as it is in the country variables and in the
    rules that use this form (others trim it: they say ``normalize-space``, and do it themselves)."""
    return [
        scheme
        for scheme in every(party, "cac:PartyTaxScheme")
        if any(scheme_id.text == "VAT" for scheme_id in every(scheme, "cac:TaxScheme/cbc:ID"))
    ]


def vat_prefix(party: etree._Element | None) -> str:
    """``party/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID = 'VAT']/substring(cbc:CompanyID, 1, 2)``: ''
    where the party has no VAT registration (or one without a number)."""
    schemes = vat_schemes(party)
    return (text(schemes[0], "cbc:CompanyID") or "")[:2] if schemes else ""


def _country(parties: tuple[etree._Element | None, ...], address_of: etree._Element | None) -> str:
    """The first party's VAT number prefix, else ``address_of``'s country code, else 'XX' (upper case)."""
    for party in parties:
        prefix = vat_prefix(party)
        if prefix:  # XPath's effective boolean value: a non-empty string, even ' ', is true
            return norm(prefix).upper()
    code = first(address_of, "cac:PostalAddress/cac:Country/cbc:IdentificationCode")
    return norm(code.text).upper() if code is not None else "XX"


def supplier_country(doc: Doc) -> str:
    """``$supplierCountry``: the seller's VAT prefix, else its tax representative's, else its address country."""
    supplier = first(doc.root, "cac:AccountingSupplierParty/cac:Party")
    return _country((supplier, first(doc.root, "cac:TaxRepresentativeParty")), supplier)


def accounting_supplier_country(doc: Doc) -> str:
    """``$accountingSupplierCountry`` (Greece): as :func:`supplier_country` without the tax representative."""
    supplier = first(doc.root, "cac:AccountingSupplierParty/cac:Party")
    return _country((supplier,), supplier)


def customer_country(doc: Doc) -> str:
    """``$customerCountry``: the buyer's VAT prefix, else its address country, else 'XX'."""
    customer = first(doc.root, "cac:AccountingCustomerParty/cac:Party")
    return _country((customer,), customer)
