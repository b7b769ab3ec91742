"""PEPPOL BIS 3 national rules for Norway (NO-R-001, NO-R-002).

They apply to a Norwegian seller as ``$supplierCountry`` decides it: the prefix of the seller's VAT
number, else its tax representative's, else its address country.
"""

from __future__ import annotations

import re

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, norm, text
from invoice_hub.validation.en16931.registry import checks, define
from invoice_hub.validation.peppol.identifiers import mod11
from invoice_hub.validation.peppol.national import parties, supplier_country

define(
    "NO-R-001",
    "fatal",
    "For Norwegian suppliers, a VAT number MUST be the country code prefix NO followed by a valid Norwegian organization number (nine numbers) followed by the letters MVA.",
)
define(
    "NO-R-002",
    "warning",
    'For Norwegian suppliers, most invoice issuers are required to append "Foretaksregisteret" to their invoice. "Dersom selger er aksjeselskap, allmennaksjeselskap eller filial av utenlandsk selskap skal også ordet «Foretaksregisteret» fremgå av salgsdokumentet, jf. foretaksregisterloven § 10-2."',
)

#: What follows "NO" in a Norwegian VAT number: the organisation number and "MVA" (XPath's ``$`` ends the string).
_ORGANISATION_MVA = re.compile(r"[0-9]{9}MVA")


def _company_id(party: etree._Element, scheme: str) -> str | None:
    """``cac:PartyTaxScheme[normalize-space(cac:TaxScheme/cbc:ID) = scheme]/cbc:CompanyID``, None when absent."""
    for tax_scheme in every(party, "cac:PartyTaxScheme"):
        if norm(text(tax_scheme, "cac:TaxScheme/cbc:ID")) == scheme:
            return text(tax_scheme, "cbc:CompanyID") or ""
    return None


def _valid_vat(vat: str | None) -> bool:
    """NO-R-001's test: a VAT number that starts with NO is NO + a mod-11 organisation number + MVA;
    one that does not (or none) is not the rule's business."""
    if vat is None or vat[:2] != "NO":
        return True
    return _ORGANISATION_MVA.fullmatch(vat[2:]) is not None and mod11(vat[2:11])


@checks("NO-R-001", "NO-R-002")
def norway(doc: Doc) -> None:
    if supplier_country(doc) != "NO":
        return
    for party in parties(doc, "cac:AccountingSupplierParty"):
        register = _company_id(party, "TAX")
        doc.fail_unless(norm(register) == "Foretaksregisteret", "NO-R-002", party)
        doc.fail_unless(_valid_vat(_company_id(party, "VAT")), "NO-R-001", party)
