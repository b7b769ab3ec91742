"""OpenPEPPOL BIS Billing 3.0 core rules: PEPPOL-EN16931-R*, -P*, -F* and PEPPOL-COMMON-R*.

Each check follows ``PEPPOL-EN16931-UBL.sch`` release 3.0.19: same context, same test, same treatment
of what is missing (see :mod:`invoice_hub.validation.en16931.document` for the XPath semantics kept).
Two schematron behaviours shape the code:

- Within one ``<pattern>`` a node is checked by the *first* rule whose context it matches. An
  allowance/charge with a percentage but no base amount is R041's, so R040 and R043 never look at it.
- Where the XSLT would stop with a dynamic error (``xs:decimal`` of "abc", ``xs:date`` of
  "13.11.2017"), the check fails: the document is not valid either way, and the finding names the
  element that is wrong.

Every rule is evaluated on the document's index (``doc.all``), not with an XPath scan of its own;
R008, whose context is every element, is the one compiled XPath query (lxml's C is faster than a
Python walk there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, clark, dec, every, exists, first, norm, text, xround
from invoice_hub.validation.en16931.registry import checks, define
from invoice_hub.validation.peppol import identifiers as ids
from invoice_hub.validation.peppol.code_lists import (
    PROFILE_01_CREDIT_NOTE_TYPES,
    PROFILE_01_INVOICE_TYPES,
)
from invoice_hub.validation.peppol.national import both_german
from invoice_hub.xsdtypes import xs_date, xs_date_start

if TYPE_CHECKING:
    from invoice_hub.validation.en16931.document import NodeSetXPath

define("PEPPOL-EN16931-R001", "fatal", "Business process MUST be provided.")
define(
    "PEPPOL-EN16931-R002",
    "fatal",
    "No more than one note is allowed on document level, unless both the buyer and seller are German organizations.",
)
define("PEPPOL-EN16931-R003", "fatal", "A buyer reference or purchase order reference MUST be provided.")
define(
    "PEPPOL-EN16931-R004",
    "fatal",
    "Specification identifier MUST have the value "
    "'urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0'.",
)
define(
    "PEPPOL-EN16931-R005",
    "fatal",
    "VAT accounting currency code MUST be different from invoice currency code when provided.",
)
define(
    "PEPPOL-EN16931-R007",
    "fatal",
    "Business process MUST be in the format 'urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0' "
    "where NN indicates the process number.",
)
define("PEPPOL-EN16931-R008", "fatal", "Document MUST not contain empty elements.")
define("PEPPOL-EN16931-R010", "fatal", "Buyer electronic address MUST be provided")
define("PEPPOL-EN16931-R020", "fatal", "Seller electronic address MUST be provided")
define(
    "PEPPOL-EN16931-R040",
    "fatal",
    "Allowance/charge amount must equal base amount * percentage/100 if base amount and percentage exists",
)
define(
    "PEPPOL-EN16931-R041",
    "fatal",
    "Allowance/charge base amount MUST be provided when allowance/charge percentage is provided.",
)
define(
    "PEPPOL-EN16931-R042",
    "fatal",
    "Allowance/charge percentage MUST be provided when allowance/charge base amount is provided.",
)
define("PEPPOL-EN16931-R043", "fatal", "Allowance/charge ChargeIndicator value MUST equal 'true' or 'false'")
define("PEPPOL-EN16931-R044", "fatal", "Charge on price level is NOT allowed. Only value 'false' allowed.")
define(
    "PEPPOL-EN16931-R046",
    "fatal",
    "Item net price MUST equal (Gross price - Allowance amount) when gross price is provided.",
)
define(
    "PEPPOL-EN16931-R051",
    "fatal",
    "All currencyID attributes must have the same value as the invoice currency code (BT-5), "
    "except for the invoice total VAT amount in accounting currency (BT-111).",
)
define("PEPPOL-EN16931-R053", "fatal", "Only one tax total with tax subtotals MUST be provided.")
define(
    "PEPPOL-EN16931-R054",
    "fatal",
    "Only one tax total without tax subtotals MUST be provided when tax currency code is provided.",
)
define(
    "PEPPOL-EN16931-R055",
    "fatal",
    "Invoice total VAT amount and Invoice total VAT amount in accounting currency MUST have the same operational sign",
)
define("PEPPOL-EN16931-R061", "fatal", "Mandate reference MUST be provided for direct debit.")
define("PEPPOL-EN16931-R080", "fatal", "Only one project reference is allowed on document level")
define("PEPPOL-EN16931-R100", "fatal", "Only one invoiced object is allowed pr line")
define("PEPPOL-EN16931-R101", "fatal", "Element Document reference can only be used for Invoice line object")
define("PEPPOL-EN16931-R110", "fatal", "Start date of line period MUST be within invoice period.")
define("PEPPOL-EN16931-R111", "fatal", "End date of line period MUST be within invoice period.")
define(
    "PEPPOL-EN16931-R120",
    "fatal",
    "Invoice line net amount MUST equal (Invoiced quantity * (Item net price/item price base quantity) "
    "+ Sum of invoice line charge amount - sum of invoice line allowance amount",
)
define("PEPPOL-EN16931-R121", "fatal", "Base quantity MUST be a positive number above zero.")
define("PEPPOL-EN16931-R130", "fatal", "Unit code of price base quantity MUST be same as invoiced quantity.")
define("PEPPOL-EN16931-P0100", "fatal", "Invoice type code MUST be set according to the profile.")
define("PEPPOL-EN16931-P0101", "fatal", "Credit note type code MUST be set according to the profile.")
define(
    "PEPPOL-EN16931-P0104", "fatal", "Tax Category G MUST be used when exemption reason code is VATEX-EU-G"
)
define(
    "PEPPOL-EN16931-P0105", "fatal", "Tax Category O MUST be used when exemption reason code is VATEX-EU-O"
)
define(
    "PEPPOL-EN16931-P0106", "fatal", "Tax Category K MUST be used when exemption reason code is VATEX-EU-IC"
)
define(
    "PEPPOL-EN16931-P0107", "fatal", "Tax Category AE MUST be used when exemption reason code is VATEX-EU-AE"
)
define(
    "PEPPOL-EN16931-P0108", "fatal", "Tax Category E MUST be used when exemption reason code is VATEX-EU-D"
)
define(
    "PEPPOL-EN16931-P0109", "fatal", "Tax Category E MUST be used when exemption reason code is VATEX-EU-F"
)
define(
    "PEPPOL-EN16931-P0110", "fatal", "Tax Category E MUST be used when exemption reason code is VATEX-EU-I"
)
define(
    "PEPPOL-EN16931-P0111", "fatal", "Tax Category E MUST be used when exemption reason code is VATEX-EU-J"
)
define(
    "PEPPOL-EN16931-P0112",
    "fatal",
    "Invoice type code 326 or 384 are only allowed when both buyer and seller are German organizations",
)
define("PEPPOL-EN16931-F001", "fatal", "A date MUST be formatted YYYY-MM-DD.")
define("PEPPOL-COMMON-R040", "fatal", "GLN must have a valid format according to GS1 rules.")
define("PEPPOL-COMMON-R041", "fatal", "Norwegian organization number MUST be stated in the correct format.")
define(
    "PEPPOL-COMMON-R042", "fatal", "Danish organization number (CVR) MUST be stated in the correct format."
)
define("PEPPOL-COMMON-R043", "fatal", "Belgian enterprise number MUST be stated in the correct format.")
define(
    "PEPPOL-COMMON-R044",
    "warning",
    "IPA Code (Codice Univoco Unità Organizzativa) must be stated in the correct format",
)
define("PEPPOL-COMMON-R045", "warning", "Tax Code (Codice Fiscale) must be stated in the correct format")
define("PEPPOL-COMMON-R046", "warning", "Tax Code (Codice Fiscale) must be stated in the correct format")
define("PEPPOL-COMMON-R047", "warning", "Italian VAT Code (Partita Iva) must be stated in the correct format")
# PEPPOL-COMMON-R048 (Partita IVA as endpoint 9906) is commented out in release 3.0.19: not a rule.
define("PEPPOL-COMMON-R049", "fatal", "Swedish organization number MUST be stated in the correct format.")
define(
    "PEPPOL-COMMON-R050", "fatal", "Australian Business Number (ABN) MUST be stated in the correct format."
)

#: What ``$profile`` must match (anywhere in the normalized ProfileID: ``matches`` is a search).
_PROFILE = re.compile(r"urn:fdc:peppol.eu:2017:poacc:billing:([0-9]{2}):1.0")
_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
_TWO_CENTS = Decimal("0.02")
_HUNDRED = Decimal(100)
_PRICE = clark("cac:Price")
_PARTY_IDENTIFICATION = clark("cac:PartyIdentification")
_TAX_TOTAL = clark("cac:TaxTotal")
_TAX_SUBTOTAL = clark("cac:TaxSubtotal")


def profile(doc: Doc) -> str:
    """``$profile``: the process number NN of ``urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0``, or 'Unknown'."""
    value = norm(text(doc.root, "cbc:ProfileID"))
    if exists(doc.root, "cbc:ProfileID") and _PROFILE.search(value):
        return value.split(":")[6]
    return "Unknown"


def _numbers(elements: list[etree._Element]) -> list[float]:
    """The values a general comparison with a number compares: each element's text as xs:double."""
    return [ids.xs_number(e.text or "") for e in elements]


