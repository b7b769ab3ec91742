"""AP Agility XML (Kofax AP Agility's "exported invoice XML", ``seeds/001_…``): reader and writer.

The document is flat: header elements under ``<Invoice>``, then one ``<LineItem>`` per line. The
writer emits exactly the seed's header and line fields in the seed's order, the always-exported ones
even when empty, the invoice image as ``ImageExtension`` + ``ImageBase64`` (the first PDF or TIFF
attachment, encoded while it is written so a 200 MB image is never held as base64 text), and custom
fields as extra header elements.

Values the canonical model has no field for (``DocumentLink``, ``Urn``, ``Plant``, ...) live in
``custom_fields`` of the invoice or line under the AP Agility name; a custom field named like a
standard element replaces the value the writer would derive. The reader keeps, in the same way, every
element whose text differs from what the writer would derive, so AP Agility → model → AP Agility
gives the document back.

Amounts are modelled once, as the seed relates them: ``InvoiceAmount = SubTotal - Discount +
Freight + AmtMiscellaneous + taxes``, ``SubTotal`` the sum of the ``NetAmountN``, each the net of
its VAT rate's *lines*. So a document-level charge is ``Freight`` (freight) or ``AmtMiscellaneous``
(any other) and never also part of a ``NetAmountN``; read back, those and ``Discount`` are
document-level charges and an allowance again, and each breakdown gets its category from the lines
and its EN 16931 taxable amount (net + charges - allowances). The paid and rounding amounts, which
the amount due depends on and the seed has no field for, are extra header elements
(``PrepaidAmount``, ``PayableRoundingAmount``) when the invoice has them.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import itertools
import operator
import re
import string
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree
from pydantic import ValidationError

from invoice_hub.formats.xml import FormatError, parse_xml, take_base64
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
    decimal_text,
)
from invoice_hub.xsdtypes import ap_agility_date, xs_decimal

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

#: Header elements in the seed's order. ``NetAmount1`` and ``TaxAmount1`` stand for ``NetAmountN`` /
#: ``TaxAmountN``: one of each per VAT rate, written where the first one is.
HEADER_FIELDS = (
    "BusinessUnitID", "Currency", "Discount", "DiscountDueDate", "DocumentType", "DueDate", "Freight",
    "InvalidReason", "InvoiceDate", "InvoiceNumber", "InvoiceType", "AmtMiscellaneous", "NetAmount1",
    "PoNumber", "PoType", "TaxAmount1", "InvoiceAmount", "VendorCity", "VendorId", "VendorName1",
    "VendorState", "VendorStreet1", "VendorZip", "EcmDocumentId", "DocumentLink", "ErpPoType", "ScanDate",
    "SubTotal", "Urn", "IpaInvalidReasonCode", "IpaInvalidReasonRule", "IpaOrganizationName",
    "IpaOrganizationId", "PaymentComments", "PaymentMethod", "ImageExtension", "ImageBase64",
)  # fmt: skip

#: ``LineItem`` elements in the seed's order; ``GlSegment`` repeats, one per segment.
LINE_FIELDS = (
    "Category", "Description", "Discount", "LineType", "MaterialNumber", "PoNumber", "Quantity", "Total",
    "UnitPrice", "UnitOfMeasure", "UnitOfQuantity", "TaxAmount", "TaxRate", "LineNumber", "ChargeCode",
    "ChargeCodeId", "CompanyCode", "ErpPoType", "MaterialGroup", "Plant", "PoLineNumber", "Puom",
    "QtyPuom", "TaxableAmount", "TaxCode", "Activity", "BusinessArea", "CostCenter", "DbCrIndicator",
    "InternalOrder", "Network", "ProfitCenter", "SalesOrder", "SalesOrderItem", "TaxJurCode", "WbsElem",
    "GlAccount", "GlSegment", "ConditionCount", "ConditionStepNo", "ConditionType", "FreightVendor",
    "GrDocItem", "GrDocNo", "GrDocYear", "SheetItem", "SheetNo", "IpaBusinessUnit", "IpaLineType",
)  # fmt: skip

#: Line fields the model carries itself; the others are line custom fields.
_MODELLED_LINE_FIELDS = frozenset(
    {"Category", "Description", "Discount", "MaterialNumber", "PoNumber", "Quantity", "Total", "UnitPrice",
     "UnitOfMeasure", "UnitOfQuantity", "TaxAmount", "TaxRate", "LineNumber", "ChargeCode", "PoLineNumber",
     "TaxCode", "GlAccount", "GlSegment"}
)  # fmt: skip
#: The seed's table spells it GRDocYear, its example GrDocYear; the example is what gets written.
_ALIASES = {"GRDocYear": "GrDocYear"}
_IMAGE_TYPES = {"application/pdf": ".pdf", "image/tiff": ".tiff"}
_IMAGE_EXTENSIONS = {".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_NET = re.compile(r"^(NetAmount|TaxAmount)(\d+)$")
_IMAGE_CHUNK = 3 * 1024 * 1024  # bytes encoded at a time: a multiple of 3, so chunks join cleanly
_CENT = Decimal("0.01")
#: UNCL 7161 "freight charges" and UNCL 5189 "discount": the codes of the header's Freight and Discount.
FREIGHT_CODE, DISCOUNT_CODE = "FC", "95"
#: Extra header elements (after the image, like custom fields) for the amounts the seed has no field for.
PREPAID, ROUNDING = "PrepaidAmount", "PayableRoundingAmount"
_SPECIAL = re.compile(r'[&<>"\x00-\x08\x0b\x0c\x0e-\x1f]')
_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_element_name(name: str) -> bool:
    """Whether ``name`` can be an AP Agility element (custom fields become elements)."""
    return bool(_NAME.match(name)) and not name.lower().startswith("xml")


# -- values ---------------------------------------------------------------------------------------


def _amount(value: Decimal | None) -> str:
    return "0" if value is None else decimal_text(value)


def _optional(value: object) -> str:
    if value is None:
        return ""
    return decimal_text(value) if isinstance(value, Decimal) else str(value)


def format_date(value: dt.date | None) -> str:
    """AP Agility's date: ``7/3/2017 12:00:00 AM`` (month/day/year, midnight)."""
    return "" if value is None else f"{value.month}/{value.day}/{value.year} 12:00:00 AM"


