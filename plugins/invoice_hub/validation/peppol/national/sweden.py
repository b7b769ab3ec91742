"""PEPPOL BIS 3 national rules for Sweden (SE-R-001 … SE-R-013).

Unlike most countries' rules, Sweden's do not use ``$supplierCountry``: each rule's context names the
seller's address country ('SE', compared exactly, untrimmed) and, for the VAT rules, a Swedish VAT
number (a VAT registration whose number starts with 'SE'). Each condition below is one of those
contexts; numbers are "numeric" as XPath's ``number()`` reads them (``xs:double``: 1E3 counts).
"""

from __future__ import annotations

import math

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, norm, text
from invoice_hub.validation.en16931.registry import checks, define
from invoice_hub.validation.peppol.identifiers import check_seorgnr, xs_number
from invoice_hub.validation.peppol.national import address_country, parties, vat_schemes

define("SE-R-001", "fatal", "For Swedish suppliers, Swedish VAT-numbers must consist of 14 characters.")
define(
    "SE-R-002",
    "fatal",
    "For Swedish suppliers, the Swedish VAT-numbers must have the trailing 12 characters in numeric form",
)
define("SE-R-003", "fatal", "Swedish organisation numbers should be numeric.")
define("SE-R-004", "fatal", "Swedish organisation numbers consist of 10 characters.")
define(
    "SE-R-005",
    "fatal",
    "For Swedish suppliers, when using Seller tax registration identifier, 'Godkänd för F-skatt' must be stated",
)
define("SE-R-006", "fatal", "For Swedish suppliers, only standard VAT rate of 6, 12 or 25 are used")
define("SE-R-007", "warning", "For Swedish suppliers using Plusgiro, the Account ID must be numeric")
define("SE-R-008", "warning", "For Swedish suppliers using Bankgiro, the Account ID must be numeric")
define("SE-R-009", "warning", "For Swedish suppliers using Bankgiro, the Account ID must have 7-8 characters")
define("SE-R-010", "warning", "For Swedish suppliers using Plusgiro, the Account ID must have 2-8 characters")
define(
    "SE-R-011",
    "warning",
    "For Swedish suppliers using Swedish Bankgiro or Plusgiro, the proper way to indicate this is to use Code 30 for PaymentMeans and FinancialInstitutionBranch ID with code SE:BANKGIRO or SE:PLUSGIRO",
)
define(
    "SE-R-012",
    "warning",
    'For domestic transactions between Swedish trading partners, credit transfer should be indicated by PaymentMeansCode="30"',
)
define(
    "SE-R-013",
    "fatal",
    "The last digit of a Swedish organization number must be valid according to the Luhn algorithm.",
)

_STANDARD_RATES = (25, 12, 6)
#: Giro account rules: (the giro's branch id, its numeric rule, its length rule, the lengths allowed).
_GIROS = (
    ("SE:PLUSGIRO", "SE-R-007", "SE-R-010", range(2, 9)),
    ("SE:BANKGIRO", "SE-R-008", "SE-R-009", (7, 8)),
)


def _is_numeric(value: str | None) -> bool:
    """``string(number(value)) != 'NaN'``."""
    return not math.isnan(xs_number(value or ""))


def _in_sweden(party: etree._Element) -> bool:
    """``cac:PostalAddress/cac:Country/cbc:IdentificationCode = 'SE'`` (UBL allows one of each)."""
    code = address_country(party)
    return code is not None and code.text == "SE"


def _swedish_vat(party: etree._Element) -> bool:
    """A seller in Sweden with a Swedish VAT number: the context of SE-R-001/002 and SE-R-006."""
    return _in_sweden(party) and any(
        (text(scheme, "cbc:CompanyID") or "")[:2] == "SE" for scheme in vat_schemes(party)
    )


def _check_vat_number(doc: Doc, party: etree._Element) -> None:
    vat = text(vat_schemes(party)[0], "cbc:CompanyID") or ""
    doc.fail_unless(len(norm(vat)) == 14, "SE-R-001", party)
    doc.fail_unless(_is_numeric(vat[2:14]), "SE-R-002", party)


def _check_organisation_number(doc: Doc, party: etree._Element) -> None:
    """SE-R-003/004/013 on each legal entity with a number, SE-R-005 on the non-VAT tax registrations."""
    for entity in every(party, "cac:PartyLegalEntity"):
        if not every(entity, "cbc:CompanyID"):
            continue
        number = text(entity, "cbc:CompanyID") or ""
        doc.fail_unless(_is_numeric(number), "SE-R-003", entity)
        doc.fail_unless(len(norm(number)) == 10, "SE-R-004", entity)
        doc.fail_unless(check_seorgnr(norm(number)), "SE-R-013", entity)
    if not every(party, "cac:PartyLegalEntity/cbc:CompanyID"):
        return
    for scheme in every(party, "cac:PartyTaxScheme"):
        if norm(text(scheme, "cac:TaxScheme/cbc:ID")).upper() == "VAT":
            continue
        for company_id in every(scheme, "cbc:CompanyID"):
            doc.fail_unless(norm(company_id.text).upper() == "GODKÄND FÖR F-SKATT", "SE-R-005", company_id)


def _check_rates(doc: Doc) -> None:
    for name in ("cac:TaxCategory", "cac:ClassifiedTaxCategory"):
        for category in doc.all(name):
            if any(code.text == "S" for code in every(category, "cbc:ID")):
                rate = xs_number(text(category, "cbc:Percent") or "")
                doc.fail_unless(rate in _STANDARD_RATES, "SE-R-006", category)


def _check_payment_means(doc: Doc, domestic: bool) -> None:
    for means in doc.all("cac:PaymentMeans"):
        codes = [code.text for code in every(means, "cbc:PaymentMeansCode")]
        if norm(text(means, "cbc:PaymentMeansCode")) == "30":
            branch = norm(text(means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"))
            for giro, numeric_rule, length_rule, lengths in _GIROS:
                if branch == giro:
                    for account in every(means, "cac:PayeeFinancialAccount/cbc:ID"):
                        account_id = norm(account.text)
                        doc.fail_unless(_is_numeric(account_id), numeric_rule, account)
                        doc.fail_unless(len(account_id) in lengths, length_rule, account)
        if "50" in codes or "56" in codes:
            doc.fail("SE-R-011", means)
        elif domestic and "31" in codes:
            doc.fail("SE-R-012", means)


@checks(*(f"SE-R-{n:03}" for n in range(1, 14)))
def sweden(doc: Doc) -> None:
    swedish = [party for party in parties(doc, "cac:AccountingSupplierParty") if _in_sweden(party)]
    if not swedish:
        return  # every Swedish rule needs a seller with a Swedish address
    for party in swedish:
        if _swedish_vat(party):
            _check_vat_number(doc, party)
        _check_organisation_number(doc, party)
    if any(_swedish_vat(party) for party in swedish):
        _check_rates(doc)
    customers = parties(doc, "cac:AccountingCustomerParty")
    _check_payment_means(doc, domestic=any(_in_sweden(party) for party in customers))