@checks(
    "PEPPOL-EN16931-R001",
    "PEPPOL-EN16931-R002",
    "PEPPOL-EN16931-R003",
    "PEPPOL-EN16931-R004",
    "PEPPOL-EN16931-R005",
    "PEPPOL-EN16931-R007",
    "PEPPOL-EN16931-R053",
    "PEPPOL-EN16931-R054",
    "PEPPOL-EN16931-R055",
    "PEPPOL-EN16931-R080",
)
def check_document(doc: Doc) -> None:
    """The rules whose context is the Invoice (CreditNote) itself, and R005 on its tax currency."""
    root = doc.root
    doc.fail_unless(exists(root, "cbc:ProfileID"), "PEPPOL-EN16931-R001", root)
    doc.fail_unless(profile(doc) != "Unknown", "PEPPOL-EN16931-R007", root)
    doc.fail_unless(len(every(root, "cbc:Note")) <= 1 or both_german(doc), "PEPPOL-EN16931-R002", root)
    doc.fail_unless(
        exists(root, "cbc:BuyerReference") or exists(root, "cac:OrderReference/cbc:ID"),
        "PEPPOL-EN16931-R003",
        root,
    )
    doc.fail_unless(
        norm(text(root, "cbc:CustomizationID")).startswith(_SPECIFICATION), "PEPPOL-EN16931-R004", root
    )
    tax_totals = every(root, "cac:TaxTotal")
    with_subtotals = [t for t in tax_totals if exists(t, "cac:TaxSubtotal")]
    doc.fail_unless(len(with_subtotals) == 1, "PEPPOL-EN16931-R053", root)
    tax_currency = first(root, "cbc:TaxCurrencyCode")
    expected = 1 if tax_currency is not None else 0
    doc.fail_unless(len(tax_totals) - len(with_subtotals) == expected, "PEPPOL-EN16931-R054", root)
    if tax_currency is not None:
        amounts = [a for t in tax_totals for a in every(t, "cbc:TaxAmount")]
        in_tax = _numbers([a for a in amounts if a.get("currencyID") == norm(tax_currency.text)])
        in_document = _numbers(
            [a for a in amounts if a.get("currencyID") == norm(text(root, "cbc:DocumentCurrencyCode"))]
        )
        # General comparisons: "some amount <= 0" (a NaN compares false), as the schematron's test.
        same_sign = (any(v <= 0 for v in in_tax) and any(v <= 0 for v in in_document)) or (
            any(v >= 0 for v in in_tax) and any(v >= 0 for v in in_document)
        )
        doc.fail_unless(same_sign, "PEPPOL-EN16931-R055", root)
    document_currency = norm(text(root, "cbc:DocumentCurrencyCode"))
    for code in doc.all("cbc:TaxCurrencyCode"):
        doc.fail_unless(norm(code.text) != document_currency, "PEPPOL-EN16931-R005", code)
    if doc.credit_note:
        projects = [
            r
            for r in every(root, "cac:AdditionalDocumentReference")
            if any(c.text == "50" for c in every(r, "cbc:DocumentTypeCode"))
        ]
        doc.fail_unless(len(projects) <= 1, "PEPPOL-EN16931-R080", root)


