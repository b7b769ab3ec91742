"""Structural validation: every official example passes; each check has a failing document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats import read_document
from invoice_hub.formats.ubl import NS
from tests.conftest import SHARED
from tests.test_ap_agility import seed_example

EXAMPLES = sorted((SHARED / "einvoice-examples").rglob("*.xml"))
BASE = SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_official_example_passes(path: Path) -> None:
    document = read_document(path, "ubl", validate="structure")
    assert document.valid and document.findings == [], document.findings


def ubl_with(tmp_path: Path, change: Callable[[etree._Element], None]) -> Path:
    root = etree.parse(str(BASE)).getroot()
    change(root)
    path = tmp_path / "changed.xml"
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def find(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, NS)
    assert found is not None, path
    return found


def remove(path: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        element = find(root, path)
        element.getparent().remove(element)

    return change


def set_text(path: str, text: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        find(root, path).text = text

    return change


def set_attribute(path: str, name: str, value: str | None) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        element = find(root, path)
        if value is None:
            del element.attrib[name]
        else:
            element.set(name, value)

    return change


def remove_all_lines(root: etree._Element) -> None:
    for line in root.findall("cac:InvoiceLine", NS):
        root.remove(line)


def add_allowance_total(root: etree._Element) -> None:
    """An allowance total without any allowance (the example has none)."""
    charges = find(root, "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount")
    total = etree.Element(f"{{{NS['cbc']}}}AllowanceTotalAmount", currencyID="EUR")
    total.text = "1.00"
    charges.addprevious(total)


UBL_CASES = {
    "XML-REQUIRED": (remove("cbc:IssueDate"), "/Invoice/cbc:IssueDate"),
    "XML-REQUIRED-line": (
        remove("cac:InvoiceLine/cac:Item/cbc:Name"),
        "/Invoice/cac:InvoiceLine[1]/cac:Item/cbc:Name",
    ),
    "XML-REQUIRED-charge": (
        remove("cac:AllowanceCharge/cbc:Amount"),
        "/Invoice/cac:AllowanceCharge/cbc:Amount",
    ),
    "XML-DATE": (set_text("cbc:IssueDate", "13/11/2017"), "/Invoice/cbc:IssueDate"),
    "XML-AMOUNT": (
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "1.234,50"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ),
    "XML-AMOUNT-nan": (  # Python's Decimal takes NaN and exponents; xs:decimal does not
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "NaN"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ),
    "XML-AMOUNT-exponent": (
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "1.325E+3"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ),
    "XML-AMOUNT-currency": (
        set_attribute("cac:LegalMonetaryTotal/cbc:PayableAmount", "currencyID", None),
        "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ),
    "XML-CURRENCY": (set_text("cbc:DocumentCurrencyCode", "EUROS"), "/Invoice/cbc:DocumentCurrencyCode"),
    "XML-NUMBER": (
        set_text("cac:InvoiceLine/cbc:InvoicedQuantity", "seven"),
        "/Invoice/cac:InvoiceLine[1]/cbc:InvoicedQuantity",
    ),
    "XML-UNIT": (
        set_attribute("cac:InvoiceLine/cbc:InvoicedQuantity", "unitCode", "pieces"),
        "/Invoice/cac:InvoiceLine[1]/cbc:InvoicedQuantity",
    ),
    "XML-LINES": (remove_all_lines, "/Invoice/cac:InvoiceLine"),
    "TOTAL-LINES": (
        set_text("cac:InvoiceLine/cbc:LineExtensionAmount", "999.00"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
    ),
    "TOTAL-ALLOWANCES": (
        add_allowance_total,
        "/Invoice/cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount",
    ),
    "TOTAL-CHARGES": (
        set_text("cac:LegalMonetaryTotal/cbc:ChargeTotalAmount", "1.00"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:ChargeTotalAmount",
    ),
    "TOTAL-TAX": (set_text("cac:TaxTotal/cbc:TaxAmount", "1.00"), "/Invoice/cac:TaxTotal/cbc:TaxAmount"),
    "TOTAL-TAX-EXCLUSIVE": (
        set_text("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "1.00"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
    ),
    "TOTAL-TAX-INCLUSIVE": (
        set_text("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "1.00"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
    ),
    "TOTAL-PAYABLE": (
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "1.00"),
        "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    ),
}


@pytest.mark.parametrize("case", UBL_CASES)
def test_each_ubl_check_fails_a_broken_document(tmp_path: Path, case: str) -> None:
    change, location = UBL_CASES[case]
    rule = case.rsplit("-", 1)[0] if case.rsplit("-", 1)[-1].islower() else case  # "-line": a variant
    document = read_document(ubl_with(tmp_path, change), "ubl", validate="structure")
    assert not document.valid and document.invoices == []
    matching = [f for f in document.findings if f.rule == rule]
    assert matching, document.findings
    assert matching[0].location == location and matching[0].severity == "fatal" and matching[0].message


def test_wrong_root_and_broken_xml(tmp_path: Path) -> None:
    ap_agility = tmp_path / "ap.xml"
    ap_agility.write_bytes(seed_example())
    (finding,) = read_document(ap_agility, "ubl", validate="structure").findings
    assert (finding.rule, finding.location) == ("XML-ROOT", "/Invoice")
    assert "needs a UBL 2.1 Invoice" in finding.message

    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<?xml version='1.0'?>\n<Invoice>\n<InvoiceNumber>1</Invoice>")
    (finding,) = read_document(broken, "any", validate="structure").findings
    assert (finding.rule, finding.location) == ("XML-SYNTAX", "line 3")

    entity = tmp_path / "entity.xml"
    entity.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    )
    (finding,) = read_document(entity, "any", validate="structure").findings
    assert finding.rule == "XML-SYNTAX" and "DOCTYPE" in finding.message


@pytest.mark.parametrize(
    ("encoding", "declared"), [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-8", "UTF-8")]
)
def test_a_ubl_invoice_with_a_byte_order_mark_is_recognised_as_xml(
    tmp_path: Path, encoding: str, declared: str
) -> None:
    """``input: any`` took a UTF-16 invoice (what .NET's XmlWriter writes into a string) for a CSV
    report and refused it for its missing columns."""
    text = (SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml").read_text()
    body = f'<?xml version="1.0" encoding="{declared}"?>' + text.split("?>", 1)[1]
    path = tmp_path / "invoice.xml"
    path.write_bytes("\ufeff".encode(encoding) + body.encode(encoding))
    document = read_document(path, "any", validate="en16931")
    assert (document.format, document.findings) == ("ubl", [])
    assert document.invoices[0].number == "Snippet1"


def ap_agility_with(tmp_path: Path, old: bytes, new: bytes) -> Path:
    path = tmp_path / "ap.xml"
    document = seed_example()
    assert old in document
    path.write_bytes(document.replace(old, new, 1))
    return path


AP_CASES = {
    "XML-REQUIRED": (
        b"<InvoiceNumber>GECD204NP504</InvoiceNumber>",
        b"<InvoiceNumber/>",
        "/Invoice/InvoiceNumber",
    ),
    "XML-DATE": (b"<InvoiceDate>7/3/2017 12:00:00 AM", b"<InvoiceDate>31.12.2017", "/Invoice/InvoiceDate"),
    "XML-AMOUNT": (b"<Freight>90</Freight>", b"<Freight>ninety</Freight>", "/Invoice/Freight"),
    "XML-CURRENCY": (b"<Currency>USD</Currency>", b"<Currency>Dollar</Currency>", "/Invoice/Currency"),
    "XML-NUMBER": (b"<Quantity>1</Quantity>", b"<Quantity>one</Quantity>", "/Invoice/LineItem/Quantity"),
    "TOTAL-SUBTOTAL": (
        b"<NetAmount1>752.97</NetAmount1>",
        b"<NetAmount1>752.00</NetAmount1>",
        "/Invoice/SubTotal",
    ),
    "TOTAL-INVOICE": (
        b"<InvoiceAmount>890.03</InvoiceAmount>",
        b"<InvoiceAmount>900</InvoiceAmount>",
        "/Invoice/InvoiceAmount",
    ),
}


def test_the_seed_example_passes(tmp_path: Path) -> None:
    path = tmp_path / "seed.xml"
    path.write_bytes(seed_example())
    document = read_document(path, "any", validate="structure")
    assert document.format == "ap_agility" and document.findings == []


@pytest.mark.parametrize("rule", AP_CASES)
def test_each_ap_agility_check_fails_a_broken_document(tmp_path: Path, rule: str) -> None:
    old, new, location = AP_CASES[rule]
    document = read_document(ap_agility_with(tmp_path, old, new), "ap_agility", validate="structure")
    assert [(f.rule, f.location, f.severity) for f in document.findings] == [(rule, location, "fatal")]


def test_an_ap_agility_export_without_lines_is_a_warning(tmp_path: Path) -> None:
    document = seed_example()
    start, end = document.index(b"<LineItem>"), document.index(b"</LineItem>") + len(b"</LineItem>")
    path = tmp_path / "header-only.xml"
    path.write_bytes(document[:start] + document[end:])
    result = read_document(path, "ap_agility", validate="structure")
    assert result.valid and [(f.rule, f.severity) for f in result.findings] == [("XML-LINES", "warning")]