# -- writing --------------------------------------------------------------------------------------


def image_attachment(invoice: Invoice) -> tuple[Attachment, str] | None:
    """The invoice image: the first PDF or TIFF attachment with content, and its extension."""
    for attachment in invoice.attachments:
        if attachment.content is None:
            continue
        extension = _IMAGE_TYPES.get((attachment.mime_type or "").lower())
        suffix = Path(attachment.filename or "").suffix.lower()
        if extension is None and suffix in _IMAGE_EXTENSIONS:
            extension = ".tiff" if suffix == ".tif" else suffix
        if extension is not None:
            return attachment, (".tif" if suffix == ".tif" else extension)
    return None


def _same_category(a: TaxCategory | None, b: TaxCategory | None) -> bool:
    return a is not None and b is not None and (a.code, a.rate) == (b.code, b.rate)


def _document_amounts(invoice: Invoice, is_charge: bool, category: TaxCategory | None = None) -> Decimal:
    """The sum of the document-level charges (or allowances), of one VAT category if given."""
    return sum(
        (
            item.amount
            for item in invoice.allowances_charges
            if item.is_charge == is_charge and (category is None or _same_category(item.tax, category))
        ),
        Decimal(0),
    )


def _is_freight(charge: AllowanceCharge) -> bool:
    """A freight charge: UNCL 7161 code FC, or a reason that says so."""
    return charge.reason_code == FREIGHT_CODE or "freight" in (charge.reason or "").lower()


def _vat_groups(invoice: Invoice) -> list[tuple[Decimal, Decimal]]:
    """(NetAmountN, TaxAmountN) per VAT breakdown.

    In the seed, ``NetAmountN`` is the net of the *lines* (``SubTotal`` is their sum, and
    ``InvoiceAmount = SubTotal - Discount + Freight + AmtMiscellaneous + taxes``), while an EN 16931
    taxable amount also holds the document-level charges and allowances of its category. So the
    net of a breakdown is its taxable amount less the charges and plus the allowances of its
    category: each charge is counted once, as ``Freight`` or ``AmtMiscellaneous``, never also in a
    ``NetAmountN``.
    """
    if not invoice.tax_subtotals:
        net = invoice.totals.line_extension
        if net is None:
            net = sum((line.net_amount or Decimal(0) for line in invoice.lines), Decimal(0))
        return [(net, invoice.totals.tax or Decimal(0))]
    groups = []
    for subtotal in invoice.tax_subtotals:
        category = subtotal.category
        if subtotal.taxable_amount is not None:
            net = (
                subtotal.taxable_amount
                - _document_amounts(invoice, True, category)
                + _document_amounts(invoice, False, category)
            )
        else:  # no taxable amount stated: the lines of the category
            net = sum(
                (
                    line.net_amount or Decimal(0)
                    for line in invoice.lines
                    if _same_category(line.tax, category)
                ),
                Decimal(0),
            )
        groups.append((net, subtotal.tax_amount or Decimal(0)))
    return groups