#: R008's context, as the schematron states it: one compiled XPath 1.0 query (its normalize-space,
#: like XPath 2.0's, strips only XML white space; a comment inside an element is not text).
_EMPTY_ELEMENTS = cast("NodeSetXPath", etree.XPath("//*[not(*) and not(normalize-space())]"))


@checks("PEPPOL-EN16931-R008")
def check_empty_elements(doc: Doc) -> None:
    """R008: no element without child elements is blank (``<cbc:Note/>``; attributes do not count)."""
    for element in _EMPTY_ELEMENTS(doc.root):
        doc.fail("PEPPOL-EN16931-R008", element)


@checks("PEPPOL-EN16931-R010", "PEPPOL-EN16931-R020")
def check_electronic_addresses(doc: Doc) -> None:
    """Buyer and seller electronic addresses (BT-49, BT-34) are mandatory in PEPPOL."""
    for rule_id, role in (
        ("PEPPOL-EN16931-R010", "cac:AccountingCustomerParty"),
        ("PEPPOL-EN16931-R020", "cac:AccountingSupplierParty"),
    ):
        for element in doc.all(role):
            for party in every(element, "cac:Party"):
                doc.fail_unless(exists(party, "cbc:EndpointID"), rule_id, party)


def _document_and_line_allowance_charges(doc: Doc) -> list[etree._Element]:
    """``/*/cac:AllowanceCharge`` and ``/*/cac:InvoiceLine/cac:AllowanceCharge`` (not price level)."""
    root, line_tag = doc.root, clark(doc.line_tag)
    return [
        ac
        for ac in doc.all("cac:AllowanceCharge")
        if (parent := ac.getparent()) is root
        or (parent is not None and parent.tag == line_tag and parent.getparent() is root)
    ]


