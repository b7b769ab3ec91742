"""PEPPOL BIS 3 national rules for Italy (IT-R-*): the Italian seller's tax code and postal address.

They apply when ``$supplierCountry`` is ``IT``: the seller's VAT identifier starts with ``IT`` (or,
without one, the tax representative's does; without either, the seller's postal address is in Italy).
IT-R-001 is checked on each of the seller's tax schemes other than VAT (BT-32, Seller tax
registration identifier: the *codice fiscale*), IT-R-002 … -004 on the seller. The messages are the
official ones without their ``[IT-R-00N]`` prefix (IT-R-004's also without the stray ``">`` the
schematron has before it, a typo in its markup).
"""

from __future__ import annotations

import re

from invoice_hub.validation.en16931.document import Doc, every, exists, norm, text
from invoice_hub.validation.en16931.registry import Flag, checks, define
from invoice_hub.validation.peppol.national import parties, supplier_country

# The official flags and messages (PEPPOL-EN16931-UBL.sch 3.0.19), in the schematron's order.
_RULES: tuple[tuple[str, Flag, str], ...] = (
    ("IT-R-001", "fatal", "BT-32 (Seller tax registration identifier) - For Italian suppliers BT-32 minimum length 11 and maximum length shall be 16. Per i fornitori italiani il BT-32 deve avere una lunghezza tra 11 e 16 caratteri"),
    ("IT-R-002", "fatal", "BT-35 (Seller address line 1) - Italian suppliers MUST provide the postal address line 1 - I fornitori italiani devono indicare l'indirizzo postale."),
    ("IT-R-003", "fatal", "BT-37 (Seller city) - Italian suppliers MUST provide the postal address city - I fornitori italiani devono indicare la città di residenza."),
    ("IT-R-004", "fatal", "BT-38 (Seller post code) - Italian suppliers MUST provide the postal address post code - I fornitori italiani devono indicare il CAP di residenza."),
)  # fmt: skip
for _id, _flag, _message in _RULES:
    define(_id, _flag, _message)

_TAX_CODE = re.compile(r"[A-Z0-9]{11,16}")  # ``matches(normalize-space(cbc:CompanyID), '^[A-Z0-9]{11,16}$')``


@checks(*(rule_id for rule_id, _, _ in _RULES))
def _italy(doc: Doc) -> None:
    """Every IT-R rule, on a document whose seller is Italian by ``$supplierCountry``."""
    if supplier_country(doc) != "IT":
        return
    for seller in parties(doc, "cac:AccountingSupplierParty"):
        for scheme in every(seller, "cac:PartyTaxScheme"):
            if norm(text(scheme, "cac:TaxScheme/cbc:ID")) != "VAT":  # no tax scheme id is not VAT either
                tax_code = norm(text(scheme, "cbc:CompanyID"))
                doc.fail_unless(_TAX_CODE.fullmatch(tax_code) is not None, "IT-R-001", scheme)
        doc.fail_unless(exists(seller, "cac:PostalAddress/cbc:StreetName"), "IT-R-002", seller)
        doc.fail_unless(exists(seller, "cac:PostalAddress/cbc:CityName"), "IT-R-003", seller)
        doc.fail_unless(exists(seller, "cac:PostalAddress/cbc:PostalZone"), "IT-R-004", seller)