def header_values(invoice: Invoice) -> dict[str, str]:
    """The header elements the model gives, by name (without the image and custom fields)."""
    seller = invoice.seller
    address = seller.address or Address()
    totals = invoice.totals
    groups = _vat_groups(invoice)
    charges = totals.charges if totals.charges is not None else _document_amounts(invoice, True)
    allowances = totals.allowances if totals.allowances is not None else _document_amounts(invoice, False)
    freight = sum(
        (c.amount for c in invoice.allowances_charges if c.is_charge and _is_freight(c)), Decimal(0)
    )
    values = {
        "Currency": invoice.currency or "",
        "Discount": _amount(allowances),
        "DocumentType": "CREDIT NOTE" if invoice.type == "credit_note" else "INVOICE",
        "DueDate": format_date(invoice.due_date),
        "Freight": _amount(freight),
        "InvoiceDate": format_date(invoice.issue_date),
        "InvoiceNumber": invoice.number,
        "InvoiceType": "PO" if invoice.order_reference else "Non-PO",
        # every charge that is not freight: the seed's sum counts it once, here
        "AmtMiscellaneous": _amount(charges - freight),
        "PoNumber": invoice.order_reference or "",
        "InvoiceAmount": _amount(totals.tax_inclusive),
        "VendorCity": address.city or "",
        "VendorId": seller.ids[0].value if seller.ids else "",
        "VendorName1": seller.name or seller.trading_name or "",
        "VendorState": address.subdivision or "",
        "VendorStreet1": address.street or "",
        "VendorZip": address.postal_zone or "",
        "SubTotal": _amount(sum((net for net, _ in groups), Decimal(0))),
        "PaymentComments": invoice.payment_terms or "",
    }
    for number, (net, tax) in enumerate(groups, start=1):
        values[f"NetAmount{number}"] = _amount(net)
        values[f"TaxAmount{number}"] = _amount(tax)
    return values


def extra_header_values(invoice: Invoice) -> dict[str, str]:
    """Amounts the seed's header has no element for but the amount due depends on: written as extra
    header elements (as AP Agility writes custom fields), only when the invoice has them."""
    totals = invoice.totals
    return {
        name: _amount(value)
        for name, value in ((PREPAID, totals.prepaid), (ROUNDING, totals.rounding))
        if value is not None
    }


def line_values(invoice: Invoice, line: Line) -> dict[str, str]:
    """The ``LineItem`` elements the model gives for ``line``, by name (without GlSegment)."""
    tax = line.tax or TaxCategory()
    discount = sum((a.amount for a in line.allowances_charges if not a.is_charge), Decimal(0))
    tax_amount = (
        ((line.net_amount or Decimal(0)) * tax.rate / 100).quantize(_CENT, ROUND_HALF_UP)
        if tax.rate is not None
        else Decimal(0)
    )
    return {
        "Category": line.classifications[0].value if line.classifications else "",
        "Description": line.item_name or line.item_description or "",
        "Discount": _amount(discount),
        "LineType": "Item",
        "MaterialNumber": line.seller_item_id or "",
        "PoNumber": invoice.order_reference or "",
        "Quantity": _optional(line.quantity),
        "Total": _amount(line.net_amount),
        "UnitPrice": _optional(line.price),
        "UnitOfMeasure": line.unit_code or "",
        "UnitOfQuantity": _optional(line.price_base_quantity) or "1",
        "TaxAmount": _amount(tax_amount),
        "TaxRate": _amount(tax.rate),
        "LineNumber": line.id,
        "ChargeCode": line.charge_code or "",
        "PoLineNumber": line.order_line_reference or "",
        "TaxCode": tax.code or "",
        "GlAccount": line.accounting_cost or "",
    }


