"""PEPPOL BIS 3 national rules for Denmark (DK-R-*): OIOUBL's requirements carried into BIS 3.

Their context is the postal address country code as written (``$DKSupplierCountry``,
``$DKCustomerCountry``: not trimmed, not upper-cased). The seller rules (DK-R-002, -014, -016) apply
when the seller is Danish; the others when seller and buyer both are: party identifiers (DK-R-013),
payment means of an Invoice, not a CreditNote (DK-R-005 … -011), line classification (DK-R-003) and
every allowance or charge, at document, line or price level (DK-R-004).
"""

from __future__ import annotations

import re

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, norm, text
from invoice_hub.validation.en16931.registry import Flag, checks, define
from invoice_hub.validation.peppol.identifiers import xs_number
from invoice_hub.validation.peppol.national import written_country

SUPPLIER, CUSTOMER = "cac:AccountingSupplierParty", "cac:AccountingCustomerParty"

# The official flags and messages (PEPPOL-EN16931-UBL.sch 3.0.19), in the schematron's order.
_RULES: tuple[tuple[str, Flag, str], ...] = (
    ("DK-R-002", "fatal", "Danish suppliers MUST provide legal entity (CVR-number)"),
    ("DK-R-014", "fatal", 'For Danish Suppliers it is mandatory to specify schemeID as "0184" (DK CVR-number) when PartyLegalEntity/CompanyID is used for AccountingSupplierParty'),
    ("DK-R-016", "fatal", "For Danish Suppliers, a Credit note cannot have a negative total (PayableAmount)"),
    ("DK-R-013", "fatal", "For Danish Suppliers it is mandatory to use schemeID when PartyIdentification/ID is used for AccountingCustomerParty or AccountingSupplierParty"),
    ("DK-R-005", "fatal", "For Danish suppliers the following Payment means codes are allowed: 1, 10, 31, 42, 48, 49, 50, 58, 59, 93 and 97"),
    ("DK-R-006", "fatal", "For Danish suppliers bank account and registration account is mandatory if payment means is 31 or 42"),
    ("DK-R-007", "fatal", "For Danish suppliers PaymentMandate/ID and PayerFinancialAccount/ID are mandatory when payment means is 49"),
    ("DK-R-008", "fatal", "For Danish Suppliers PaymentID is mandatory and MUST start with 01#, 04# or 15# (kortartkode), and PayeeFinancialAccount/ID (Giro kontonummer) is mandatory and must be 7 or 8 numerical characters long, when payment means equals 50 (Giro)"),
    ("DK-R-009", "fatal", 'For Danish Suppliers if the PaymentID is prefixed with 04# or 15# the 16 digits instruction Id must be added to the PaymentID eg. "04#1234567890123456" when Payment means equals 50 (Giro)'),
    ("DK-R-010", "fatal", "For Danish Suppliers the PaymentID is mandatory and MUST start with 71#, 73# or 75# (kortartkode) and CreditAccount/AccountID (Kreditornummer) is mandatory and MUST be exactly 8 characters long, when Payment means equals 93 (FIK)"),
    ("DK-R-011", "fatal", 'For Danish Suppliers if the PaymentID is prefixed with 71# or 75# the 15-16 digits instruction Id must be added to the PaymentID eg. "71#1234567890123456" when payment Method equals 93 (FIK)'),
    ("DK-R-003", "warning", "If ItemClassification is provided from Danish suppliers, UNSPSC version 19.05.01 or 26.08.01 should be used."),
    ("DK-R-004", "fatal", 'When specifying non-VAT Taxes for Danish customers, Danish suppliers MUST use the AllowanceChargeReasonCode="ZZZ" and MUST be specified in AllowanceChargeReason; Either as the 4-digit Tax category or must include a #, but the # is not allowed as first and last character'),
)  # fmt: skip
for _id, _flag, _message in _RULES:
    define(_id, _flag, _message)

#: ``contains(' 1 10 31 ... 97 ', concat(' ', cbc:PaymentMeansCode, ' '))``
_ALLOWED_MEANS = " 1 10 31 42 48 49 50 58 59 93 97 "
_GIRO_ACCOUNT = re.compile(r"[0-9]{7,8}")  # ``matches(., '^[0-9]{7,8}$')``: XPath's ``$`` is the very end
_UNSPSC_VERSIONS = {"19.05.01", "19.0501", "26.08.01", "26.0801"}


