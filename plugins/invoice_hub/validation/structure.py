"""Structural validation (``validate: structure``): is this a complete, well-typed document of its format?

Checked: the root element and namespace; the fields an invoice cannot do without; the type of every
date, amount, quantity, currency and unit code; totals consistent with the lines. The full EN 16931
rule set is ``validate: en16931``; these checks are the ones no receiving system can skip.

Rules (each finding's ``rule``):

========================  =====================================================================
XML-SYNTAX                not well-formed XML, or refused by the hardened parser (DOCTYPE, size)
XML-ROOT                  the root element is not the declared format's
XML-REQUIRED              a required element is missing or empty
XML-LINES                 no invoice lines (a warning for AP Agility, whose header-only exports exist)
XML-DATE                  not a date (UBL: xs:date, YYYY-MM-DD with an optional time zone; AP Agility: M/D/YYYY h:mm:ss AM or ISO)
XML-AMOUNT                an amount is not a decimal number, or has no ISO 4217 ``currencyID``
XML-NUMBER                a quantity or percentage is not a decimal number
XML-CURRENCY              a currency code is not an ISO 4217 code
XML-UNIT                  a quantity has no ``unitCode``, or one that is not 1-3 letters/digits
TOTAL-LINES               the sum of the line amounts differs from the document's line total
TOTAL-ALLOWANCES          the allowance total differs from the sum of the document allowances
TOTAL-CHARGES             the charge total differs from the sum of the document charges
TOTAL-TAX                 the tax total differs from the sum of the VAT breakdown
TOTAL-TAX-EXCLUSIVE       total without VAT ≠ line total - allowances + charges
TOTAL-TAX-INCLUSIVE       total with VAT ≠ total without VAT + VAT
TOTAL-PAYABLE             amount due ≠ total with VAT - paid amount + rounding
TOTAL-SUBTOTAL            AP Agility: SubTotal ≠ the sum of the NetAmountN fields
TOTAL-INVOICE             AP Agility: InvoiceAmount ≠ SubTotal - Discount + Freight + AmtMiscellaneous + taxes
CSV-*                     open-AR CSV (see ``formats.open_ar_csv``)
========================  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import cast

from lxml import etree

from invoice_hub.ubl_namespaces import CREDIT_NOTE_NS, INVOICE_NS, NS
from invoice_hub.validation.findings import Finding, Severity
from invoice_hub.xsdtypes import ap_agility_date, xs_date, xs_decimal

CAC, CBC = NS["cac"], NS["cbc"]
_UNIT = re.compile(r"^[A-Z0-9]{1,3}$")
_QUANTITIES = frozenset({"InvoicedQuantity", "CreditedQuantity", "BaseQuantity"})
_NUMBERS = frozenset({"Percent", "MultiplierFactorNumeric", *_QUANTITIES})
_CURRENCY_CODES = frozenset({"DocumentCurrencyCode", "TaxCurrencyCode"})
_PREFIXES = {CAC: "cac", CBC: "cbc"}
_TRUE = ("true", "1")  # xsd:boolean


@cache
def is_currency(code: str) -> bool:
    """ISO 4217 (pycountry's list: the one EN 16931's code list follows)."""
    import pycountry

    return len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None


def xpath(element: etree._Element) -> str:
    """``/Invoice/cac:InvoiceLine[2]/cbc:ID``: prefixed names, positions only where a name repeats."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        qname = etree.QName(node)
        prefix = _PREFIXES.get(qname.namespace or "")
        name = f"{prefix}:{qname.localname}" if prefix else qname.localname
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