@checks("PEPPOL-EN16931-R040", "PEPPOL-EN16931-R041", "PEPPOL-EN16931-R042", "PEPPOL-EN16931-R043")
def check_allowance_charges(doc: Doc) -> None:
    """Document and line allowances/charges: percentage and base amount together, amount = base * %."""
    for ac in _document_and_line_allowance_charges(doc):
        has_factor = exists(ac, "cbc:MultiplierFactorNumeric")
        has_base = exists(ac, "cbc:BaseAmount")
        if has_factor and not has_base:
            doc.fail("PEPPOL-EN16931-R041", ac)
            continue
        if has_base and not has_factor:
            doc.fail("PEPPOL-EN16931-R042", ac)
            continue
        if has_factor and has_base:
            amount = dec(text(ac, "cbc:Amount")) if exists(ac, "cbc:Amount") else Decimal(0)
            base = dec(text(ac, "cbc:BaseAmount"))
            factor = dec(text(ac, "cbc:MultiplierFactorNumeric"))
            ok = (
                amount is not None
                and base is not None
                and factor is not None
                and ids.slack(amount, base * factor / _HUNDRED, _TWO_CENTS)
            )
            doc.fail_unless(ok, "PEPPOL-EN16931-R040", ac)
        indicator = norm(text(ac, "cbc:ChargeIndicator"))
        doc.fail_unless(indicator in ("true", "false"), "PEPPOL-EN16931-R043", ac)


@checks("PEPPOL-EN16931-R044", "PEPPOL-EN16931-R046")
def check_price_allowances(doc: Doc) -> None:
    """Price level allowances (BT-147): never a charge; net price = gross price - allowance."""
    for ac in doc.all("cac:AllowanceCharge"):
        price = ac.getparent()
        if price is None or price.tag != _PRICE:
            continue
        doc.fail_unless(norm(text(ac, "cbc:ChargeIndicator")) == "false", "PEPPOL-EN16931-R044", ac)
        if exists(ac, "cbc:BaseAmount"):
            net = dec(text(price, "cbc:PriceAmount"))
            gross, allowance = dec(text(ac, "cbc:BaseAmount")), dec(text(ac, "cbc:Amount"))
            ok = net is not None and gross is not None and allowance is not None and net == gross - allowance
            doc.fail_unless(ok, "PEPPOL-EN16931-R046", ac)


