"""UBL 2.1 Invoice and CreditNote (also PEPPOL BIS Billing 3.0, which is UBL with a profile) into the
canonical model.

The reader is a table per UBL aggregate: for each child element it knows (by tag) what to do with it,
and it walks each element's children once. Asking a hundred paths of each document instead, most of
them absent, made reading several times slower than parsing. Plain texts and numbers, most of a
document's elements, are read inline by the walk rather than by a handler call each. Every business
term of ``formats/bindings.py`` is read (a test checks each binding's path); the model is validated
once, from the values the walk collected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree
from pydantic import ValidationError

from invoice_hub.formats.xml import FormatError, parse_xml, take_base64
from invoice_hub.model import Invoice
from invoice_hub.ubl_namespaces import CREDIT_NOTE_NS, INVOICE_NS, NS

ROOTS = {f"{{{INVOICE_NS}}}Invoice": "invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "credit_note"}

Values = dict[str, Any]
Handler = Callable[[etree._Element, Values, str], None]
"""What to do with one child element: put what it holds into the values of its parent."""


class _TextKey(str):
    """The key of a plain text child (``text("key")``): the commonest case, read inline by :func:`_read`."""


class _DecimalKey(str):
    """The key of a number child (``decimal("key")``, amounts and quantities), read inline by :func:`_read`."""


class _DateKey(str):
    """The key of a date child (``date("key")``), read inline by :func:`_read`."""


@dataclass(frozen=True, slots=True)
class _Group:
    """An aggregate that becomes a dict of its own under ``key`` (a list of them when ``repeat``),
    walked inline by :func:`_read` (a handler call and a closure less per aggregate)."""

    key: str
    shape: Shape
    finish: Callable[[Values], Values] | None
    repeat: bool


@dataclass(frozen=True, slots=True)
class Shape:
    """An aggregate's children, by Clark tag: what each becomes (a text, number or date key, a
    group, a merged wrapper, or a handler). One table, so that a child costs one lookup."""

    table: dict[str, Any]


def read_ubl(document: bytes | Path, source: str = "<document>") -> Invoice:
    """The invoice or credit note in ``document``; :class:`FormatError` when it is not UBL 2.1."""
    return ubl_from_root(parse_xml(document, source), source)


def ubl_from_root(root: etree._Element, source: str) -> Invoice:
    """The invoice of a parsed UBL document (its embedded attachments' text is taken out of the tree)."""
    kind = ROOTS.get(root.tag)
    if kind is None:
        raise FormatError(f"{source}: the root element is {root.tag}, not a UBL 2.1 Invoice or CreditNote")
    values = _read(root, DOCUMENT, source, {"type": kind})
    if not values.get("number"):
        raise FormatError(f"{source}: the document has no cbc:ID (invoice number)")
    payment_due = values.pop("payment_due_date", None)
    if values.get("due_date") is None:
        values["due_date"] = payment_due
    _take_tax_totals(values)
    _take_project_reference(values)
    try:
        return Invoice.model_validate(values)
    except ValidationError as exc:  # the walk types every value; this is a safety net naming the file
        raise FormatError(f"{source}: not a readable UBL invoice: {exc}") from None


def _take_tax_totals(values: Values) -> None:
    """BT-110, BT-111 and the VAT breakdown (BG-23) from the document's TaxTotals.

    With a VAT accounting currency (BT-6) there are two TaxTotals, in either order: the one in the
    document currency (BT-5) holds the total VAT (BT-110) and the breakdown, the other one only the
    total VAT in the accounting currency (BT-111).
    """
    totals: list[Values] = values.pop("tax_totals", [])
    currency, tax_currency = values.get("currency"), values.get("tax_currency")
    # In the document currency if one is (else any), the one with the breakdown first.
    candidates = [total for total in totals if total.get("currency") == currency] or totals
    main = next(
        (total for total in candidates if total.get("tax_subtotals")), candidates[0] if candidates else None
    )
    summary = values.setdefault("totals", {})
    summary["tax"] = main.get("tax") if main else None
    values["tax_subtotals"] = main.get("tax_subtotals", []) if main else []
    if tax_currency and tax_currency != currency:
        accounting = next((total for total in totals if total.get("currency") == tax_currency), None)
        if accounting is not None and accounting is not main:
            summary["tax_in_tax_currency"] = accounting.get("tax")


def _take_project_reference(values: Values) -> None:
    """A CreditNote has no ProjectReference: BT-11 is its document reference of type 50."""
    if values.get("type") == "credit_note" and "project_reference" not in values:
        for position, reference in enumerate(values.get("attachments", [])):
            if reference.pop("type_code", None) == "50":
                values["project_reference"] = values["attachments"].pop(position)["id"]
                break
    for reference in values.get("attachments", []):
        reference.pop("type_code", None)


def _read(element: etree._Element, shape: Shape, source: str, values: Values | None = None) -> Values:
    # The reader's inner loop, once per element of the document: plain texts, numbers, dates and
    # groups are read here rather than by a call each (the calls were most of reading's time).
    values = {} if values is None else values
    table = shape.table
    child: etree._Element  # a bare annotation: no runtime cost
    # lxml builds the list in one C call: faster than its child iterator
    for child in element[:]:  # type: ignore[index]  # lxml-stubs lack the slice overload
        entry = table.get(child.tag)
        if entry is None:
            continue
        kind = type(entry)
        if kind is _TextKey:
            if entry not in values:
                text_ = child.text
                values[entry] = text_.strip() if text_ else ""  # present, if empty: see _text_of
        elif kind is _DecimalKey:
            if entry not in values:
                text_ = child.text
                text_ = text_.strip() if text_ else None
                if text_:
                    try:
                        values[entry] = Decimal(text_)
                    except (InvalidOperation, ValueError):
                        raise _not_a(child, source, "a number", text_) from None
                else:
                    values[entry] = None
        elif kind is _Group:
            if entry.repeat:
                read = _read(child, entry.shape, source)
                values.setdefault(entry.key, []).append(entry.finish(read) if entry.finish else read)
            elif entry.key not in values:
                read = _read(child, entry.shape, source)
                values[entry.key] = entry.finish(read) if entry.finish else read
        elif kind is Shape:  # merge(): the wrapper's children belong to this aggregate
            _read(child, entry, source, values)
        elif kind is _DateKey:
            if entry not in values:
                values[entry] = _typed(child, source, _iso_date, "a date (YYYY-MM-DD)")
        else:
            entry(child, values, source)
    return values


def _shape(handlers: dict[str, Handler]) -> Shape:
    """``{"cbc:ID": ...}`` keyed by the Clark names lxml reports as tags."""
    return Shape({f"{{{NS[name[:3]]}}}{name[4:]}": handler for name, handler in handlers.items()})


def _text_of(element: etree._Element) -> str:
    """The element's text, stripped; ``""`` when it is empty, which is not the same as absent: CEN's
    rules ask for many elements with ``exists()`` (BR-38's charge reason, BR-S-02's seller VAT
    id, ...), so an invoice with an empty one passes them, and a UBL output without it would not."""
    text = element.text
    return text.strip() if text else ""


def _typed(element: etree._Element, source: str, convert: Callable[[str], Any], expected: str) -> Any:
    value = _text_of(element)
    if not value:  # an empty number or date has no value to carry
        return None
    try:
        return convert(value)
    except (InvalidOperation, ValueError):
        raise _not_a(element, source, expected, value) from None


def _not_a(element: etree._Element, source: str, expected: str, value: str) -> FormatError:
    """The error for a value that is not what its element holds, naming the file, element and line."""
    name = etree.QName(element).localname
    return FormatError(f"{source}: {name} is not {expected}: {value!r} (line {element.sourceline})")


# Each element of a kind UBL has once: the first one counts.


def text(key: str) -> Handler:
    return _TextKey(key)  # type: ignore[return-value]  # read inline by _read, never called


def decimal(key: str) -> Handler:
    return _DecimalKey(key)  # type: ignore[return-value]  # read inline by _read, never called


def _iso_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def date(key: str) -> Handler:
    return _DateKey(key)  # type: ignore[return-value]  # read inline by _read, never called


def _identifier(element: etree._Element, scheme_attribute: str = "schemeID") -> Values:
    return {"value": _text_of(element), "scheme": element.get(scheme_attribute)}


def identifier(key: str) -> Handler:
    def take(element: etree._Element, values: Values, source: str) -> None:
        if key not in values:
            values[key] = _identifier(element)

    return take


def merge(shape: Shape) -> Handler:
    """An aggregate whose children belong to the parent (``cac:OrderReference/cbc:ID``: order_reference);
    :func:`_read` walks into it directly (a handler call less per wrapper)."""
    return shape  # type: ignore[return-value]  # walked by _read, never called


def group(key: str, shape: Shape, finish: Callable[[Values], Values] | None = None) -> Handler:
    return _Group(key, shape, finish, repeat=False)  # type: ignore[return-value]  # walked by _read


# Elements that repeat: each one is kept, in document order.


def texts(key: str) -> Handler:
    def take(element: etree._Element, values: Values, source: str) -> None:
        values.setdefault(key, []).append(_text_of(element))

    return take


def identifiers(key: str, scheme_attribute: str = "schemeID") -> Handler:
    def take(element: etree._Element, values: Values, source: str) -> None:
        values.setdefault(key, []).append(_identifier(element, scheme_attribute))

    return take


def groups(key: str, shape: Shape, finish: Callable[[Values], Values] | None = None) -> Handler:
    return _Group(key, shape, finish, repeat=True)  # type: ignore[return-value]  # walked by _read


# Elements that need more than a field: the few rules of UBL the tables cannot say.


def _party_tax_scheme(element: etree._Element, values: Values, source: str) -> None:
    scheme = _read(element, PARTY_TAX_SCHEME, source)
    tax_scheme = scheme.get("scheme")
    if (tax_scheme or "").upper() == "VAT":
        values["vat_id"] = scheme.get("company_id")
    else:  # a tax scheme other than VAT (BT-32): its id is kept as the document has it
        values["tax_registration_id"] = scheme.get("company_id")
        values["tax_registration_scheme"] = tax_scheme


def _quantity(element: etree._Element, values: Values, source: str) -> None:
    if "quantity" not in values:
        values["quantity"] = _typed(element, source, Decimal, "a number")
        values["unit_code"] = element.get("unitCode")


def _base_quantity(element: etree._Element, values: Values, source: str) -> None:
    if "price_base_quantity" not in values:
        values["price_base_quantity"] = _typed(element, source, Decimal, "a number")
        values["price_base_unit_code"] = element.get("unitCode")


def _tax_amount(element: etree._Element, values: Values, source: str) -> None:
    if "tax" not in values:
        values["tax"] = _typed(element, source, Decimal, "a number")
        values["currency"] = element.get("currencyID")


def _tax_total(element: etree._Element, values: Values, source: str) -> None:
    values.setdefault("tax_totals", []).append(_read(element, TAX_TOTAL, source))


def _tax_scheme(element: etree._Element, values: Values, source: str) -> None:
    """``cac:TaxScheme/cbc:ID`` of a tax category: kept only when it is not VAT (the model's default)."""
    scheme = _read(element, _ID, source).get("id")
    if scheme is not None and scheme != "VAT":
        values["scheme"] = scheme


def _binary_object(element: etree._Element, values: Values, source: str) -> None:
    if "content" not in values:
        values["filename"] = element.get("filename")
        values["mime_type"] = element.get("mimeCode")
        # An element with no text is an attachment with empty content (b""), not a missing one.
        values["content"] = take_base64(element, source) if element.text else b""


def _classification(element: etree._Element, values: Values, source: str) -> None:
    value = _identifier(element, "listID")
    value["scheme_version"] = element.get("listVersionID")
    values.setdefault("classifications", []).append(value)


def _payment_means_code(element: etree._Element, values: Values, source: str) -> None:
    if "code" not in values:
        values["code"] = _text_of(element)
        values["text"] = element.get("name")


def _payment_means(element: etree._Element, values: Values, source: str) -> None:
    means = _read(element, PAYMENT_MEANS, source)
    due = means.pop("due_date", None)
    if due is not None:
        values.setdefault("payment_due_date", due)
    values.setdefault("payment_means", []).append(means)


def _additional_document(element: etree._Element, values: Values, source: str) -> None:
    """``cac:AdditionalDocumentReference``: with DocumentTypeCode 130 the invoiced object identifier
    (BT-18), else a supporting document (BG-24; in a CreditNote, code 50 is BT-11, taken later)."""
    read = _read(element, ATTACHMENT, source)
    scheme = read.pop("id_scheme", None)
    if read.get("type_code") == "130":
        if "invoiced_object" not in values and read.get("id") is not None:
            values["invoiced_object"] = {"value": read["id"], "scheme": scheme}
        return
    values.setdefault("attachments", []).append(read)


def _billing_reference(element: etree._Element, values: Values, source: str) -> None:
    for reference in element.iterfind("cac:InvoiceDocumentReference", NS):
        read = _read(reference, _PRECEDING, source)
        if read.get("id") is not None:
            values.setdefault("preceding_invoices", []).append(read["id"])
            if read.get("issue_date") is not None:
                values.setdefault("preceding_invoice_dates", {})[read["id"]] = read["issue_date"]


def _invoice_period(element: etree._Element, values: Values, source: str) -> None:
    """``cac:InvoicePeriod``: BG-14 (BT-73, BT-74) and, at the document level, BT-8 its description code."""
    if "invoice_period" in values:
        return
    period = _read(element, PERIOD, source)
    code = period.pop("description_code", None)
    if code is not None:
        values["tax_point_date_code"] = code
    if period:
        values["invoice_period"] = period


def _item_attribute(element: etree._Element, values: Values, source: str) -> None:
    read = _read(element, _ITEM_PROPERTY, source)
    values.setdefault("attributes", []).append(
        {"name": read.get("name") or "", "value": read.get("value") or ""}
    )


def _price_allowance(element: etree._Element, values: Values, source: str) -> None:
    """The price's ``cac:AllowanceCharge``: the item price discount (BT-147) off the gross price (BT-148)."""
    if "price_discount" not in values and "gross_price" not in values:
        read = _read(element, _PRICE_ALLOWANCE, source)
        values["price_discount"] = read.get("amount")
        values["gross_price"] = read.get("base")


def _allowance_charge(values: Values) -> Values:
    values["is_charge"] = (values.get("is_charge") or "").lower() in ("true", "1")  # xsd:boolean
    if values.get("amount") is None:
        values["amount"] = Decimal(0)
    return values


def _line(values: Values) -> Values:
    if values.get("id") is None:
        values["id"] = ""
    return values


_ID = _shape({"cbc:ID": text("id")})
_PRECEDING = _shape({"cbc:ID": text("id"), "cbc:IssueDate": date("issue_date")})
_ITEM_PROPERTY = _shape({"cbc:Name": text("name"), "cbc:Value": text("value")})
_PRICE_ALLOWANCE = _shape({"cbc:Amount": decimal("amount"), "cbc:BaseAmount": decimal("base")})
TAX_CATEGORY = _shape(
    {
        "cbc:ID": text("code"),
        "cbc:Percent": decimal("rate"),
        "cbc:TaxExemptionReason": text("exemption_reason"),
        "cbc:TaxExemptionReasonCode": text("exemption_code"),
        "cac:TaxScheme": _tax_scheme,
    }
)
PERIOD = _shape(
    {
        "cbc:StartDate": date("start"),
        "cbc:EndDate": date("end"),
        "cbc:DescriptionCode": text("description_code"),
    }
)
ALLOWANCE_CHARGE = _shape(
    {
        "cbc:ChargeIndicator": text("is_charge"),
        "cbc:AllowanceChargeReasonCode": text("reason_code"),
        "cbc:AllowanceChargeReason": text("reason"),
        "cbc:MultiplierFactorNumeric": decimal("percent"),
        "cbc:Amount": decimal("amount"),
        "cbc:BaseAmount": decimal("base_amount"),
        "cac:TaxCategory": group("tax", TAX_CATEGORY),
    }
)
PARTY_TAX_SCHEME = _shape(
    {"cbc:CompanyID": text("company_id"), "cac:TaxScheme": merge(_shape({"cbc:ID": text("scheme")}))}
)
ADDRESS = _shape(
    {
        "cbc:StreetName": text("street"),
        "cbc:AdditionalStreetName": text("additional_street"),
        "cbc:CityName": text("city"),
        "cbc:PostalZone": text("postal_zone"),
        "cbc:CountrySubentity": text("subdivision"),
        "cac:AddressLine": merge(_shape({"cbc:Line": text("line3")})),
        "cac:Country": merge(_shape({"cbc:IdentificationCode": text("country")})),
    }
)
CONTACT = _shape(
    {"cbc:Name": text("name"), "cbc:Telephone": text("telephone"), "cbc:ElectronicMail": text("email")}
)
PARTY = _shape(
    {
        "cbc:EndpointID": identifier("endpoint"),
        "cac:PartyIdentification": merge(_shape({"cbc:ID": identifiers("ids")})),
        "cac:PartyName": merge(_shape({"cbc:Name": text("trading_name")})),
        "cac:PostalAddress": group("address", ADDRESS),
        "cac:PartyTaxScheme": _party_tax_scheme,
        "cac:PartyLegalEntity": merge(
            _shape(
                {
                    "cbc:RegistrationName": text("name"),
                    "cbc:CompanyID": identifier("legal_id"),
                    "cbc:CompanyLegalForm": text("legal_form"),
                }
            )
        ),
        "cac:Contact": group("contact", CONTACT),
    }
)
ITEM = _shape(
    {
        "cbc:Description": text("item_description"),
        "cbc:Name": text("item_name"),
        "cac:BuyersItemIdentification": merge(_shape({"cbc:ID": text("buyer_item_id")})),
        "cac:SellersItemIdentification": merge(_shape({"cbc:ID": text("seller_item_id")})),
        "cac:StandardItemIdentification": merge(_shape({"cbc:ID": identifier("standard_item_id")})),
        "cac:OriginCountry": merge(_shape({"cbc:IdentificationCode": text("origin_country")})),
        "cac:CommodityClassification": merge(_shape({"cbc:ItemClassificationCode": _classification})),
        "cac:ClassifiedTaxCategory": group("tax", TAX_CATEGORY),
        "cac:AdditionalItemProperty": _item_attribute,
    }
)
LINE = _shape(
    {
        "cbc:ID": text("id"),
        "cbc:Note": text("note"),
        "cbc:InvoicedQuantity": _quantity,
        "cbc:CreditedQuantity": _quantity,
        "cbc:LineExtensionAmount": decimal("net_amount"),
        "cbc:AccountingCost": text("accounting_cost"),
        "cac:InvoicePeriod": group("period", PERIOD),
        "cac:OrderLineReference": merge(_shape({"cbc:LineID": text("order_line_reference")})),
        # BT-128: PEPPOL says DocumentTypeCode 130, CEN's examples leave it out; either is the line's object.
        "cac:DocumentReference": merge(_shape({"cbc:ID": identifier("object_id")})),
        "cac:AllowanceCharge": groups("allowances_charges", ALLOWANCE_CHARGE, _allowance_charge),
        "cac:Item": merge(ITEM),
        "cac:Price": merge(
            _shape(
                {
                    "cbc:PriceAmount": decimal("price"),
                    "cbc:BaseQuantity": _base_quantity,
                    "cac:AllowanceCharge": _price_allowance,
                }
            )
        ),
    }
)
TAX_TOTAL = _shape(
    {
        "cbc:TaxAmount": _tax_amount,
        "cac:TaxSubtotal": groups(
            "tax_subtotals",
            _shape(
                {
                    "cbc:TaxableAmount": decimal("taxable_amount"),
                    "cbc:TaxAmount": decimal("tax_amount"),
                    "cac:TaxCategory": group("category", TAX_CATEGORY),
                }
            ),
        ),
    }
)
MONETARY_TOTAL = _shape(
    {
        "cbc:LineExtensionAmount": decimal("line_extension"),
        "cbc:TaxExclusiveAmount": decimal("tax_exclusive"),
        "cbc:TaxInclusiveAmount": decimal("tax_inclusive"),
        "cbc:AllowanceTotalAmount": decimal("allowances"),
        "cbc:ChargeTotalAmount": decimal("charges"),
        "cbc:PrepaidAmount": decimal("prepaid"),
        "cbc:PayableRoundingAmount": decimal("rounding"),
        "cbc:PayableAmount": decimal("payable"),
    }
)
PAYMENT_MEANS = _shape(
    {
        "cbc:PaymentMeansCode": _payment_means_code,
        "cbc:PaymentDueDate": date("due_date"),
        "cbc:PaymentID": text("payment_id"),
        "cac:CardAccount": group(
            "card",
            _shape(
                {
                    "cbc:PrimaryAccountNumberID": text("primary_account"),
                    "cbc:NetworkID": text("network_id"),
                    "cbc:HolderName": text("holder_name"),
                }
            ),
        ),
        "cac:PayeeFinancialAccount": merge(
            _shape(
                {
                    "cbc:ID": text("account_id"),
                    "cbc:Name": text("account_name"),
                    "cac:FinancialInstitutionBranch": merge(_shape({"cbc:ID": text("bank_id")})),
                }
            )
        ),
        "cac:PaymentMandate": group(
            "direct_debit",
            _shape(
                {
                    "cbc:ID": text("mandate_id"),
                    "cac:PayerFinancialAccount": merge(_shape({"cbc:ID": text("debited_account")})),
                }
            ),
        ),
    }
)


def _reference_id(element: etree._Element, values: Values, source: str) -> None:
    if "id" not in values:
        values["id"] = _text_of(element)
        values["id_scheme"] = element.get("schemeID")


DELIVERY = _shape(
    {
        "cbc:ActualDeliveryDate": date("date"),
        "cac:DeliveryLocation": merge(
            _shape({"cbc:ID": identifier("location_id"), "cac:Address": group("address", ADDRESS)})
        ),
        "cac:DeliveryParty": merge(
            _shape({"cac:PartyName": merge(_shape({"cbc:Name": text("party_name")}))})
        ),
    }
)
ATTACHMENT = _shape(
    {
        "cbc:ID": _reference_id,
        "cbc:DocumentTypeCode": text("type_code"),
        "cbc:DocumentDescription": text("description"),
        "cac:Attachment": merge(
            _shape(
                {
                    "cbc:EmbeddedDocumentBinaryObject": _binary_object,
                    "cac:ExternalReference": merge(_shape({"cbc:URI": text("uri")})),
                }
            )
        ),
    }
)
DOCUMENT = _shape(
    {
        "cbc:CustomizationID": text("customization_id"),
        "cbc:ProfileID": text("profile_id"),
        "cbc:ID": text("number"),
        "cbc:IssueDate": date("issue_date"),
        "cbc:DueDate": date("due_date"),
        "cbc:TaxPointDate": date("tax_point_date"),
        "cbc:InvoiceTypeCode": text("type_code"),
        "cbc:CreditNoteTypeCode": text("type_code"),
        "cbc:Note": texts("notes"),
        "cbc:DocumentCurrencyCode": text("currency"),
        "cbc:TaxCurrencyCode": text("tax_currency"),
        "cbc:AccountingCost": text("accounting_cost"),
        "cbc:BuyerReference": text("buyer_reference"),
        "cac:InvoicePeriod": _invoice_period,
        "cac:OrderReference": merge(
            _shape({"cbc:ID": text("order_reference"), "cbc:SalesOrderID": text("sales_order_reference")})
        ),
        "cac:BillingReference": _billing_reference,
        "cac:DespatchDocumentReference": merge(_shape({"cbc:ID": text("despatch_advice_reference")})),
        "cac:ReceiptDocumentReference": merge(_shape({"cbc:ID": text("receiving_advice_reference")})),
        "cac:OriginatorDocumentReference": merge(_shape({"cbc:ID": text("tender_reference")})),
        "cac:ContractDocumentReference": merge(_shape({"cbc:ID": text("contract_reference")})),
        "cac:AdditionalDocumentReference": _additional_document,
        "cac:ProjectReference": merge(_shape({"cbc:ID": text("project_reference")})),
        "cac:AccountingSupplierParty": merge(_shape({"cac:Party": group("seller", PARTY)})),
        "cac:AccountingCustomerParty": merge(_shape({"cac:Party": group("buyer", PARTY)})),
        "cac:PayeeParty": group("payee", PARTY),
        "cac:TaxRepresentativeParty": group("tax_representative", PARTY),
        "cac:Delivery": group("delivery", DELIVERY),
        "cac:PaymentMeans": _payment_means,
        "cac:PaymentTerms": merge(_shape({"cbc:Note": text("payment_terms")})),
        "cac:AllowanceCharge": groups("allowances_charges", ALLOWANCE_CHARGE, _allowance_charge),
        "cac:TaxTotal": _tax_total,
        "cac:LegalMonetaryTotal": group("totals", MONETARY_TOTAL),
        "cac:InvoiceLine": groups("lines", LINE, _line),
        "cac:CreditNoteLine": groups("lines", LINE, _line),
    }
)
