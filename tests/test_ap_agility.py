"""AP Agility XML: the seed's structure (golden), round trips, the image, custom fields, bounded memory."""

from __future__ import annotations

import base64
import io
import re
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats import read_invoices
from invoice_hub.formats.ap_agility import HEADER_FIELDS, LINE_FIELDS, read_ap_agility, write_ap_agility
from invoice_hub.formats.xml import FormatError
from invoice_hub.model import Attachment, GlSegment, Invoice, Line, TaxCategory
from invoice_hub.validation.structure import check_ap_agility
from tests.conftest import SHARED

EXAMPLES = sorted((SHARED / "einvoice-examples").rglob("*.xml"))
SEED = SHARED / "seeds" / "001_a46b71fa84f6511c.txt"


def seed_example() -> bytes:
    """The example document of the seed, as AP Agility writes it (the seed elides the image's text)."""
    text = SEED.read_text(encoding="utf-8")
    document = text[text.index("<?xml") : text.index("</Invoice>") + len("</Invoice>")]
    document = document.replace(
        "<ImageBase64>\n<embedded image string>", "<ImageBase64>JVBERi0xLjQK</ImageBase64>"
    )
    return document.encode()


def written(invoice: Invoice) -> bytes:
    sink = io.BytesIO()
    write_ap_agility(invoice, sink)
    return sink.getvalue()


def tags(element: etree._Element) -> list[str]:
    return [child.tag for child in element if isinstance(child.tag, str)]


def test_the_output_has_exactly_the_seeds_elements_in_the_seeds_order() -> None:
    seed = etree.fromstring(seed_example())
    ours = etree.fromstring(written(read_invoices(EXAMPLES[0])[0]))
    seed_header = [t for t in tags(seed) if t != "LineItem"]
    our_header = [re.sub(r"(NetAmount|TaxAmount)\d+", r"\g<1>1", t) for t in tags(ours) if t != "LineItem"]
    assert list(dict.fromkeys(our_header)) == seed_header == list(HEADER_FIELDS)
    seed_line = tags(seed.find("LineItem"))
    for item in ours.iter("LineItem"):
        assert [t for t in tags(item) if t != "GlSegment"] == [t for t in seed_line if t != "GlSegment"]
    assert [t for t in seed_line if t != "GlSegment"] == [t for t in LINE_FIELDS if t != "GlSegment"]


def test_the_seed_example_reads_and_writes_back_unchanged() -> None:
    invoice = read_ap_agility(seed_example(), "seed.xml")
    assert (invoice.number, invoice.currency, invoice.issue_date.isoformat()) == (
        "GECD204NP504",
        "USD",
        "2017-07-03",
    )
    assert invoice.totals.tax_inclusive == Decimal("890.03") and invoice.totals.charges == Decimal("90")
    assert invoice.seller.name == "GE Capital" and invoice.seller.ids[0].value == "GEC0001"
    line = invoice.lines[0]
    assert line.accounting_cost == "002-005"
    assert [(s.value, s.name) for s in line.gl_segments] == [("002", "Segment1"), ("005", "Segment2")]
    assert invoice.custom_fields["BusinessUnitID"] == "204"
    assert invoice.custom_fields["DocumentLink"] == "d3351e6b-d44c-4b39-9e34-a8e80134000c"
    assert invoice.attachments[0].content == b"%PDF-1.4\n"

    def canonical(document: bytes) -> bytes:
        return etree.tostring(
            etree.fromstring(document, etree.XMLParser(remove_blank_text=True)), method="c14n"
        )

    assert canonical(written(invoice)) == canonical(seed_example())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_official_example_converts_and_reads_back(path: Path) -> None:
    (invoice,) = read_invoices(path)
    document = written(invoice)
    back = read_ap_agility(document, "out.xml")

    assert (back.number, back.type, back.issue_date, back.due_date, back.currency) == (
        invoice.number, invoice.type, invoice.issue_date, invoice.due_date, invoice.currency
    )  # fmt: skip
    assert back.seller.name == (invoice.seller.name or invoice.seller.trading_name)
    assert back.totals.tax_inclusive == invoice.totals.tax_inclusive
    assert back.totals.line_extension == invoice.totals.line_extension
    assert back.totals.tax == invoice.totals.tax
    assert [(ln.id, ln.quantity, ln.unit_code, ln.net_amount, ln.price) for ln in back.lines] == [
        (ln.id, ln.quantity, ln.unit_code, ln.net_amount, ln.price) for ln in invoice.lines
    ]
    root = etree.fromstring(document)
    # The seed's identity: InvoiceAmount = SubTotal - Discount + Freight + AmtMiscellaneous + taxes.
    amount = lambda name: Decimal(root.findtext(name) or "0")  # noqa: E731
    taxes = sum(Decimal(e.text) for e in root if re.fullmatch(r"TaxAmount\d+", e.tag))
    assert amount("InvoiceAmount") == (
        amount("SubTotal") - amount("Discount") + amount("Freight") + amount("AmtMiscellaneous") + taxes
    )
    assert not [f for f in check_ap_agility(root) if f.severity == "fatal"], "the hub accepts its own output"
    assert written(back) == document, "AP Agility -> model -> AP Agility gives the same document"


