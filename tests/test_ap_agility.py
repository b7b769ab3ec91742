"""AP Agility XML: the seed's structure (golden), round trips, the image, custom fields, bounded memory."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.formats import read_invoices
from invoice_hub.formats.ap_agility import HEADER_FIELDS, LINE_FIELDS, read_ap_agility, write_ap_agility
from invoice_hub.formats.bindings import BINDINGS, BY_ID, terms_in, values_at
from invoice_hub.formats.loss import losses
from invoice_hub.formats.ubl import read_ubl
from invoice_hub.formats.ubl_writer import write_ubl
from invoice_hub.formats.xml import FormatError
from invoice_hub.model import (
    Address,
    AllowanceCharge,
    Attachment,
    GlSegment,
    Identifier,
    Invoice,
    Line,
    Party,
    TaxCategory,
    TaxSubtotal,
    Totals,
)
from invoice_hub.validation.en16931 import check_en16931
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


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"<InvoiceNumber>GECD204NP504</InvoiceNumber>",
            b"<InvoiceNumber>GECD204NP504</InvoiceNumber><InvoiceNumber>OTHER</InvoiceNumber>",
            r"/Invoice/InvoiceNumber occurs twice, as 'GECD204NP504' and 'OTHER' \(line \d+\)",
        ),
        (
            b"<Quantity>1</Quantity>",
            b"<Quantity>1</Quantity><Quantity>2</Quantity>",
            r"/Invoice/LineItem\[1\]/Quantity occurs twice, as '1' and '2'",
        ),
    ],
)
def test_a_field_repeated_with_another_value_is_refused_not_dropped(
    old: bytes, new: bytes, message: str
) -> None:
    """The reader kept the first of two invoice numbers (or quantities) and dropped the other silently."""
    document = seed_example()
    assert old in document
    with pytest.raises(FormatError, match=rf"bad\.xml: {message}"):
        read_ap_agility(document.replace(old, new, 1), "bad.xml")
    # the same text twice: nothing is lost, the document reads as with one
    same = new.replace(b"OTHER", b"GECD204NP504").replace(b">2<", b">1<")
    assert read_ap_agility(document.replace(old, same, 1)) == read_ap_agility(document)


def test_a_second_image_is_refused_not_dropped() -> None:
    document = seed_example()
    image = re.search(rb"<ImageBase64>[^<]*</ImageBase64>", document)
    assert image is not None
    with pytest.raises(FormatError, match=r"bad\.xml: /Invoice/ImageBase64 occurs 2 times"):
        read_ap_agility(document.replace(image.group(), image.group() * 2, 1), "bad.xml")


def test_reading_names_the_file_and_element() -> None:
    with pytest.raises(
        FormatError, match=r"bad\.xml: /Invoice/LineItem\[1\]/Quantity is not a number: 'two'"
    ):
        read_ap_agility(
            seed_example().replace(b"<Quantity>1</Quantity>", b"<Quantity>two</Quantity>"), "bad.xml"
        )
    with pytest.raises(FormatError, match="not AP Agility's <Invoice>"):
        read_ap_agility(b"<Order/>", "bad.xml")
    # Python's Decimal would take these (and the model then refuse them deep inside the read)
    for number in ("NaN", "Infinity", "1E+3"):
        with pytest.raises(
            FormatError, match=rf"/Invoice/LineItem\[1\]/Quantity is not a number: '{re.escape(number)}'"
        ):
            read_ap_agility(
                seed_example().replace(b"<Quantity>1</Quantity>", f"<Quantity>{number}</Quantity>".encode()),
                "bad.xml",
            )
    # a number arithmetic cannot carry (the reader computes each rate's tax): a finding, not a crash
    rate = re.search(rb"<TaxRate>[^<]*</TaxRate>", seed_example())
    assert rate is not None
    with pytest.raises(FormatError, match=r"bad\.xml: a number is too large to compute with"):
        read_ap_agility(
            seed_example().replace(rate.group(), b"<TaxRate>" + b"9" * 40 + b"</TaxRate>", 1), "bad.xml"
        )


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


# -- the model, once: charges, discounts and VAT lines -------------------------------------------------


def ubl_invoice(name: str) -> Invoice:
    (invoice,) = read_invoices(SHARED / "einvoice-examples" / name)
    return invoice


def header_amounts(document: bytes) -> dict[str, Decimal]:
    root = etree.fromstring(document)
    return {
        e.tag: Decimal(e.text)
        for e in root
        if e.tag in ("Discount", "Freight", "AmtMiscellaneous", "SubTotal", "InvoiceAmount")
        or re.fullmatch(r"(NetAmount|TaxAmount)\d+", e.tag)
    }


def test_a_charge_of_a_rate_no_line_has_is_counted_once_not_also_as_a_net_amount() -> None:
    """The double count: a document-level charge in a VAT breakdown of its own (Z, 0 %) was written
    as that breakdown's NetAmountN *and* as Freight, so the hub's own check refused the output."""
    invoice = ubl_invoice("en16931/ubl-tc434-example1.xml")
    charge = AllowanceCharge(
        is_charge=True, amount=Decimal("10.00"), reason="Packing", tax=TaxCategory(code="Z", rate=Decimal(0))
    )
    invoice.allowances_charges.append(charge)
    invoice.tax_subtotals.append(
        TaxSubtotal(taxable_amount=Decimal("10.00"), tax_amount=Decimal("0.00"), category=charge.tax)
    )
    totals = invoice.totals
    invoice.totals = totals.model_copy(
        update={
            "charges": (totals.charges or 0) + Decimal("10.00"),
            "tax_exclusive": totals.tax_exclusive + Decimal("10.00"),
            "tax_inclusive": totals.tax_inclusive + Decimal("10.00"),
            "payable": totals.payable + Decimal("10.00"),
        }
    )
    document = written(invoice)
    amounts = header_amounts(document)
    assert amounts["SubTotal"] == invoice.totals.line_extension  # the lines' net, nothing else
    assert amounts[f"NetAmount{len(invoice.tax_subtotals)}"] == 0
    assert amounts["AmtMiscellaneous"] == Decimal("10.00") and amounts["Freight"] == 0
    assert not [f for f in check_ap_agility(etree.fromstring(document)) if f.severity == "fatal"]
    back = read_ap_agility(document, "out.xml")
    assert back.totals.charges == invoice.totals.charges and back.totals.payable == invoice.totals.payable


def test_freight_is_freight_and_every_other_charge_miscellaneous_each_once() -> None:
    invoice = ubl_invoice("en16931/ubl-tc434-example5.xml")  # a packaging charge and an allowance
    amounts = header_amounts(written(invoice))
    charges = sum(c.amount for c in invoice.allowances_charges if c.is_charge)
    assert amounts["Freight"] + amounts["AmtMiscellaneous"] == charges == invoice.totals.charges
    assert amounts["Discount"] == invoice.totals.allowances
    assert amounts["SubTotal"] == invoice.totals.line_extension


def test_read_back_to_ubl_keeps_the_vat_categories_the_charges_and_the_prepaid_amount() -> None:
    """AP Agility -> model -> UBL lost the line VAT category and rate, the VAT breakdown's category,
    the document-level charges (only their total was left: BR-CO-12) and the prepaid amount."""
    invoice = ubl_invoice("peppol-bis3/examples_base-example.xml")
    invoice.totals = invoice.totals.model_copy(
        update={"prepaid": Decimal("100.00"), "payable": invoice.totals.tax_inclusive - Decimal("100.00")}
    )
    back = read_ap_agility(written(invoice), "out.xml")
    ubl = read_ubl(write_ubl(back), "back.xml")
    assert [(ln.tax.code, ln.tax.rate) for ln in ubl.lines] == [
        (ln.tax.code, ln.tax.rate) for ln in invoice.lines
    ]
    assert [
        (s.category.code, s.category.rate, s.taxable_amount, s.tax_amount) for s in ubl.tax_subtotals
    ] == [(s.category.code, s.category.rate, s.taxable_amount, s.tax_amount) for s in invoice.tax_subtotals]
    assert (ubl.totals.prepaid, ubl.totals.payable) == (invoice.totals.prepaid, invoice.totals.payable)
    assert [(c.is_charge, c.amount, c.tax.code) for c in ubl.allowances_charges] == [
        (c.is_charge, c.amount, c.tax.code) for c in invoice.allowances_charges
    ]
    assert "BR-CO-12" not in {f.rule for f in check_en16931(etree.fromstring(write_ubl(back)))}


# -- round trips: every term the layout holds comes back, every other one is named ------------------

#: Terms the layout holds (an element, without a note saying it holds only part of the term).
CARRIED = {b.id for b in BINDINGS if b.ap_agility is not None and not b.ap_agility_note}


def _field_shape(field: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", field)


def _within(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer + ".")


def named(term_id: str, loss_terms: set[str]) -> bool:
    """Whether a loss names the term, a group containing it (BG-7 for the buyer's name), or, for a
    group, one of its terms."""
    field = _field_shape(BY_ID[term_id].field or "")
    for other_id in loss_terms:
        other = _field_shape(BY_ID[other_id].field or "")
        if other_id == term_id or (BY_ID[other_id].is_group and _within(field, other)):
            return True
        if BY_ID[term_id].is_group and _within(other, field):
            return True
    return False


def assert_round_trip(invoice: Invoice) -> None:
    back = read_ap_agility(written(invoice), "out.xml")
    found = losses(invoice, back)
    assert not [(loss.term, loss.path) for loss in found if loss.term in CARRIED], "a carried term was lost"
    loss_terms = {loss.term for loss in found if loss.term}
    for term_id in terms_in(invoice):
        binding = BY_ID[term_id]
        if binding.is_group:
            continue  # its terms are checked one by one (a group also differs by what a reader adds)
        # a value the output does not give back (one it adds, a default quantity of 1, is no loss)
        missing = [v for v in values_at(invoice, binding.field) if v not in values_at(back, binding.field)]
        if missing:
            assert named(term_id, loss_terms), (
                f"{term_id} {binding.name} lost {missing} and no finding says so"
            )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_official_example_keeps_what_the_layout_holds_and_names_what_it_does_not(path: Path) -> None:
    (invoice,) = read_invoices(path)
    assert_round_trip(invoice)


AMOUNT = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
TEXT = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
CATEGORIES = st.sampled_from(
    [("S", Decimal(25)), ("S", Decimal("12.5")), ("Z", Decimal(0)), ("E", Decimal(0))]
)


@st.composite
def ap_invoices(draw: st.DrawFn) -> Invoice:
    """Invoices holding only what the layout holds, consistent as EN 16931 wants them: the lines'
    VAT categories, one breakdown per category, the charges and the discount of one category."""
    lines = []
    for index in range(draw(st.integers(1, 4))):
        code, rate = draw(CATEGORIES)
        quantity = draw(st.decimals(min_value=1, max_value=99, places=0))
        price = draw(AMOUNT)
        lines.append(
            Line(
                id=str(index + 1),
                quantity=quantity,
                unit_code=draw(st.sampled_from(["C62", "EA", "HUR"])),
                net_amount=quantity * price,
                price=price,
                item_name=draw(TEXT),
                seller_item_id=draw(st.none() | TEXT),
                tax=TaxCategory(code=code, rate=rate),
                accounting_cost=draw(st.none() | st.just("002-005")),
                order_line_reference=draw(st.none() | st.just("10")),
            )
        )
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = (line.tax.code, line.tax.rate)
        groups[key] = groups.get(key, Decimal(0)) + line.net_amount
    first = next(iter(groups))
    document_level = []
    if len(groups) == 1:  # with several rates the layout cannot say whose the charges are
        category = TaxCategory(code=first[0], rate=first[1])
        if draw(st.booleans()):
            document_level.append(
                AllowanceCharge(
                    is_charge=True, amount=draw(AMOUNT), reason="Freight", reason_code="FC", tax=category
                )
            )
        if draw(st.booleans()):
            document_level.append(
                AllowanceCharge(
                    is_charge=False, amount=Decimal("1.00"), reason="Discount", reason_code="95", tax=category
                )
            )
    extra = sum((a.amount if a.is_charge else -a.amount for a in document_level), Decimal(0))
    subtotals = []
    for (code, rate), net in groups.items():
        taxable = net + (extra if (code, rate) == first else 0)
        subtotals.append(
            TaxSubtotal(
                taxable_amount=taxable,
                tax_amount=(taxable * rate / 100).quantize(Decimal("0.01")),
                category=TaxCategory(code=code, rate=rate),
            )
        )
    line_extension = sum(groups.values(), Decimal(0))
    tax = sum((s.tax_amount for s in subtotals), Decimal(0))
    charges = sum((a.amount for a in document_level if a.is_charge), Decimal(0))
    allowances = sum((a.amount for a in document_level if not a.is_charge), Decimal(0))
    exclusive = line_extension - allowances + charges
    prepaid = draw(st.none() | st.just(Decimal("5.00")))
    return Invoice(
        number=draw(TEXT),
        type=draw(st.sampled_from(["invoice", "credit_note"])),
        issue_date=draw(st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))),
        due_date=draw(st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))),
        currency=draw(st.sampled_from(["EUR", "USD", "NOK"])),
        order_reference=draw(st.none() | TEXT),
        payment_terms=draw(st.none() | TEXT),
        seller=Party(
            name=draw(TEXT),
            ids=[Identifier(value=draw(TEXT))],
            address=Address(street=draw(TEXT), city=draw(TEXT), postal_zone=draw(TEXT)),
        ),
        lines=lines,
        allowances_charges=document_level,
        tax_subtotals=subtotals,
        totals=Totals(
            line_extension=line_extension,
            tax_exclusive=exclusive,
            tax_inclusive=exclusive + tax,
            allowances=allowances,
            charges=charges,
            prepaid=prepaid,
            payable=exclusive + tax - (prepaid or 0),
            tax=tax,
        ),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ap_invoices())
def test_an_invoice_of_what_the_layout_holds_comes_back_equal(invoice: Invoice) -> None:
    document = written(invoice)
    back = read_ap_agility(document, "out.xml")
    assert losses(invoice, back) == []
    assert not [f for f in check_ap_agility(etree.fromstring(document)) if f.severity == "fatal"]
    assert written(back) == document


@settings(max_examples=100, deadline=None)
@given(ap_invoices(), st.sampled_from(["vat_id", "legal_id", "buyer", "note"]))
def test_a_term_the_layout_cannot_hold_is_named_by_a_loss(invoice: Invoice, extra: str) -> None:
    if extra == "vat_id":
        invoice.seller.vat_id = "NO123456789MVA"
    elif extra == "legal_id":
        invoice.seller.legal_id = Identifier(value="123456789", scheme="0192")
    elif extra == "buyer":
        invoice.buyer = Party(name="Buyer AS")
    else:
        invoice.notes = ["note"]
    expected = {"vat_id": "BT-31", "legal_id": "BT-30", "buyer": "BG-7", "note": "BG-1"}[extra]
    assert {loss.term for loss in losses(invoice, read_ap_agility(written(invoice), "out.xml"))} == {expected}
    assert_round_trip(invoice)
