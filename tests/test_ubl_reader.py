"""The UBL 2.1 reader on every official example of ../shared/einvoice-examples/, and on broken input."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats import read_document
from invoice_hub.formats.ubl import NS, read_ubl
from invoice_hub.formats.xml import FormatError
from tests.conftest import SHARED

EXAMPLES = sorted((SHARED / "einvoice-examples").rglob("*.xml"))


def test_the_examples_are_there() -> None:
    assert len(EXAMPLES) >= 17, "../shared/einvoice-examples must sit beside the checkout"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_official_example_reads_without_loss(path: Path) -> None:
    data = path.read_bytes()
    invoice = read_ubl(data, str(path))
    raw = etree.fromstring(data)
    credit = raw.tag.endswith("CreditNote")

    assert invoice.type == ("credit_note" if credit else "invoice")
    assert invoice.number == raw.findtext("cbc:ID", namespaces=NS).strip()
    assert invoice.issue_date is not None and invoice.currency is not None
    assert (invoice.seller.name or invoice.seller.trading_name) and invoice.buyer.name
    assert (invoice.tax_representative is not None) == (
        raw.find("cac:TaxRepresentativeParty", NS) is not None
    )
    assert len(invoice.lines) == len(raw.findall("cac:CreditNoteLine" if credit else "cac:InvoiceLine", NS))
    assert all(line.id and line.net_amount is not None and line.unit_code for line in invoice.lines)
    # Amounts read as Decimals add up as the document says they do.
    assert sum(line.net_amount for line in invoice.lines) == invoice.totals.line_extension
    assert sum(s.tax_amount for s in invoice.tax_subtotals) == invoice.totals.tax
    assert invoice.totals.payable is not None
    assert all(isinstance(line.quantity, Decimal) for line in invoice.lines)
    embedded = raw.findall(
        "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS
    )
    assert sum(a.content is not None for a in invoice.attachments) == len(embedded)
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    codes = "cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode"
    assert [len(line.classifications) for line in invoice.lines] == [
        len(line.findall(codes, NS)) for line in raw.findall(line_tag, NS)
    ]


def test_credit_note_and_references() -> None:
    note = read_ubl(
        (SHARED / "einvoice-examples/peppol-bis3/examples_base-creditnote-correction.xml").read_bytes()
    )
    assert (note.type, note.type_code, note.preceding_invoices) == ("credit_note", "381", ["Snippet1"])
    assert note.seller.endpoint is not None and note.seller.endpoint.scheme == "0088"
    assert note.seller.vat_id == "GB1232434"


def test_embedded_attachment_is_decoded() -> None:
    with_attachment = [p for p in EXAMPLES if b"EmbeddedDocumentBinaryObject" in p.read_bytes()]
    assert with_attachment, "at least one official example embeds a document"
    invoice = read_ubl(with_attachment[0].read_bytes())
    attachment = next(a for a in invoice.attachments if a.content is not None)
    assert attachment.mime_type and attachment.filename and len(attachment.content) > 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<Invoice><unclosed></Invoice>", r"bad\.xml, line 1: not well-formed XML"),
        (b"<Order xmlns='urn:x'/>", "not a UBL 2.1 Invoice or CreditNote"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "DOCTYPE"),
        (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>", "no cbc:ID"),
    ],
)
def test_bad_documents_name_the_file_and_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        read_ubl(data, "bad.xml")


def test_bad_amount_names_the_line() -> None:
    data = (SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml").read_bytes()
    broken = data.replace(
        b'<cbc:PayableAmount currencyID="EUR">', b'<cbc:PayableAmount currencyID="EUR">x', 1
    )
    assert broken != data
    with pytest.raises(FormatError, match=r"PayableAmount is not a number: 'x.*\(line \d+\)"):
        read_ubl(broken, "base.xml")


@pytest.mark.parametrize("interruption", ["<!-- a comment -->", "<?pi data?>"])
def test_a_comment_or_processing_instruction_inside_a_text_loses_none_of_it(
    tmp_path: Path, interruption: str
) -> None:
    """``1656<!-- -->.25`` is 1656.25 (XPath's string value, what CEN's rules read), at every level:
    before, the reader kept only the text before the interruption (1656, ``Snip``, empty payment terms)."""
    data = (SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml").read_text()
    interrupted = (
        data.replace(
            '<cbc:PayableAmount currencyID="EUR">1656',
            f'<cbc:PayableAmount currencyID="EUR">1656{interruption}',
            1,
        )
        .replace("<cbc:ID>Snippet1", f"<cbc:ID>Snip{interruption}pet1", 1)
        .replace("<cbc:Note>", f"<cbc:Note>{interruption}", 1)
    )
    assert interrupted.count(interruption) == 3
    (tmp_path / "plain.xml").write_text(data)
    (tmp_path / "interrupted.xml").write_text(interrupted)
    for level in ("none", "structure", "en16931", "peppol"):
        plain, read = (
            read_document(tmp_path / name, "ubl", validate=level) for name in ("plain.xml", "interrupted.xml")
        )
        assert read.findings == [] == plain.findings, level
        assert read.invoices == plain.invoices, level
    (invoice,) = read.invoices
    assert (invoice.number, invoice.totals.payable) == ("Snippet1", Decimal("1656.25"))
    assert invoice.payment_terms == "Payment within 10 days, 2% discount"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_ubl_round_trip_keeps_every_field(path: Path) -> None:
    from invoice_hub.formats.ubl_writer import write_ubl

    first = read_ubl(path.read_bytes(), str(path))
    written = write_ubl(first)
    second = read_ubl(written, f"{path.name} as written")
    assert second == first