def _gl_segments(line: Line) -> list[GlSegment]:
    """The line's segments; without any, the GL account split at '-' (``002-005`` → 002, 005)."""
    if line.gl_segments:
        return line.gl_segments
    if line.accounting_cost and "-" in line.accounting_cost:
        return [GlSegment(value=part) for part in line.accounting_cost.split("-")]
    return []


def _check_custom(names: Iterable[str], where: str, allowed: tuple[str, ...] | None) -> None:
    for name in names:
        if not is_element_name(name):
            raise FormatError(
                f"{where}: custom field {name!r} is not a valid XML element name; "
                "use letters, digits, '_', '-' and '.', starting with a letter"
            )
        if allowed is not None and name not in allowed:
            raise FormatError(
                f"{where}: {name!r} is not an AP Agility LineItem field; line fields are: "
                + ", ".join(f for f in LINE_FIELDS if f not in _MODELLED_LINE_FIELDS)
            )
        if name in ("LineItem", "GlSegment", "ImageBase64", "ImageExtension"):
            raise FormatError(f"{where}: custom field {name!r} would replace the document's own {name}")


def _escaped(value: str, where: str) -> str:
    """``value`` as XML text; characters XML 1.0 cannot hold are refused, not dropped."""
    if not _SPECIAL.search(value):
        return value
    if _INVALID.search(value):
        raise FormatError(f"{where}: {value!r} holds a control character that XML cannot carry")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _template(names: tuple[str, ...], indent: str, repeated: dict[str, str], given: Iterable[str]) -> str:
    """A template (``str.format`` syntax) writing ``names`` in order: the ``given`` ones from the values,
    the ``repeated`` ones pre-rendered, every other one as the empty element it is written as."""
    filled = set(given)
    return "".join(
        "{" + repeated[name] + "}"
        if name in repeated
        else f"{indent}<{name}>{{{name}}}</{name}>\n"
        if name in filled
        else f"{indent}<{name}></{name}>\n"
        for name in names
    )


def _renderer(template: str) -> Callable[[dict[str, str]], str]:
    """``template.format_map`` without parsing the template at every call (that parse was half of the
    writer's time): the literal pieces are split once, the values taken in order by one itemgetter
    and dropped into every other slot of a copy of the pieces (one C call; interleaving them in
    Python, with zip and chain, cost twice the rest of a line)."""
    pieces = list(string.Formatter().parse(template))
    names = [name for _, name, _, _ in pieces if name is not None]
    if len(names) < 2:  # itemgetter of one name returns the value itself, not a tuple
        raise ValueError("a template needs at least two fields")
    slots: list[str | None] = []  # literal, value, literal, value, ..., the literal after the last value
    for literal, name, _, _ in pieces:
        slots.append(literal)
        if name is not None:
            slots.append(None)
    if pieces[-1][1] is not None:
        slots.append("")
    take = operator.itemgetter(*names)

    def render(values: dict[str, str]) -> str:
        parts = slots[:]
        # Exactly one value a slot, or ValueError. A list, not itemgetter's tuple: compiled
        # (invoice_hub.compiled), a slice of a list is assigned from a list only.
        parts[1::2] = list(take(values))
        return "".join(parts)  # type: ignore[arg-type]  # every slot is filled

    return render


# The document is written from two templates (one call each) rather than element by element: the
# writer is half of every conversion. NetAmountN/TaxAmountN and GlSegment repeat, so they are
# rendered first and put in whole. An element the values do not give is written empty as part of
# the template's literal text: one template for each set of names given (a handful: the model's own,
# with each integration's custom fields), made at its first use, so that the values are not merged
# into a dict of every element first (most of a line's 49 are empty; the merge was an eighth of the
# writer).


#: The two templates: (start, elements, indent, the repeated ones pre-rendered into a slot, end).
_PARTS = {
    "head": (
        "<Invoice>\n",
        HEADER_FIELDS[: HEADER_FIELDS.index("ImageBase64")],
        "  ",
        {"NetAmount1": "_nets", "TaxAmount1": "_taxes"},
        "",
    ),
    "line": ("  <LineItem>\n", LINE_FIELDS, "    ", {"GlSegment": "_segments"}, "  </LineItem>\n"),
}