@checks("PEPPOL-EN16931-R051")
def check_currencies(doc: Doc) -> None:
    """Every amount but the VAT total in accounting currency (BT-111) is in the invoice currency (BT-5)."""
    document_currencies = {e.text or "" for e in every(doc.root, "cbc:DocumentCurrencyCode")}
    for name in (
        "cbc:Amount",
        "cbc:BaseAmount",
        "cbc:PriceAmount",
        "cbc:TaxableAmount",
        "cbc:LineExtensionAmount",
        "cbc:TaxExclusiveAmount",
        "cbc:TaxInclusiveAmount",
        "cbc:AllowanceTotalAmount",
        "cbc:ChargeTotalAmount",
        "cbc:PrepaidAmount",
        "cbc:PayableRoundingAmount",
        "cbc:PayableAmount",
        "cbc:TaxAmount",
    ):
        for amount in doc.all(name):
            if name == "cbc:TaxAmount" and not _is_breakdown_tax_amount(amount):
                continue
            currency = amount.get("currencyID")  # a missing attribute equals nothing, not even ""
            doc.fail_unless(
                currency is not None and currency in document_currencies, "PEPPOL-EN16931-R051", amount
            )


def _is_breakdown_tax_amount(amount: etree._Element) -> bool:
    """``cac:TaxTotal[cac:TaxSubtotal]/cbc:TaxAmount | cac:TaxSubtotal/cbc:TaxAmount``."""
    parent = amount.getparent()
    if parent is None:
        return False
    return parent.tag == _TAX_SUBTOTAL or (parent.tag == _TAX_TOTAL and exists(parent, "cac:TaxSubtotal"))


@checks("PEPPOL-EN16931-R061")
def check_direct_debit(doc: Doc) -> None:
    """Direct debit (payment means 49, 59) needs the mandate reference (BT-89)."""
    for means in doc.all("cac:PaymentMeans"):
        if norm(text(means, "cbc:PaymentMeansCode")) in ("49", "59"):
            doc.fail_unless(exists(means, "cac:PaymentMandate/cbc:ID"), "PEPPOL-EN16931-R061", means)


@checks(
    "PEPPOL-EN16931-R100",
    "PEPPOL-EN16931-R101",
    "PEPPOL-EN16931-R110",
    "PEPPOL-EN16931-R111",
    "PEPPOL-EN16931-R120",
    "PEPPOL-EN16931-R121",
    "PEPPOL-EN16931-R130",
)
def check_lines(doc: Doc) -> None:
    """Invoice (credit note) lines: the net amount, base quantity, invoiced object and line period."""
    root = doc.root
    quantity_path = "cbc:CreditedQuantity" if doc.credit_note else "cbc:InvoicedQuantity"
    for tag in ("cac:InvoiceLine", "cac:CreditNoteLine"):
        for line in doc.all(tag):
            _check_line_amount(doc, line, quantity_path)
            base_quantity = first(line, "cac:Price/cbc:BaseQuantity")
            if base_quantity is not None:
                value = dec(base_quantity.text)
                doc.fail_unless(value is not None and value > 0, "PEPPOL-EN16931-R121", line)
            references = every(line, "cac:DocumentReference")
            doc.fail_unless(len(references) <= 1, "PEPPOL-EN16931-R100", line)
            ok = not references or any(
                c.text == "130" for r in references for c in every(r, "cbc:DocumentTypeCode")
            )
            doc.fail_unless(ok, "PEPPOL-EN16931-R101", line)
    for rule_id, name, within in (
        ("PEPPOL-EN16931-R110", "cbc:StartDate", lambda date, bound: date >= bound),
        ("PEPPOL-EN16931-R111", "cbc:EndDate", lambda date, bound: date <= bound),
    ):
        bound_element = first(root, f"cac:InvoicePeriod/{name}")
        if bound_element is None:  # the context needs the invoice period's date
            continue
        bound = xs_date_start((bound_element.text or "").strip())
        for line in doc.lines:
            for date_element in every(line, f"cac:InvoicePeriod/{name}"):
                date = xs_date_start((date_element.text or "").strip())
                ok = date is not None and bound is not None and within(date, bound)
                doc.fail_unless(ok, rule_id, date_element)
    for quantity in doc.all("cbc:BaseQuantity"):
        price = quantity.getparent()
        if quantity.get("unitCode") is None or price is None or price.tag != _PRICE:
            continue
        price_line = price.getparent()
        invoiced = every(price_line, "cbc:InvoicedQuantity") + every(price_line, "cbc:CreditedQuantity")
        units = {q.get("unitCode") for q in every(price_line, quantity_path)}
        doc.fail_unless(not invoiced or quantity.get("unitCode") in units, "PEPPOL-EN16931-R130", quantity)


