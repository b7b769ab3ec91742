"""EN 16931 validation: each rule passes on an official example and fires on a mutation of it.

The mutations are made with lxml on the official examples (``../shared/einvoice-examples``), never on
hand-written stubs: the unmutated example must not raise the rule, the mutated one must.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats.ubl import NS
from invoice_hub.validation.en16931 import RULES, check_en16931
from invoice_hub.validation.en16931.syntax import _CR_ROWS, _DT_ATTRIBUTES

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "einvoice-examples"
INVOICE = EXAMPLES / "en16931" / "ubl-tc434-example1.xml"
CREDIT_NOTE = EXAMPLES / "peppol-bis3" / "examples_base-creditnote-correction.xml"
ALLOWANCES = EXAMPLES / "peppol-bis3" / "examples_Allowance-example.xml"
PREFIX = {
    "cac": NS["cac"],
    "cbc": NS["cbc"],
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
}
#: The one official example that breaks a fatal rule of the standard it illustrates: its seller has no
#: PartyLegalEntity/RegistrationName (Seller name, BT-27), which BR-06 requires.
KNOWN_BREAKS = {"national-examples_GR_GR-base-example-TaxRepresentative.xml": {"BR-06"}}


def load(path: Path = INVOICE) -> etree._Element:
    return etree.parse(str(path)).getroot()


def fired(root: etree._Element) -> set[str]:
    return {f.rule for f in check_en16931(root)}


def q(name: str) -> str:
    prefix, _, local = name.partition(":")
    return f"{{{PREFIX[prefix]}}}{local}"


def ensure(parent: etree._Element, path: str) -> etree._Element:
    """The element at ``path`` below ``parent``, created (appended) where missing."""
    node = parent
    for step in path.split("/"):
        found = node.find(step, PREFIX)
        node = found if found is not None else etree.SubElement(node, q(step))
    return node


def find(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, PREFIX)
    assert found is not None, path
    return found


def remove(root: etree._Element, path: str) -> None:
    for element in root.findall(path, PREFIX):
        element.getparent().remove(element)


def set_text(root: etree._Element, path: str, value: str) -> None:
    ensure(root, path).text = value


# -- every official example: no fatal finding ------------------------------------------------------

ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.xml"))


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.name)
def test_official_examples_have_no_fatal_finding(path: Path) -> None:
    fatal = {f.rule for f in check_en16931(load(path)) if f.severity == "fatal"}
    assert fatal == KNOWN_BREAKS.get(path.name, set())


def test_all_seventeen_examples_are_checked() -> None:
    assert len(ALL_EXAMPLES) == 17


# -- UBL-CR: generated from the rule data, one test per rule ---------------------------------------

PLAIN_CR = [(rule_id, path) for rule_id, _, path, _ in _CR_ROWS if not path.startswith("*")]


def _break_cr(root: etree._Element, path: str) -> None:
    steps = path.removeprefix("//").split("/")
    attribute = steps.pop()[1:] if steps[-1].startswith("@") else None
    steps = ["cac:InvoiceLine" if s == "LINE" else s for s in steps]
    target = ensure(root, "/".join(steps)) if steps else find(root, "cbc:ID")
    if attribute:
        target.set(attribute, "x")


@pytest.mark.parametrize(("rule_id", "path"), PLAIN_CR, ids=[r for r, _ in PLAIN_CR])
def test_ubl_cr_rule(rule_id: str, path: str) -> None:
    root = load()
    assert rule_id not in fired(root)
    _break_cr(root, path)
    assert rule_id in fired(root)


# -- mutation table for the other rules ------------------------------------------------------------

Mutation = Callable[[etree._Element], object]
L1 = "cac:InvoiceLine"
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
TOT = "cac:LegalMonetaryTotal"
SUB = "cac:TaxTotal/cac:TaxSubtotal"


def _add_allowance(
    root: etree._Element, charge: bool, category: str = "S", percent: str | None = "21", amount: str = "10"
) -> etree._Element:
    ac = etree.Element(q("cac:AllowanceCharge"))
    root.insert(list(root).index(find(root, "cac:TaxTotal")), ac)
    ensure(ac, "cbc:ChargeIndicator").text = "true" if charge else "false"
    ensure(ac, "cbc:AllowanceChargeReason").text = "reason"
    ensure(ac, "cbc:Amount").set("currencyID", root.findtext("cbc:DocumentCurrencyCode", namespaces=PREFIX))
    find(ac, "cbc:Amount").text = amount
    ensure(ac, "cac:TaxCategory/cbc:ID").text = category
    if percent is not None:
        ensure(ac, "cac:TaxCategory/cbc:Percent").text = percent
    ensure(ac, "cac:TaxCategory/cac:TaxScheme/cbc:ID").text = "VAT"
    return ac


def _line_category(root: etree._Element, code: str, percent: str | None) -> None:
    category = find(root, f"{L1}/cac:Item/cac:ClassifiedTaxCategory")
    find(category, "cbc:ID").text = code
    remove(category, "cbc:Percent")
    if percent is not None:
        category.insert(1, etree.Element(q("cbc:Percent")))
        find(category, "cbc:Percent").text = percent


def add_tax_scheme(root: etree._Element, party: str, company_id: str, scheme: str = "VAT") -> None:
    """A party tax scheme ``scheme`` (cac:PartyTaxScheme) with ``company_id``, before the party's legal entity."""
    element = etree.Element(q("cac:PartyTaxScheme"))
    find(root, f"{party}/cac:PartyLegalEntity").addprevious(element)
    ensure(element, "cbc:CompanyID").text = company_id
    ensure(element, "cac:TaxScheme/cbc:ID").text = scheme