def _string(parent: etree._Element | None, path: str) -> str:
    """The string value of the first element at ``path``, ``""`` when there is none."""
    return text(parent, path) or ""


def _filled(parent: etree._Element | None, path: str) -> bool:
    """``normalize-space(path/text()) != ''``."""
    return bool(norm(text(parent, path)))


def _seller(doc: Doc) -> None:
    root = doc.root
    legal_id = f"{SUPPLIER}/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
    doc.fail_unless(_filled(root, legal_id), "DK-R-002", root)
    ids = every(root, legal_id)
    doc.fail_unless(not ids or norm(ids[0].get("schemeID")) == "0184", "DK-R-014", root)
    payable = xs_number(text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") or "")
    danish_credit_note = doc.credit_note and written_country(doc, CUSTOMER) == "DK"
    doc.fail_unless(not (danish_credit_note and payable < 0), "DK-R-016", root)


def _payment_means(doc: Doc, means: etree._Element) -> None:
    codes = {e.text for e in every(means, "cbc:PaymentMeansCode")}  # ``= '31'``: any code, as a string
    payment_id = _string(means, "cbc:PaymentID")
    prefix = payment_id[:3]
    account = _string(means, "cac:PayeeFinancialAccount/cbc:ID")
    doc.fail_unless(f" {_string(means, 'cbc:PaymentMeansCode')} " in _ALLOWED_MEANS, "DK-R-005", means)
    bank = _filled(means, "cac:PayeeFinancialAccount/cbc:ID") and _filled(
        means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"
    )
    doc.fail_unless(not codes & {"31", "42"} or bank, "DK-R-006", means)
    mandate = _filled(means, "cac:PaymentMandate/cbc:ID") and _filled(
        means, "cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"
    )
    doc.fail_unless("49" not in codes or mandate, "DK-R-007", means)
    if "50" in codes:  # Giro
        giro = prefix in ("01#", "04#", "15#") and _GIRO_ACCOUNT.fullmatch(account) is not None
        doc.fail_unless(giro, "DK-R-008", means)
        doc.fail_unless(prefix not in ("04#", "15#") or len(payment_id) == 19, "DK-R-009", means)
    if "93" in codes:  # FIK
        fik = prefix in ("71#", "73#", "75#") and len(account) == 8
        doc.fail_unless(fik, "DK-R-010", means)
        doc.fail_unless(prefix not in ("71#", "75#") or len(payment_id) in (18, 19), "DK-R-011", means)


def _tax_reason_ok(charge: etree._Element) -> bool:
    """DK-R-004: a ``ZZZ`` allowance or charge names its tax as a 4-character number 0..9999, or as a
    text with a ``#`` that neither starts nor ends it."""
    if not any(e.text == "ZZZ" for e in every(charge, "cbc:AllowanceChargeReasonCode")):
        return True
    reason = text(charge, "cbc:AllowanceChargeReason")
    category = len(norm(reason)) == 4 and 0 <= xs_number(reason or "") <= 9999  # NaN: false
    marked = reason is not None and "#" in reason and not reason.startswith("#") and not reason.endswith("#")
    return category or marked


def _both_danish(doc: Doc) -> None:
    root = doc.root
    for party in (SUPPLIER, CUSTOMER):
        for identification in every(root, f"{party}/cac:Party/cac:PartyIdentification"):
            ids = every(identification, "cbc:ID")
            doc.fail_unless(not ids or norm(ids[0].get("schemeID")) != "", "DK-R-013", identification)
    if not doc.credit_note:
        for means in every(root, "cac:PaymentMeans"):
            _payment_means(doc, means)
    for line in doc.lines:
        codes = every(line, "cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode")
        unspsc_test = any(e.get("listID") == "TST" for e in codes)
        versioned = any(e.get("listVersionID") in _UNSPSC_VERSIONS for e in codes)
        doc.fail_unless(not unspsc_test or versioned, "DK-R-003", line)
    for charge in doc.all("cac:AllowanceCharge"):
        doc.fail_unless(_tax_reason_ok(charge), "DK-R-004", charge)


@checks(*(rule_id for rule_id, _, _ in _RULES))
def _denmark(doc: Doc) -> None:
    """Every DK-R rule: the seller's when the seller is Danish, the rest when the buyer is too."""
    if written_country(doc, SUPPLIER) != "DK":
        return
    _seller(doc)
    if written_country(doc, CUSTOMER) == "DK":
        _both_danish(doc)