def _check_line_amount(doc: Doc, line: etree._Element, quantity_path: str) -> None:
    """R120: net amount = quantity * (net price / base quantity) + charges - allowances, ±0.02.

    Missing values take the schematron's defaults (amount 0, quantity 1, price 0, base quantity 1 —
    also when it is 0); the line allowance and charge sums are rounded to two decimals first.
    """

    def value(path: str, default: Decimal) -> Decimal | None:
        element = first(line, path)
        return default if element is None else dec(element.text)

    net = value("cbc:LineExtensionAmount", Decimal(0))
    quantity = value(quantity_path, Decimal(1))
    price = value("cac:Price/cbc:PriceAmount", Decimal(0))
    base = value("cac:Price/cbc:BaseQuantity", Decimal(1))
    if base == 0:
        base = Decimal(1)
    amounts: dict[str, list[Decimal | None]] = {"true": [], "false": []}
    for ac in every(line, "cac:AllowanceCharge"):
        indicator = norm(text(ac, "cbc:ChargeIndicator"))
        if indicator in amounts:
            amounts[indicator] += [dec(a.text) for a in every(ac, "cbc:Amount")]
    sums = {
        k: None if None in v else xround(sum(cast("list[Decimal]", v), Decimal(0)), 2)  # no None in v
        for k, v in amounts.items()
    }
    charges, allowances = sums["true"], sums["false"]
    ok = (
        net is not None
        and quantity is not None
        and price is not None
        and base is not None
        and charges is not None
        and allowances is not None
        and ids.slack(net, quantity * (price / base) + charges - allowances, _TWO_CENTS)
    )
    doc.fail_unless(ok, "PEPPOL-EN16931-R120", line)


@checks("PEPPOL-EN16931-P0100", "PEPPOL-EN16931-P0101", "PEPPOL-EN16931-P0112")
def check_type_codes(doc: Doc) -> None:
    """Profile 01 restricts the invoice and credit note type codes; 326 and 384 are German-only."""
    process = profile(doc)
    for code in doc.all("cbc:InvoiceTypeCode"):
        ok = process != "01" or norm(code.text) in PROFILE_01_INVOICE_TYPES
        doc.fail_unless(ok, "PEPPOL-EN16931-P0100", code)
        ok = norm("".join(cast("Iterator[str]", code.itertext()))) not in ("326", "384") or both_german(doc)
        doc.fail_unless(ok, "PEPPOL-EN16931-P0112", code)
    for code in doc.all("cbc:CreditNoteTypeCode"):
        ok = process != "01" or norm(code.text) in PROFILE_01_CREDIT_NOTE_TYPES
        doc.fail_unless(ok, "PEPPOL-EN16931-P0101", code)


#: P0104-P0111: the VAT category an exemption reason code requires (``upper-case(code) = …``).
_EXEMPTION_CATEGORIES = {
    "VATEX-EU-G": ("PEPPOL-EN16931-P0104", "G"),
    "VATEX-EU-O": ("PEPPOL-EN16931-P0105", "O"),
    "VATEX-EU-IC": ("PEPPOL-EN16931-P0106", "K"),
    "VATEX-EU-AE": ("PEPPOL-EN16931-P0107", "AE"),
    "VATEX-EU-D": ("PEPPOL-EN16931-P0108", "E"),
    "VATEX-EU-F": ("PEPPOL-EN16931-P0109", "E"),
    "VATEX-EU-I": ("PEPPOL-EN16931-P0110", "E"),
    "VATEX-EU-J": ("PEPPOL-EN16931-P0111", "E"),
}


@checks(*(rule_id for rule_id, _ in _EXEMPTION_CATEGORIES.values()))
def check_exemption_categories(doc: Doc) -> None:
    """A VAT exemption reason code (BT-121) implies its VAT category (cac:TaxCategory only, not line ones)."""
    for category in doc.all("cac:TaxCategory"):
        reason = text(category, "cbc:TaxExemptionReasonCode")
        if reason is None or reason.upper() not in _EXEMPTION_CATEGORIES:
            continue
        rule_id, expected = _EXEMPTION_CATEGORIES[reason.upper()]
        doc.fail_unless(norm(text(category, "cbc:ID")) == expected, rule_id, category)