def nothing(root: etree._Element) -> None:
    """No change: the example as it is already makes the rule apply."""


def _breakdown(root: etree._Element) -> etree._Element:
    return find(root, f"{SUB}/cac:TaxCategory")


CASES: list[tuple[str, Mutation]] = [
    ("BR-01", lambda r: remove(r, "cbc:CustomizationID")),
    ("BR-02", lambda r: set_text(r, "cbc:ID", " ")),
    ("BR-03", lambda r: remove(r, "cbc:IssueDate")),
    ("BR-04", lambda r: remove(r, "cbc:InvoiceTypeCode")),
    ("BR-05", lambda r: remove(r, "cbc:DocumentCurrencyCode")),
    ("BR-06", lambda r: remove(r, f"{SUP}/cac:PartyLegalEntity/cbc:RegistrationName")),
    ("BR-07", lambda r: remove(r, f"{BUY}/cac:PartyLegalEntity/cbc:RegistrationName")),
    ("BR-08", lambda r: remove(r, f"{SUP}/cac:PostalAddress")),
    ("BR-09", lambda r: remove(r, f"{SUP}/cac:PostalAddress/cac:Country")),
    ("BR-10", lambda r: remove(r, f"{BUY}/cac:PostalAddress")),
    ("BR-11", lambda r: remove(r, f"{BUY}/cac:PostalAddress/cac:Country")),
    ("BR-12", lambda r: remove(r, f"{TOT}/cbc:LineExtensionAmount")),
    ("BR-13", lambda r: remove(r, f"{TOT}/cbc:TaxExclusiveAmount")),
    ("BR-14", lambda r: remove(r, f"{TOT}/cbc:TaxInclusiveAmount")),
    ("BR-15", lambda r: remove(r, f"{TOT}/cbc:PayableAmount")),
    ("BR-16", lambda r: remove(r, L1)),
    ("BR-17", lambda r: ensure(r, "cac:PayeeParty/cac:PartyIdentification/cbc:ID")),
    (
        "BR-18",
        lambda r: ensure(
            r, "cac:TaxRepresentativeParty/cac:PostalAddress/cac:Country/cbc:IdentificationCode"
        ),
    ),
    ("BR-19", lambda r: ensure(r, "cac:TaxRepresentativeParty/cac:PartyName/cbc:Name")),
    ("BR-20", lambda r: ensure(r, "cac:TaxRepresentativeParty/cac:PostalAddress/cbc:CityName")),
    ("BR-21", lambda r: set_text(r, f"{L1}/cbc:ID", "")),
    ("BR-22", lambda r: remove(r, f"{L1}/cbc:InvoicedQuantity")),
    ("BR-23", lambda r: find(r, f"{L1}/cbc:InvoicedQuantity").attrib.pop("unitCode")),
    ("BR-24", lambda r: remove(r, f"{L1}/cbc:LineExtensionAmount")),
    ("BR-25", lambda r: remove(r, f"{L1}/cac:Item/cbc:Name")),
    ("BR-26", lambda r: remove(r, f"{L1}/cac:Price/cbc:PriceAmount")),
    ("BR-27", lambda r: set_text(r, f"{L1}/cac:Price/cbc:PriceAmount", "-1")),
    ("BR-28", lambda r: set_text(r, f"{L1}/cac:Price/cac:AllowanceCharge/cbc:BaseAmount", "-5")),
    (
        "BR-29",
        lambda r: (
            set_text(r, "cac:InvoicePeriod/cbc:StartDate", "2020-02-01"),
            set_text(r, "cac:InvoicePeriod/cbc:EndDate", "2020-01-01"),
        ),
    ),
    (
        "BR-30",
        lambda r: (
            set_text(r, f"{L1}/cac:InvoicePeriod/cbc:StartDate", "2020-02-01"),
            set_text(r, f"{L1}/cac:InvoicePeriod/cbc:EndDate", "2020-01-01"),
        ),
    ),
    ("BR-31", lambda r: remove(_add_allowance(r, False), "cbc:Amount")),
    ("BR-32", lambda r: remove(_add_allowance(r, False), "cac:TaxCategory")),
    ("BR-33", lambda r: remove(_add_allowance(r, False), "cbc:AllowanceChargeReason")),
    ("BR-36", lambda r: remove(_add_allowance(r, True), "cbc:Amount")),
    ("BR-37", lambda r: remove(_add_allowance(r, True), "cac:TaxCategory")),
    ("BR-38", lambda r: remove(_add_allowance(r, True), "cbc:AllowanceChargeReason")),
    (
        "BR-41",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "false"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:AllowanceChargeReason", "x"),
        ),
    ),
    (
        "BR-42",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "false"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:Amount", "1"),
        ),
    ),
    (
        "BR-43",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "true"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:AllowanceChargeReason", "x"),
        ),
    ),
    (
        "BR-44",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "true"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:Amount", "1"),
        ),
    ),
    ("BR-45", lambda r: remove(r, f"{SUB}/cbc:TaxableAmount")),
    ("BR-46", lambda r: remove(r, f"{SUB}/cbc:TaxAmount")),
    ("BR-47", lambda r: remove(r, f"{SUB}/cac:TaxCategory/cbc:ID")),
    ("BR-48", lambda r: remove(r, f"{SUB}/cac:TaxCategory/cbc:Percent")),
    ("BR-49", lambda r: remove(r, "cac:PaymentMeans/cbc:PaymentMeansCode")),
    ("BR-50", lambda r: set_text(r, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", "")),
    (
        "BR-51",
        lambda r: set_text(r, "cac:PaymentMeans/cac:CardAccount/cbc:PrimaryAccountNumberID", "12345678901"),
    ),
    ("BR-52", lambda r: ensure(r, "cac:AdditionalDocumentReference/cbc:DocumentDescription")),
    ("BR-53", lambda r: set_text(r, "cbc:TaxCurrencyCode", "SEK")),
    ("BR-54", lambda r: set_text(r, f"{L1}/cac:Item/cac:AdditionalItemProperty/cbc:Name", "colour")),
    ("BR-55", lambda r: ensure(r, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate")),
    ("BR-56", lambda r: ensure(r, "cac:TaxRepresentativeParty/cac:PartyName/cbc:Name")),
    ("BR-57", lambda r: ensure(r, "cac:Delivery/cac:DeliveryLocation/cac:Address/cbc:CityName")),
    ("BR-61", lambda r: remove(r, "cac:PaymentMeans/cac:PayeeFinancialAccount")),
    ("BR-62", lambda r: set_text(r, f"{SUP}/cbc:EndpointID", "123")),
    ("BR-63", lambda r: set_text(r, f"{BUY}/cbc:EndpointID", "123")),
    ("BR-64", lambda r: set_text(r, f"{L1}/cac:Item/cac:StandardItemIdentification/cbc:ID", "123")),
    (
        "BR-65",
        lambda r: set_text(r, f"{L1}/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode", "123"),
    ),
    (
        "BR-CO-03",
        lambda r: (
            set_text(r, "cbc:TaxPointDate", "2020-01-01"),
            set_text(r, "cac:InvoicePeriod/cbc:DescriptionCode", "3"),
        ),
    ),
    ("BR-CO-04", lambda r: remove(r, f"{L1}/cac:Item/cac:ClassifiedTaxCategory")),
    ("BR-CO-09", lambda r: set_text(r, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "QQ123")),
    ("BR-CO-10", lambda r: set_text(r, f"{TOT}/cbc:LineExtensionAmount", "1.00")),
    ("BR-CO-11", lambda r: set_text(r, f"{TOT}/cbc:AllowanceTotalAmount", "5.00")),
    ("BR-CO-12", lambda r: set_text(r, f"{TOT}/cbc:ChargeTotalAmount", "5.00")),
    ("BR-CO-13", lambda r: set_text(r, f"{TOT}/cbc:TaxExclusiveAmount", "1.00")),
    ("BR-CO-14", lambda r: set_text(r, "cac:TaxTotal/cbc:TaxAmount", "1.00")),
    ("BR-CO-15", lambda r: set_text(r, f"{TOT}/cbc:TaxInclusiveAmount", "1.00")),
    ("BR-CO-16", lambda r: set_text(r, f"{TOT}/cbc:PayableAmount", "1.00")),
    ("BR-CO-17", lambda r: set_text(r, f"{SUB}/cbc:TaxAmount", "999.00")),
    ("BR-CO-18", lambda r: remove(r, SUB)),
    ("BR-CO-19", lambda r: ensure(r, "cac:InvoicePeriod")),
    ("BR-CO-20", lambda r: ensure(r, f"{L1}/cac:InvoicePeriod")),
    ("BR-CO-21", lambda r: remove(_add_allowance(r, False), "cbc:AllowanceChargeReason")),
    ("BR-CO-22", lambda r: remove(_add_allowance(r, True), "cbc:AllowanceChargeReason")),
    (
        "BR-CO-23",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "false"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:Amount", "1"),
        ),
    ),
    (
        "BR-CO-24",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "true"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:Amount", "1"),
        ),
    ),
    (
        "BR-CO-26",
        lambda r: (
            remove(r, f"{SUP}/cac:PartyTaxScheme"),
            remove(r, f"{SUP}/cac:PartyIdentification"),
            remove(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID"),
        ),
    ),
    ("BR-DEC-01", lambda r: find(_add_allowance(r, False, amount="1.001"), "cbc:Amount")),
    ("BR-DEC-02", lambda r: set_text(_add_allowance(r, False), "cbc:BaseAmount", "1.001")),
    ("BR-DEC-05", lambda r: find(_add_allowance(r, True, amount="1.001"), "cbc:Amount")),
    ("BR-DEC-06", lambda r: set_text(_add_allowance(r, True), "cbc:BaseAmount", "1.001")),
    ("BR-DEC-09", lambda r: set_text(r, f"{TOT}/cbc:LineExtensionAmount", "1.001")),
    ("BR-DEC-10", lambda r: set_text(r, f"{TOT}/cbc:AllowanceTotalAmount", "1.001")),
    ("BR-DEC-11", lambda r: set_text(r, f"{TOT}/cbc:ChargeTotalAmount", "1.001")),
    ("BR-DEC-12", lambda r: set_text(r, f"{TOT}/cbc:TaxExclusiveAmount", "1.001")),
    ("BR-DEC-13", lambda r: set_text(r, "cac:TaxTotal/cbc:TaxAmount", "1.001")),
    ("BR-DEC-14", lambda r: set_text(r, f"{TOT}/cbc:TaxInclusiveAmount", "1.001")),
    (
        "BR-DEC-15",
        lambda r: (
            set_text(r, "cbc:TaxCurrencyCode", "SEK"),
            find(r, "cac:TaxTotal").addnext(etree.Element(q("cac:TaxTotal"))),
            ensure(r, "cac:TaxTotal[2]/cbc:TaxAmount").set("currencyID", "SEK"),
            set_text(r, "cac:TaxTotal[2]/cbc:TaxAmount", "219.001"),
        ),
    ),
    ("BR-DEC-16", lambda r: set_text(r, f"{TOT}/cbc:PrepaidAmount", "1.001")),
    ("BR-DEC-17", lambda r: set_text(r, f"{TOT}/cbc:PayableRoundingAmount", "1.001")),
    ("BR-DEC-18", lambda r: set_text(r, f"{TOT}/cbc:PayableAmount", "1.001")),
    ("BR-DEC-19", lambda r: set_text(r, f"{SUB}/cbc:TaxableAmount", "1.001")),
    ("BR-DEC-20", lambda r: set_text(r, f"{SUB}/cbc:TaxAmount", "1.001")),
    ("BR-DEC-23", lambda r: set_text(r, f"{L1}/cbc:LineExtensionAmount", "1.001")),
    (
        "BR-DEC-24",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "false"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:Amount", "1.001"),
        ),
    ),
    (
        "BR-DEC-25",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "false"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:BaseAmount", "1.001"),
        ),
    ),
    (
        "BR-DEC-27",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "true"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:Amount", "1.001"),
        ),
    ),
    (
        "BR-DEC-28",
        lambda r: (
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:ChargeIndicator", "true"),
            set_text(r, f"{L1}/cac:AllowanceCharge/cbc:BaseAmount", "1.001"),
        ),
    ),
    ("BR-CL-01", lambda r: set_text(r, "cbc:InvoiceTypeCode", "999")),
    ("BR-CL-03", lambda r: find(r, f"{TOT}/cbc:PayableAmount").set("currencyID", "XYZ")),
    ("BR-CL-04", lambda r: set_text(r, "cbc:DocumentCurrencyCode", "XYZ")),
    ("BR-CL-05", lambda r: set_text(r, "cbc:TaxCurrencyCode", "XYZ")),
    ("BR-CL-06", lambda r: set_text(r, "cac:InvoicePeriod/cbc:DescriptionCode", "1")),
    (
        "BR-CL-07",
        lambda r: (
            set_text(r, "cac:AdditionalDocumentReference/cbc:ID", "1"),
            set_text(r, "cac:AdditionalDocumentReference/cbc:DocumentTypeCode", "130"),
            find(r, "cac:AdditionalDocumentReference/cbc:ID").set("schemeID", "QQQ"),
        ),
    ),
    ("BR-CL-08", lambda r: set_text(r, "cbc:Note", "#QQQ#text")),
    ("BR-CL-10", lambda r: ensure(r, f"{SUP}/cac:PartyIdentification/cbc:ID").set("schemeID", "9999")),
    ("BR-CL-11", lambda r: ensure(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "9999")),
    (
        "BR-CL-13",
        lambda r: ensure(r, f"{L1}/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode").set(
            "listID", "QQQ"
        ),
    ),
    ("BR-CL-14", lambda r: set_text(r, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "QQ")),
    ("BR-CL-15", lambda r: set_text(r, f"{L1}/cac:Item/cac:OriginCountry/cbc:IdentificationCode", "QQ")),
    ("BR-CL-16", lambda r: set_text(r, "cac:PaymentMeans/cbc:PaymentMeansCode", "999")),
    ("BR-CL-17", lambda r: set_text(r, f"{SUB}/cac:TaxCategory/cbc:ID", "Q")),
    ("BR-CL-18", lambda r: set_text(r, f"{L1}/cac:Item/cac:ClassifiedTaxCategory/cbc:ID", "Q")),
    ("BR-CL-19", lambda r: set_text(_add_allowance(r, False), "cbc:AllowanceChargeReasonCode", "999")),
    ("BR-CL-20", lambda r: set_text(_add_allowance(r, True), "cbc:AllowanceChargeReasonCode", "QQQ")),
    (
        "BR-CL-21",
        lambda r: ensure(r, f"{L1}/cac:Item/cac:StandardItemIdentification/cbc:ID").set("schemeID", "9999"),
    ),
    ("BR-CL-22", lambda r: set_text(r, f"{SUB}/cac:TaxCategory/cbc:TaxExemptionReasonCode", "VATEX-QQ")),
    ("BR-CL-23", lambda r: find(r, f"{L1}/cbc:InvoicedQuantity").set("unitCode", "QQQ")),
    (
        "BR-CL-24",
        lambda r: ensure(
            r, "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
        ).set("mimeCode", "text/html"),
    ),
    ("BR-CL-25", lambda r: ensure(r, f"{SUP}/cbc:EndpointID").set("schemeID", "QQQ")),
    ("BR-CL-26", lambda r: ensure(r, "cac:Delivery/cac:DeliveryLocation/cbc:ID").set("schemeID", "9999")),
    (
        "BR-S-01",
        lambda r: [setattr(c, "text", "Z") for c in r.findall(f"{SUB}/cac:TaxCategory/cbc:ID", PREFIX)],
    ),
    ("BR-S-02", lambda r: remove(r, f"{SUP}/cac:PartyTaxScheme")),
    ("BR-S-03", lambda r: (_add_allowance(r, False), remove(r, f"{SUP}/cac:PartyTaxScheme"))),
    ("BR-S-04", lambda r: (_add_allowance(r, True), remove(r, f"{SUP}/cac:PartyTaxScheme"))),
    ("BR-S-05", lambda r: _line_category(r, "S", "0")),
    ("BR-S-06", lambda r: _add_allowance(r, False, percent="0")),
    ("BR-S-07", lambda r: _add_allowance(r, True, percent="0")),
    ("BR-S-08", lambda r: set_text(r, f"{SUB}/cbc:TaxableAmount", "1.00")),
    ("BR-S-09", lambda r: set_text(r, f"{SUB}/cbc:TaxAmount", "0.10")),
    ("BR-S-10", lambda r: set_text(_breakdown(r), "cbc:TaxExemptionReason", "why")),
    ("UBL-DT-01", lambda r: set_text(r, f"{TOT}/cbc:PayableAmount", "1.001")),
    (
        "UBL-DT-06",
        lambda r: ensure(
            r, "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
        ).set("filename", "a.pdf"),
    ),
    (
        "UBL-DT-07",
        lambda r: ensure(
            r, "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject"
        ).set("mimeCode", "application/pdf"),
    ),
    ("UBL-CR-002", lambda r: set_text(r, "cbc:UBLVersionID", "2.0")),
    ("UBL-CR-412", lambda r: set_text(r, "cac:PaymentMeans/cbc:PaymentDueDate", "2020-01-01")),
    ("UBL-CR-665", lambda r: ensure(r, "cac:AdditionalDocumentReference/cbc:ID").set("schemeID", "AAA")),
    (
        "UBL-CR-666",
        lambda r: (
            set_text(r, "cac:AdditionalDocumentReference/cbc:DocumentTypeCode", "130"),
            ensure(r, "cac:AdditionalDocumentReference/cac:Attachment"),
        ),
    ),
    (
        "UBL-CR-673",
        lambda r: (
            set_text(r, "cac:AdditionalDocumentReference/cbc:DocumentTypeCode", "130"),
            set_text(r, "cac:AdditionalDocumentReference/cbc:DocumentDescription", "x"),
        ),
    ),
    (
        "UBL-SR-01",
        lambda r: [
            etree.SubElement(ensure(r, "cac:ContractDocumentReference"), q("cbc:ID")) for _ in range(2)
        ],
    ),
    ("UBL-SR-08", lambda r: [etree.SubElement(r, q("cac:InvoicePeriod")) for _ in range(2)]),
    ("UBL-SR-24", lambda r: [etree.SubElement(r, q("cac:Delivery")) for _ in range(2)]),
    ("UBL-SR-34", lambda r: [etree.SubElement(find(r, L1), q("cbc:Note")) for _ in range(2)]),
    ("UBL-SR-47", lambda r: set_text(r, "cac:PaymentMeans/cbc:PaymentMeansCode", "58")),
    (
        "UBL-SR-48",
        lambda r: find(r, f"{L1}/cac:Item").append(
            copy.deepcopy(find(r, f"{L1}/cac:Item/cac:ClassifiedTaxCategory"))
        ),
    ),
    (
        "UBL-SR-51",
        lambda r: [
            etree.SubElement(find(r, f"{SUP}/cac:PostalAddress"), q("cac:AddressLine")) for _ in range(2)
        ],
    ),
    ("UBL-SR-53", lambda r: remove(r, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID")),
]
_DT_ATTRIBUTE_CASES = [(rule_id, attribute) for attribute, (rule_id, _) in _DT_ATTRIBUTES.items()]


@pytest.mark.parametrize(("rule_id", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, mutate: Mutation) -> None:
    root = load()
    assert rule_id not in fired(root), f"{rule_id} fires on the unmutated example"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the mutated example"


@pytest.mark.parametrize(
    ("rule_id", "attribute"), _DT_ATTRIBUTE_CASES, ids=[c[0] for c in _DT_ATTRIBUTE_CASES]
)
def test_dt_attribute_rules(rule_id: str, attribute: str) -> None:
    root = load()
    assert rule_id not in fired(root)
    find(root, "cbc:ID").set(attribute, "x")
    assert rule_id in fired(root)


def test_credit_note_lines_are_checked_like_invoice_lines() -> None:
    root = load(CREDIT_NOTE)
    assert not {f.rule for f in check_en16931(root) if f.severity == "fatal"}
    remove(root, "cac:CreditNoteLine/cac:Item/cbc:Name")
    assert "BR-25" in fired(root)


def test_rounding_noise_does_not_fail_a_valid_invoice() -> None:
    """BR-CO-10 compares with the sum rounded half up to two decimals, as the rule states."""
    root = load()
    lines = root.findall(f"{L1}/cbc:LineExtensionAmount", PREFIX)
    before = fired(root)
    lines[0].text = str(float(lines[0].text) + 0.004)  # the sum's third decimal only
    assert "BR-CO-10" not in fired(root) - before or "BR-DEC-23" in fired(root)


def test_finding_has_id_flag_message_and_xpath() -> None:
    root = load()
    set_text(root, f"{L1}/cac:Price/cbc:PriceAmount", "-1")
    finding = next(f for f in check_en16931(root) if f.rule == "BR-27")
    assert finding.severity == RULES["BR-27"].flag == "fatal"
    assert finding.message == "The Item net price (BT-146) shall NOT be negative."
    assert finding.location == "/Invoice/cac:InvoiceLine[1]"


def test_fragment_missing_most_elements_gets_verdicts_without_crash() -> None:
    root = etree.fromstring(
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        b'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
        b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        b"<cbc:ID>1</cbc:ID><cac:LegalMonetaryTotal><cbc:PayableAmount currencyID='EUR'>x</cbc:PayableAmount>"
        b"</cac:LegalMonetaryTotal><cac:InvoiceLine><cbc:ID>1</cbc:ID></cac:InvoiceLine></Invoice>"
    )
    rules = fired(root)
    assert {
        "BR-01",
        "BR-03",
        "BR-05",
        "BR-06",
        "BR-12",
        "BR-CO-10",
        "BR-22",
        "BR-26",
        "BR-CO-18",
    } <= rules
    assert "BR-02" not in rules and "BR-16" not in rules


def test_not_ubl_root_is_a_fatal_finding() -> None:
    findings = check_en16931(etree.fromstring(b"<Invoice/>"))
    assert [f.rule for f in findings] == ["XML-ROOT"]


def test_always_true_rules_never_fire() -> None:
    root = load()
    ac = _add_allowance(root, False)
    set_text(ac, "cbc:AllowanceChargeReasonCode", "95")
    assert not {"BR-CO-05", "BR-CO-06", "BR-CO-07", "BR-CO-08"} & fired(root)