def invoice_with(attachments: list[Attachment], **fields: object) -> Invoice:
    return Invoice(
        number="INV-7",
        currency="EUR",
        lines=[
            Line(
                id="1",
                quantity=Decimal(2),
                net_amount=Decimal("20.00"),
                tax=TaxCategory(code="S", rate=Decimal(25)),
            )
        ],
        attachments=attachments,
        **fields,
    )


def test_the_image_is_the_first_pdf_or_tiff_attachment() -> None:
    pdf = b"%PDF-1.7 pretend" * 100
    invoice = invoice_with(
        [
            Attachment(filename="timesheet.csv", mime_type="text/csv", content=b"a,b"),
            Attachment(filename="scan.tif", mime_type="image/tiff", content=b"II*\x00tiff"),
            Attachment(filename="invoice.pdf", mime_type="application/pdf", content=pdf),
        ]
    )
    root = etree.fromstring(written(invoice))
    assert root.findtext("ImageExtension") == ".tif"
    assert base64.b64decode(root.findtext("ImageBase64")) == b"II*\x00tiff"

    by_extension = invoice_with([Attachment(filename="INVOICE.PDF", content=pdf)])
    root = etree.fromstring(written(by_extension))
    assert root.findtext("ImageExtension") == ".pdf" and base64.b64decode(root.findtext("ImageBase64")) == pdf

    none = etree.fromstring(written(invoice_with([Attachment(filename="a.csv", content=b"x")])))
    assert none.find("ImageExtension").text is None and none.find("ImageBase64").text is None


def test_custom_fields_are_extra_header_elements_and_line_fields_fill_the_line() -> None:
    invoice = invoice_with([], custom_fields={"BusinessUnitID": "204", "ApprovalRoute": "FIN-2"})
    invoice.lines[0].custom_fields = {"Plant": "1000", "CostCenter": "4711"}
    invoice.lines[0].gl_segments = [GlSegment(value="002", name="Company"), GlSegment(value="005")]
    root = etree.fromstring(written(invoice))
    assert root.findtext("BusinessUnitID") == "204"
    assert tags(root)[tags(root).index("ImageBase64") + 1] == "ApprovalRoute"
    assert root.findtext("ApprovalRoute") == "FIN-2"
    item = root.find("LineItem")
    assert (item.findtext("Plant"), item.findtext("CostCenter"), item.findtext("TaxAmount")) == (
        "1000",
        "4711",
        "5.00",
    )
    assert [(s.get("segmentNumber"), s.get("name"), s.text) for s in item.iter("GlSegment")] == [
        ("1", "Company", "002"),
        ("2", "Segment2", "005"),
    ]


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ({"1st": "x"}, {}, "not a valid XML element name"),
        ({"LineItem": "x"}, {}, "would replace the document's own LineItem"),
        ({}, {"Colour": "red"}, "'Colour' is not an AP Agility LineItem field"),
    ],
)
def test_custom_fields_that_cannot_be_written_are_refused(header: dict, line: dict, message: str) -> None:
    invoice = invoice_with([], custom_fields=header)
    invoice.lines[0].custom_fields = line
    with pytest.raises(FormatError, match=message):
        written(invoice)


def test_reading_names_the_file_and_element() -> None:
    with pytest.raises(
        FormatError, match=r"bad\.xml: /Invoice/LineItem\[1\]/Quantity is not a number: 'two'"
    ):
        read_ap_agility(
            seed_example().replace(b"<Quantity>1</Quantity>", b"<Quantity>two</Quantity>"), "bad.xml"
        )
    with pytest.raises(FormatError, match="not AP Agility's <Invoice>"):
        read_ap_agility(b"<Order/>", "bad.xml")


def test_the_image_is_encoded_while_writing_not_held_as_text(tmp_path: Path) -> None:
    content = bytes(range(256)) * (128 * 1024)  # 32 MiB
    invoice = invoice_with([Attachment(filename="scan.pdf", mime_type="application/pdf", content=content)])
    tracemalloc.start()
    try:
        with (tmp_path / "out.xml").open("wb") as sink:
            write_ap_agility(invoice, sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024, f"{peak / 2**20:.1f} MiB for a 32 MiB image (base64: 43 MiB)"
    tracemalloc.start()
    try:
        back = read_ap_agility(tmp_path / "out.xml", "out.xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert back.attachments[0].content == content
    # the text once as a Python string (43 MiB) and the bytes (32 MiB); not the 2-3 copies of a naive decode
    assert peak < 90 * 1024 * 1024, f"{peak / 2**20:.1f} MiB to read a 32 MiB image"