@functools.lru_cache(maxsize=256)
def _part_renderer(part: str, given: tuple[str, ...]) -> Callable[[dict[str, str]], str]:
    """The renderer of ``part`` ("head" or "line") for values that give the names ``given``."""
    start, names, indent, repeated, end = _PARTS[part]
    return _renderer(start + _template(names, indent, repeated, given) + end)


_HEADER_NAMES = frozenset(HEADER_FIELDS)


def _escape_all(values: dict[str, str], where: str) -> dict[str, str]:
    """``values`` as XML text; one scan of them all, since special characters are rare in invoices."""
    if not _SPECIAL.search("".join(values.values())):
        return values
    return {name: _escaped(value, where) for name, value in values.items()}


def _numbered(values: dict[str, str], prefix: str, custom: dict[str, str]) -> str:
    """The ``NetAmountN`` (or ``TaxAmountN``) elements in number order."""
    if any(_NET.match(name) for name in custom):  # a custom field adds or replaces one: sort them all
        names = sorted(
            (k for k in values if k.startswith(prefix) and _NET.match(k)), key=lambda k: int(k[9:])
        )
    else:  # only the header's own, numbered from 1 without a gap: no scan of every value needed
        names = list(itertools.takewhile(values.__contains__, (f"{prefix}{n}" for n in itertools.count(1))))
    return "".join(f"  <{k}>{values[k]}</{k}>\n" for k in names)


def _header_parts(invoice: Invoice, image: tuple[Attachment, str] | None) -> tuple[str, str]:
    """The document as text, split where the image's base64 goes (written in between, streamed)."""
    where = f"invoice {invoice.number}"
    custom = invoice.custom_fields
    _check_custom(custom, where, None)
    extra = extra_header_values(invoice)
    values = _escape_all(
        {**header_values(invoice), **extra, **custom, "ImageExtension": image[1] if image else ""}, where
    )
    slots = {
        **values,
        "_nets": _numbered(values, "NetAmount", custom),
        "_taxes": _numbered(values, "TaxAmount", custom),
    }
    head = _part_renderer("head", tuple(slots))(slots) + "  <ImageBase64>"
    tail = ["</ImageBase64>\n"]
    if custom or extra:  # the extra header elements, after the image
        tail.extend(
            f"  <{name}>{value}</{name}>\n"
            for name, value in values.items()
            if (name in custom or name in extra) and name not in _HEADER_NAMES and not _NET.match(name)
        )
    for line in invoice.lines:
        line_where = f"{where}, line {line.id}"
        _check_custom(line.custom_fields, line_where, LINE_FIELDS)
        segments = "".join(
            f'    <GlSegment segmentNumber="{number}" name="{_escaped(segment.name or f"Segment{number}", line_where)}">'
            f"{_escaped(segment.value, line_where)}</GlSegment>\n"
            for number, segment in enumerate(_gl_segments(line), start=1)
        )
        line_values_ = line_values(invoice, line)
        if line.custom_fields:
            line_values_.update(line.custom_fields)
        line_values_ = _escape_all(line_values_, line_where)
        line_values_["_segments"] = segments
        tail.append(_part_renderer("line", tuple(line_values_))(line_values_))
    tail.append("</Invoice>\n")
    return head, "".join(tail)


def write_ap_agility(invoice: Invoice, sink: SupportsWrite[bytes]) -> None:
    """``invoice`` as AP Agility XML into ``sink``, the image base64-encoded chunk by chunk.

    The document is written as text rather than built as a tree: it is flat, its element names are
    fixed or checked, and every value is escaped, so the tree would only cost time.
    """
    image = image_attachment(invoice)
    head, tail = _header_parts(invoice, image)
    sink.write(b'<?xml version="1.0" encoding="utf-8"?>\n')
    sink.write(head.encode())
    if image is not None:
        content = memoryview(image[0].content or b"")
        for start in range(0, len(content), _IMAGE_CHUNK):
            sink.write(base64.b64encode(content[start : start + _IMAGE_CHUNK]))
    sink.write(tail.encode())


# -- reading --------------------------------------------------------------------------------------