class _Checks:
    """Collects findings; the helpers below are the rule implementations."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, rule: str, message: str, location: str, severity: Severity = "fatal") -> None:
        self.findings.append(Finding(rule=rule, severity=severity, message=message, location=location))

    def require(self, parent: etree._Element, path: str, what: str) -> etree._Element | None:
        found = parent.find(path, NS)
        if found is None or (len(found) == 0 and not (found.text or "").strip()):
            self.add("XML-REQUIRED", f"{what} is missing", f"{xpath(parent)}/{path}")
            return None
        return found

    def equal(
        self, rule: str, stated: Decimal | None, computed: Decimal | None, what: str, where: str
    ) -> None:
        if stated is not None and computed is not None and stated != computed:
            self.add(rule, f"{what}: the document says {stated}, the figures give {computed}", where)


# -- UBL ------------------------------------------------------------------------------------------


def check_ubl(root: etree._Element, declared: str = "ubl") -> list[Finding]:
    """The structural findings of a parsed UBL 2.1 Invoice or CreditNote."""
    c = _Checks()
    kind = {f"{{{INVOICE_NS}}}Invoice": "invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "credit_note"}.get(
        root.tag
    )
    if kind is None:
        c.add(
            "XML-ROOT",
            f"the root element is {root.tag}; {declared} needs a UBL 2.1 Invoice ({INVOICE_NS}) "
            f"or CreditNote ({CREDIT_NOTE_NS})",
            xpath(root),
        )
        return c.findings
    credit = kind == "credit_note"
    _ubl_types(c, root)
    c.require(root, "cbc:ID", "the invoice number (cbc:ID)")
    c.require(root, "cbc:IssueDate", "the issue date")
    c.require(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", "the document type code")
    c.require(root, "cbc:DocumentCurrencyCode", "the currency")
    for role, path in (
        ("seller", "cac:AccountingSupplierParty/cac:Party"),
        ("buyer", "cac:AccountingCustomerParty/cac:Party"),
    ):
        party = c.require(root, path, f"the {role}")
        if party is not None:
            if not any(
                (party.findtext(path, "", NS)).strip()
                for path in ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name")
            ):
                c.add(
                    "XML-REQUIRED",
                    f"the {role}'s name (PartyLegalEntity/RegistrationName or PartyName/Name) is missing",
                    f"{xpath(party)}/cac:PartyLegalEntity/cbc:RegistrationName",
                )
            c.require(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode", f"the {role}'s country")
    c.require(root, "cac:TaxTotal/cbc:TaxAmount", "the tax total")
    monetary = c.require(root, "cac:LegalMonetaryTotal", "the document totals")
    if monetary is not None:
        for name, what in (
            ("LineExtensionAmount", "the sum of the line amounts"),
            ("TaxExclusiveAmount", "the total without VAT"),
            ("TaxInclusiveAmount", "the total with VAT"),
            ("PayableAmount", "the amount due"),
        ):
            c.require(monetary, f"cbc:{name}", what)
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    lines = root.findall(line_tag, NS)
    if not lines:
        c.add("XML-LINES", "the document has no lines", f"{xpath(root)}/{line_tag}")
    for line in lines:
        c.require(line, "cbc:ID", "the line id")
        c.require(line, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", "the quantity")
        c.require(line, "cbc:LineExtensionAmount", "the line amount")
        c.require(line, "cac:Item/cbc:Name", "the item name")
        c.require(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID", "the line's VAT category")
        c.require(line, "cac:Price/cbc:PriceAmount", "the price")
    for allowance_charge in root.findall("cac:AllowanceCharge", NS):  # BR-31, BR-36 (and the schema)
        c.require(allowance_charge, "cbc:Amount", "the allowance or charge amount")
    if monetary is not None and not any(f.rule in ("XML-AMOUNT", "XML-REQUIRED") for f in c.findings):
        _ubl_totals(c, root, monetary, lines)
    return c.findings


def _ubl_types(c: _Checks, root: etree._Element) -> None:
    """Every date, amount, number, currency and unit code in the document, wherever it is."""
    for element in root.iter(f"{{{CBC}}}*"):
        name = etree.QName(element).localname
        text = (element.text or "").strip()
        if name.endswith("Amount"):
            if xs_decimal(text) is None:
                c.add("XML-AMOUNT", f"{name} is not a decimal number: {text!r}", xpath(element))
            currency = element.get("currencyID")
            if currency is None:
                c.add("XML-AMOUNT", f"{name} has no currencyID", xpath(element))
            elif not is_currency(currency):
                c.add("XML-CURRENCY", f"currencyID {currency!r} is not an ISO 4217 code", xpath(element))
        elif name.endswith("Date") and text:
            if xs_date(text) is None:
                c.add(
                    "XML-DATE",
                    f"{name} is not a date as YYYY-MM-DD (a time zone may follow: 2016-04-04+01:00): {text!r}",
                    xpath(element),
                )
        elif name in _NUMBERS and text:
            if xs_decimal(text) is None:
                c.add("XML-NUMBER", f"{name} is not a decimal number: {text!r}", xpath(element))
        elif name in _CURRENCY_CODES and text and not is_currency(text):
            c.add("XML-CURRENCY", f"{name} {text!r} is not an ISO 4217 currency code", xpath(element))
        if name in ("InvoicedQuantity", "CreditedQuantity"):
            unit = element.get("unitCode")
            if unit is None or not _UNIT.match(unit):
                c.add(
                    "XML-UNIT",
                    f"{name} needs a unitCode of 1-3 letters or digits (UN/ECE Rec. 20, e.g. C62, EA, HUR); "
                    f"got {unit!r}",
                    xpath(element),
                )


def _sum(elements: Iterable[etree._Element]) -> Decimal:
    return sum((xs_decimal(e.text) or Decimal(0) for e in elements), Decimal(0))


def _ubl_totals(
    c: _Checks,
    root: etree._Element,
    monetary: etree._Element,
    lines: list[etree._Element],
) -> None:
    def amount(name: str) -> Decimal | None:
        return xs_decimal(monetary.findtext(f"cbc:{name}", namespaces=NS))

    where = xpath(monetary)
    line_total = amount("LineExtensionAmount")
    c.equal(
        "TOTAL-LINES",
        line_total,
        # check_ubl calls this only without XML-REQUIRED findings: every line has its amount
        _sum(cast("etree._Element", line.find("cbc:LineExtensionAmount", NS)) for line in lines),
        "the sum of the line amounts",
        f"{where}/cbc:LineExtensionAmount",
    )
    document_level = root.findall("cac:AllowanceCharge", NS)
    charges = [a for a in document_level if a.findtext("cbc:ChargeIndicator", "", NS).strip() in _TRUE]
    allowances = [a for a in document_level if a not in charges]
    stated_allowances, stated_charges = amount("AllowanceTotalAmount"), amount("ChargeTotalAmount")
    for rule, items, stated, what, name in (
        ("TOTAL-ALLOWANCES", allowances, stated_allowances, "the allowance total", "AllowanceTotalAmount"),
        ("TOTAL-CHARGES", charges, stated_charges, "the charge total", "ChargeTotalAmount"),
    ):
        if items or stated:  # a missing total with allowances (charges) present counts as 0
            c.equal(
                rule,
                stated or Decimal(0),
                # check_ubl calls this only without XML-REQUIRED findings: every one has its amount
                _sum(cast("etree._Element", a.find("cbc:Amount", NS)) for a in items),
                what,
                f"{where}/cbc:{name}",
            )
    exclusive = amount("TaxExclusiveAmount")
    if line_total is not None:
        c.equal(
            "TOTAL-TAX-EXCLUSIVE",
            exclusive,
            line_total - (stated_allowances or 0) + (stated_charges or 0),
            "the total without VAT (line total - allowances + charges)",
            f"{where}/cbc:TaxExclusiveAmount",
        )
    currency = root.findtext("cbc:DocumentCurrencyCode", namespaces=NS)
    vat = None
    for total in root.findall("cac:TaxTotal", NS):
        total_amount = total.find("cbc:TaxAmount", NS)
        if total_amount is None or total_amount.get("currencyID") != currency:
            continue
        vat = xs_decimal(total_amount.text)
        subtotals = total.findall("cac:TaxSubtotal/cbc:TaxAmount", NS)
        if subtotals:
            c.equal("TOTAL-TAX", vat, _sum(subtotals), "the VAT total", xpath(total_amount))
    inclusive = amount("TaxInclusiveAmount")
    if exclusive is not None and vat is not None:
        c.equal(
            "TOTAL-TAX-INCLUSIVE",
            inclusive,
            exclusive + vat,
            "the total with VAT (total without VAT + VAT)",
            f"{where}/cbc:TaxInclusiveAmount",
        )
    if inclusive is not None:
        c.equal(
            "TOTAL-PAYABLE",
            amount("PayableAmount"),
            inclusive - (amount("PrepaidAmount") or 0) + (amount("PayableRoundingAmount") or 0),
            "the amount due (total with VAT - paid + rounding)",
            f"{where}/cbc:PayableAmount",
        )


# -- AP Agility -----------------------------------------------------------------------------------

_AP_HEADER_AMOUNTS = ("Discount", "Freight", "AmtMiscellaneous", "InvoiceAmount", "SubTotal")
_AP_LINE_NUMBERS = (
    "Discount", "Quantity", "Total", "UnitPrice", "UnitOfQuantity", "TaxAmount", "TaxRate", "QtyPuom",
    "TaxableAmount",
)  # fmt: skip
_AP_DATES = ("InvoiceDate", "DueDate", "DiscountDueDate", "ScanDate")
_NET_OR_TAX = re.compile(r"^(NetAmount|TaxAmount)\d+$")


def check_ap_agility(root: etree._Element, declared: str = "ap_agility") -> list[Finding]:
    """The structural findings of a parsed AP Agility export."""
    c = _Checks()
    if root.tag != "Invoice":
        c.add(
            "XML-ROOT",
            f"the root element is {root.tag}; {declared} needs <Invoice> without a namespace",
            xpath(root),
        )
        return c.findings
    for name, what in (
        ("InvoiceNumber", "the invoice number"),
        ("InvoiceDate", "the invoice date"),
        ("Currency", "the currency"),
        ("InvoiceAmount", "the invoice amount"),
    ):
        c.require(root, name, what)
    if not (root.findtext("VendorId") or "").strip() and not (root.findtext("VendorName1") or "").strip():
        c.add("XML-REQUIRED", "the vendor (VendorId or VendorName1) is missing", "/Invoice/VendorId")
    values: dict[str, Decimal] = {}
    for element in root:
        if not isinstance(element.tag, str):
            continue
        text = (element.text or "").strip()
        if not text:
            continue
        if element.tag in _AP_HEADER_AMOUNTS or _NET_OR_TAX.match(element.tag):
            number = xs_decimal(text)
            if number is None:
                c.add("XML-AMOUNT", f"{element.tag} is not a decimal number: {text!r}", xpath(element))
            else:
                values[element.tag] = number
        elif element.tag in _AP_DATES:
            try:
                ap_agility_date(text)
            except ValueError:
                c.add(
                    "XML-DATE",
                    f"{element.tag} is not a date (M/D/YYYY h:mm:ss AM or YYYY-MM-DD): {text!r}",
                    xpath(element),
                )
        elif element.tag == "Currency" and not is_currency(text):
            c.add("XML-CURRENCY", f"Currency {text!r} is not an ISO 4217 code", xpath(element))
    items = root.findall("LineItem")
    if not items:
        c.add("XML-LINES", "the export has no LineItem", "/Invoice/LineItem", severity="warning")
    for item in items:
        for name in _AP_LINE_NUMBERS:
            field = item.find(name)
            if field is None:
                continue
            text = (field.text or "").strip()
            if text and xs_decimal(text) is None:
                c.add("XML-NUMBER", f"{name} is not a decimal number: {text!r}", xpath(field))
    if any(f.rule == "XML-AMOUNT" for f in c.findings):
        return c.findings  # totals of unreadable amounts say nothing more
    nets = [v for k, v in values.items() if k.startswith("NetAmount")]
    taxes = [v for k, v in values.items() if k.startswith("TaxAmount")]
    if nets:
        c.equal(
            "TOTAL-SUBTOTAL", values.get("SubTotal"), sum(nets, Decimal(0)), "SubTotal", "/Invoice/SubTotal"
        )
    if "SubTotal" in values:
        computed = (
            values["SubTotal"]
            - values.get("Discount", Decimal(0))
            + values.get("Freight", Decimal(0))
            + values.get("AmtMiscellaneous", Decimal(0))
            + sum(taxes, Decimal(0))
        )
        c.equal(
            "TOTAL-INVOICE",
            values.get("InvoiceAmount"),
            computed,
            "InvoiceAmount (SubTotal - Discount + Freight + AmtMiscellaneous + taxes)",
            "/Invoice/InvoiceAmount",
        )
    return c.findings