@checks("PEPPOL-EN16931-F001")
def check_date_formats(doc: Doc) -> None:
    """Dates are exactly ``YYYY-MM-DD``: xs:date allows a time zone, PEPPOL does not."""
    for name in (
        "cbc:IssueDate",
        "cbc:DueDate",
        "cbc:TaxPointDate",
        "cbc:StartDate",
        "cbc:EndDate",
        "cbc:ActualDeliveryDate",
    ):
        for date in doc.all(name):
            value = date.text or ""
            doc.fail_unless(len(value) == 10 and xs_date(value) is not None, "PEPPOL-EN16931-F001", date)


def _danish_cvr(value: str) -> bool:
    """COMMON-R042 on the raw string (not normalized): ``DK`` + 8 digits, or 8 digits."""
    digits = set("1234567890")
    return (len(value) == 10 and value[:2] == "DK" and set(value[2:10]) <= digits) or (
        len(value) == 8 and set(value) <= digits
    )


def _digits(count: int | None = None) -> Callable[[str], bool]:
    """``matches(normalize-space(), '^[0-9]+$')`` (``{count}`` for ``+``) on a normalized value."""
    pattern = re.compile(r"[0-9]+" if count is None else rf"[0-9]{{{count}}}")
    return lambda value: pattern.fullmatch(value) is not None


#: ICD / EAS scheme -> (rule, test on the element's normalized text, or raw text for 0184).
_SCHEME_RULES: dict[str, tuple[str, Callable[[str], bool] | None]] = {
    "0088": ("PEPPOL-COMMON-R040", lambda v: _digits()(v) and ids.gln(v)),
    "0192": ("PEPPOL-COMMON-R041", lambda v: _digits(9)(v) and ids.mod11(v)),
    "0184": ("PEPPOL-COMMON-R042", None),
    "0208": ("PEPPOL-COMMON-R043", lambda v: _digits(10)(v) and ids.mod97_0208(v)),
    "0201": ("PEPPOL-COMMON-R044", ids.check_codice_ipa),
    "0210": ("PEPPOL-COMMON-R045", ids.check_cf),
    "0211": ("PEPPOL-COMMON-R047", ids.check_piva_se_it),
    "0007": (
        "PEPPOL-COMMON-R049",
        lambda v: len(v) == 10 and not math.isnan(ids.xs_number(v)) and ids.check_seorgnr(v),
    ),
    "0151": ("PEPPOL-COMMON-R050", lambda v: _digits(11)(v) and ids.abn(v)),
}


@checks(
    "PEPPOL-COMMON-R040",
    "PEPPOL-COMMON-R041",
    "PEPPOL-COMMON-R042",
    "PEPPOL-COMMON-R043",
    "PEPPOL-COMMON-R044",
    "PEPPOL-COMMON-R045",
    "PEPPOL-COMMON-R046",
    "PEPPOL-COMMON-R047",
    "PEPPOL-COMMON-R049",
    "PEPPOL-COMMON-R050",
)
def check_identifier_schemes(doc: Doc) -> None:
    """Endpoint, party and legal identifiers whose scheme has a check digit or format (GLN, CVR, …).

    The contexts are ``cbc:EndpointID``, ``cac:PartyIdentification/cbc:ID`` and ``cbc:CompanyID``
    with that ``@schemeID`` (R046, the codice fiscale as endpoint 9907, is endpoints only).
    """
    identifiers = [
        *doc.all("cbc:EndpointID"),
        *(
            i
            for i in doc.all("cbc:ID")
            if (p := i.getparent()) is not None and p.tag == _PARTY_IDENTIFICATION
        ),
        *doc.all("cbc:CompanyID"),
    ]
    endpoint_tag = clark("cbc:EndpointID")
    for identifier in identifiers:
        scheme = identifier.get("schemeID")
        raw = "".join(cast("Iterator[str]", identifier.itertext()))  # lxml-stubs: str or bytes
        if scheme == "9907" and identifier.tag == endpoint_tag:
            doc.fail_unless(ids.check_cf(norm(raw)), "PEPPOL-COMMON-R046", identifier)
            continue
        if scheme not in _SCHEME_RULES:
            continue
        rule_id, test = _SCHEME_RULES[scheme]
        ok = _danish_cvr(raw) if test is None else test(norm(raw))
        doc.fail_unless(ok, rule_id, identifier)