class _Values:
    """Typed reads of header or line elements, with the file and element named in errors."""

    def __init__(self, values: dict[str, str], source: str, where: str) -> None:
        self.values, self.source, self.where = values, source, where

    def text(self, name: str) -> str | None:
        return self.values.get(name) or None

    def _typed(self, name: str, convert: Callable[[str], object], kind: str) -> object:
        text = self.text(name)
        if text is None:
            return None
        try:
            return convert(text)
        except (InvalidOperation, ValueError):
            raise FormatError(f"{self.source}: {self.where}/{name} is not {kind}: {text!r}") from None

    # _typed returns what convert does (or None); its result is typed object, not convert's type
    def decimal(self, name: str) -> Decimal | None:
        return self._typed(name, _number, "a number")  # type: ignore[return-value]  # see above

    def date(self, name: str) -> dt.date | None:
        # see decimal(): a date from ap_agility_date, or None
        return self._typed(name, ap_agility_date, "a date (M/D/YYYY or YYYY-MM-DD)")  # type: ignore[return-value]  # see above


def _number(text: str) -> Decimal:
    """A plain decimal number, as AP Agility writes its amounts, rates and quantities: no exponent,
    NaN or infinity (which ``Decimal`` would take and the model refuse)."""
    number = xs_decimal(text)
    if number is None:
        raise ValueError(text)
    return number


def _children(element: etree._Element, source: str, where: str) -> dict[str, str]:
    """The texts of an element's fields by name. A field AP Agility's layout has once may repeat
    only with the same text: of two invoice numbers or totals, keeping either would lose the other
    without a word, so such a document is refused, naming both."""
    values: dict[str, str] = {}
    for child in element:
        if isinstance(child.tag, str) and child.tag not in ("LineItem", "GlSegment", "ImageBase64"):
            name, text = _ALIASES.get(child.tag, child.tag), (child.text or "").strip()
            if values.setdefault(name, text) != text:
                raise FormatError(
                    f"{source}: {where}/{child.tag} occurs twice, as {values[name]!r} and {text!r} (line "
                    f"{child.sourceline}); AP Agility has one {name}: keep the right one"
                )
    return values


def read_ap_agility(document: bytes | Path, source: str = "<document>") -> Invoice:
    """The invoice in an AP Agility XML document; :class:`FormatError` when it is not one."""
    return ap_agility_from_root(parse_xml(document, source), source)


def ap_agility_from_root(root: etree._Element, source: str) -> Invoice:
    """The invoice of a parsed AP Agility document (its image's text is taken out of the tree)."""
    try:
        return _from_root(root, source)
    except ArithmeticError:  # the reader computes tax per VAT rate: a partner's number can overflow
        raise FormatError(
            f"{source}: a number is too large to compute with (a decimal carries 28 digits): "
            "check the amounts, rates and quantities"
        ) from None
    except ValidationError as exc:  # every value is typed above; a safety net naming the file
        raise FormatError(f"{source}: not a readable AP Agility invoice: {exc}") from None


def _from_root(root: etree._Element, source: str) -> Invoice:
    if root.tag != "Invoice":
        raise FormatError(f"{source}: the root element is {root.tag}, not AP Agility's <Invoice>")
    raw = _children(root, source, "/Invoice")
    h = _Values(raw, source, "/Invoice")
    number = h.text("InvoiceNumber")
    if number is None:
        raise FormatError(f"{source}: /Invoice/InvoiceNumber is missing or empty")
    items = root.findall("LineItem")
    # each line's fields, read once: for the line, then for its custom fields
    fields = [_children(item, source, _line_where(index)) for index, item in enumerate(items, start=1)]
    lines = [
        _line(source, item, index, texts)
        for index, (item, texts) in enumerate(zip(items, fields, strict=True), start=1)
    ]
    numbers = sorted({int(m.group(2)) for k in raw if (m := _NET.match(k))})
    groups = [(h.decimal(f"NetAmount{n}"), h.decimal(f"TaxAmount{n}")) for n in numbers]
    categories = _group_categories(lines, [net for net, _ in groups])
    document_level = _document_level(h, None)
    shared = _document_level_category(groups, categories, document_level)
    for item in document_level:
        item.tax = shared.model_copy() if shared is not None else None
    subtotals = [
        TaxSubtotal(
            taxable_amount=_taxable(net, category, document_level),
            tax_amount=tax_amount,
            category=category,
        )
        for (net, tax_amount), category in zip(groups, categories, strict=True)
    ]
    tax = sum((s.tax_amount or Decimal(0) for s in subtotals), Decimal(0)) if subtotals else None
    allowances, inclusive = h.decimal("Discount"), h.decimal("InvoiceAmount")
    freight, miscellaneous = h.decimal("Freight"), h.decimal("AmtMiscellaneous")
    charges = None if freight is None and miscellaneous is None else (freight or 0) + (miscellaneous or 0)
    line_extension = h.decimal("SubTotal")
    exclusive = line_extension - (allowances or 0) + (charges or 0) if line_extension is not None else None
    prepaid, rounding = h.decimal(PREPAID), h.decimal(ROUNDING)
    payable = inclusive - (prepaid or 0) + (rounding or 0) if inclusive is not None else None
    attachments = []
    images = root.findall("ImageBase64")
    if len(images) > 1:  # the layout has one image: a second one would be dropped without a word
        raise FormatError(
            f"{source}: /Invoice/ImageBase64 occurs {len(images)} times (line {images[1].sourceline}); "
            "AP Agility has one image an invoice: send the others as separate documents"
        )
    image = images[0] if images else None
    if image is not None and (image.text or "").strip():
        extension = (h.text("ImageExtension") or ".pdf").lower()
        attachments.append(
            Attachment(
                id=number,
                filename=f"{number}{extension}",
                mime_type=_IMAGE_EXTENSIONS.get(extension, "application/octet-stream"),
                content=take_base64(image, source),
            )
        )
    document_type = (h.text("DocumentType") or "INVOICE").upper()
    invoice = Invoice(
        number=number,
        type="credit_note" if document_type.startswith("CREDIT") else "invoice",
        issue_date=h.date("InvoiceDate"),
        due_date=h.date("DueDate"),
        currency=h.text("Currency"),
        order_reference=h.text("PoNumber"),
        payment_terms=h.text("PaymentComments"),
        seller=Party(
            name=h.text("VendorName1"),
            ids=[Identifier(value=vendor)] if (vendor := h.text("VendorId")) else [],
            address=Address(
                street=h.text("VendorStreet1"),
                city=h.text("VendorCity"),
                subdivision=h.text("VendorState"),
                postal_zone=h.text("VendorZip"),
            ),
        ),
        lines=lines,
        allowances_charges=document_level,
        tax_subtotals=subtotals,
        totals=Totals(
            line_extension=line_extension,
            tax_exclusive=exclusive,
            tax_inclusive=inclusive,
            allowances=allowances,
            charges=charges,
            prepaid=prepaid,
            rounding=rounding,
            payable=payable,
            tax=tax,
        ),
        attachments=attachments,
    )
    # Whatever the model does not reproduce is kept under its own name.
    derived = header_values(invoice)
    invoice.custom_fields = {
        name: value
        for name, value in raw.items()
        if name not in ("ImageExtension", PREPAID, ROUNDING) and value != derived.get(name, "")
    }
    for line, texts in zip(invoice.lines, fields, strict=True):
        values = line_values(invoice, line)
        line.custom_fields = {name: value for name, value in texts.items() if value != values.get(name, "")}
    return invoice


def _group_categories(lines: list[Line], nets: list[Decimal | None]) -> list[TaxCategory | None]:
    """The VAT category of each ``NetAmountN``, which the seed does not state: that of the lines
    (``TaxCode``, ``TaxRate``) whose totals make it, each category used once; None when none does."""
    sums: dict[tuple[str | None, Decimal | None], Decimal] = {}
    for line in lines:
        if line.tax is not None and line.tax.code:
            key = (line.tax.code, line.tax.rate)
            sums[key] = sums.get(key, Decimal(0)) + (line.net_amount or Decimal(0))
    if len(nets) == 1 and len(sums) == 1:  # one rate, one category: whatever the lines sum to
        ((code, rate),) = sums
        return [TaxCategory(code=code, rate=rate)]
    free = dict(sums)
    categories: list[TaxCategory | None] = []
    for net in nets:
        matched = next((k for k, total in free.items() if total == net), None)
        if matched is None:
            categories.append(None)
            continue
        del free[matched]
        categories.append(TaxCategory(code=matched[0], rate=matched[1]))
    return categories


def _fits(net: Decimal | None, tax: Decimal | None, rate: Decimal | None, extra: Decimal) -> bool:
    """Whether ``tax`` is ``rate`` percent of ``net`` plus ``extra``, rounded to the cent."""
    if net is None or tax is None or rate is None:
        return False
    return ((net + extra) * rate / 100).quantize(_CENT, ROUND_HALF_UP) == tax


def _document_level_category(
    groups: list[tuple[Decimal | None, Decimal | None]],
    categories: list[TaxCategory | None],
    document_level: list[AllowanceCharge],
) -> TaxCategory | None:
    """The VAT category of the document-level charges and allowances, which the seed does not state.

    With one VAT breakdown, its category. With several (each of a known category), the one whose
    ``TaxAmountN`` is its rate of ``NetAmountN`` *plus* them while every other one's is its rate of
    ``NetAmountN`` alone; when every breakdown is its rate of its lines, the only zero-rated one.
    Otherwise (they are spread over several rates) it cannot be known, and the loss says so.
    """
    if len(categories) == 1:
        return categories[0]
    extra = sum((a.amount if a.is_charge else -a.amount for a in document_level), Decimal(0))
    if not extra or any(c is None for c in categories):
        return None
    known = [c for c in categories if c is not None]
    plain = [_fits(net, tax, c.rate, Decimal(0)) for (net, tax), c in zip(groups, known, strict=True)]
    needing = [i for i, fits in enumerate(plain) if not fits]
    if len(needing) == 1:
        (i,) = needing
        return known[i] if _fits(groups[i][0], groups[i][1], known[i].rate, extra) else None
    zero = [c for c in known if c.rate == 0]
    return zero[0] if not needing and len(zero) == 1 else None


def _document_level(h: _Values, category: TaxCategory | None) -> list[AllowanceCharge]:
    """The header's Freight and AmtMiscellaneous as document-level charges and its Discount as an
    allowance, so that a UBL written from the invoice states each of them once (BG-20, BG-21)."""
    items = []
    for name, is_charge, reason, code in (
        ("Freight", True, "Freight", FREIGHT_CODE),
        ("AmtMiscellaneous", True, "Miscellaneous", None),
        ("Discount", False, "Discount", DISCOUNT_CODE),
    ):
        amount = h.decimal(name)
        if amount:
            tax = category.model_copy() if category is not None else None
            items.append(
                AllowanceCharge(is_charge=is_charge, amount=amount, reason=reason, reason_code=code, tax=tax)
            )
    return items


def _taxable(
    net: Decimal | None, category: TaxCategory | None, document_level: list[AllowanceCharge]
) -> Decimal | None:
    """EN 16931's taxable amount of a breakdown: the lines' net plus its charges less its allowances."""
    if net is None:
        return None
    return net + sum(
        (a.amount if a.is_charge else -a.amount for a in document_level if _same_category(a.tax, category)),
        Decimal(0),
    )


def _line_where(index: int) -> str:
    return f"/Invoice/LineItem[{index}]"


def _line(source: str, item: etree._Element, index: int, texts: dict[str, str]) -> Line:
    v = _Values(texts, source, _line_where(index))
    rate, code = v.decimal("TaxRate"), v.text("TaxCode")
    discount = v.decimal("Discount")
    return Line(
        id=v.text("LineNumber") or str(index),
        quantity=v.decimal("Quantity"),
        unit_code=v.text("UnitOfMeasure"),
        net_amount=v.decimal("Total"),
        price=v.decimal("UnitPrice"),
        price_base_quantity=v.decimal("UnitOfQuantity"),
        item_name=v.text("Description"),
        seller_item_id=v.text("MaterialNumber"),
        classifications=[Identifier(value=category)] if (category := v.text("Category")) else [],
        tax=TaxCategory(code=code, rate=rate) if rate is not None or code else None,
        accounting_cost=v.text("GlAccount"),
        gl_segments=[
            GlSegment(value=(segment.text or "").strip(), name=segment.get("name"))
            for segment in item.iterfind("GlSegment")  # numbered by position, as they are written
        ],
        charge_code=v.text("ChargeCode"),
        order_line_reference=v.text("PoLineNumber"),
        allowances_charges=(
            [AllowanceCharge(is_charge=False, amount=discount, reason="Discount", reason_code=DISCOUNT_CODE)]
            if discount
            else []
        ),
    )
