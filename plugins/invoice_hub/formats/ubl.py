"""UBL 2.1 Invoice and CreditNote (also PEPPOL BIS Billing 3.0, which is UBL with a profile) into the
canonical model."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from invoice_hub.formats.xml import FormatError, parse_xml, take_base64
from invoice_hub.model import Invoice

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ROOTS = {f"{{{INVOICE_NS}}}Invoice": "invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "credit_note"}


@functools.cache
def _steps(path: str) -> tuple[str, ...]:
    """``cac:Item/cbc:Name`` as Clark names, once per path."""
    return tuple(f"{{{NS[prefix]}}}{name}" for prefix, name in (step.split(":") for step in path.split("/")))


class _Reader:
    """Lookups relative to an element, typed, with the source named in errors.

    Each element's children are indexed by tag the first time it is looked into: a reader asks about
    a hundred paths per document, and ``find`` re-walks the children (and the path) every time,
    which made it the larger part of converting an invoice.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._children: dict[etree._Element, dict[str, list[etree._Element]]] = {}

    def _index(self, element: etree._Element) -> dict[str, list[etree._Element]]:
        index: dict[str, list[etree._Element]] = {}
        for child in element:
            index.setdefault(child.tag, []).append(child)
        self._children[element] = index
        return index

    def first(self, element: etree._Element | None, path: str) -> etree._Element | None:
        children = self._children
        for tag in _steps(path):
            if element is None:
                return None
            index = children.get(element)
            found = (index if index is not None else self._index(element)).get(tag)
            element = found[0] if found else None
        return element

    def all(self, element: etree._Element | None, path: str) -> list[etree._Element]:
        parent, _, last = path.rpartition("/")
        if parent:
            element = self.first(element, parent)
        if element is None:
            return []
        index = self._children.get(element)
        return (index if index is not None else self._index(element)).get(_steps(last)[0], [])

    def text(self, element: etree._Element | None, path: str) -> str | None:
        found = self.first(element, path)
        if found is None:
            return None
        text = found.text
        return (text.strip() or None) if text else None

    def decimal(self, element: etree._Element, path: str) -> Decimal | None:
        value = self.text(element, path)
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            raise FormatError(
                f"{self.source}: {path} is not a number: {value!r} (line {self.first(element, path).sourceline})"
            ) from None

    def date(self, element: etree._Element, path: str) -> dt.date | None:
        value = self.text(element, path)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            raise FormatError(
                f"{self.source}: {path} is not a date (YYYY-MM-DD): {value!r} "
                f"(line {self.first(element, path).sourceline})"
            ) from None

    def identifier(self, element: etree._Element, path: str) -> dict | None:
        found = self.first(element, path)
        if found is None or not (found.text or "").strip():
            return None
        return {"value": found.text.strip(), "scheme": found.get("schemeID")}


def read_ubl(document: bytes | Path, source: str = "<document>") -> Invoice:
    """The invoice or credit note in ``document``; :class:`FormatError` when it is not UBL 2.1."""
    return ubl_from_root(parse_xml(document, source), source)


def ubl_from_root(root: etree._Element, source: str) -> Invoice:
    """The invoice of a parsed UBL document (its embedded attachments' text is taken out of the tree)."""
    kind = ROOTS.get(root.tag)
    if kind is None:
        raise FormatError(f"{source}: the root element is {root.tag}, not a UBL 2.1 Invoice or CreditNote")
    r = _Reader(source)
    line_tag, quantity_tag = (
        ("cac:InvoiceLine", "cbc:InvoicedQuantity")
        if kind == "invoice"
        else ("cac:CreditNoteLine", "cbc:CreditedQuantity")
    )
    number = r.text(root, "cbc:ID")
    if number is None:
        raise FormatError(f"{source}: the document has no cbc:ID (invoice number)")
    type_code = r.text(root, "cbc:InvoiceTypeCode" if kind == "invoice" else "cbc:CreditNoteTypeCode")
    due = r.date(root, "cbc:DueDate") or r.date(root, "cac:PaymentMeans/cbc:PaymentDueDate")
    return Invoice.model_validate(
        dict(
            number=number,
            type=kind,  # type: ignore[arg-type]
            type_code=type_code,
            issue_date=r.date(root, "cbc:IssueDate"),
            due_date=due,
            currency=r.text(root, "cbc:DocumentCurrencyCode"),
            tax_currency=r.text(root, "cbc:TaxCurrencyCode"),
            customization_id=r.text(root, "cbc:CustomizationID"),
            profile_id=r.text(root, "cbc:ProfileID"),
            buyer_reference=r.text(root, "cbc:BuyerReference"),
            order_reference=r.text(root, "cac:OrderReference/cbc:ID"),
            sales_order_reference=r.text(root, "cac:OrderReference/cbc:SalesOrderID"),
            contract_reference=r.text(root, "cac:ContractDocumentReference/cbc:ID"),
            preceding_invoices=[
                t
                for e in r.all(root, "cac:BillingReference/cac:InvoiceDocumentReference")
                if (t := r.text(e, "cbc:ID"))
            ],
            accounting_cost=r.text(root, "cbc:AccountingCost"),
            notes=[e.text.strip() for e in r.all(root, "cbc:Note") if e.text and e.text.strip()],
            payment_terms=r.text(root, "cac:PaymentTerms/cbc:Note"),
            payment_means=[_payment_means(r, e) for e in r.all(root, "cac:PaymentMeans")],
            seller=_party(r, r.first(root, "cac:AccountingSupplierParty/cac:Party")),
            buyer=_party(r, r.first(root, "cac:AccountingCustomerParty/cac:Party")),
            payee=_party(r, payee) if (payee := r.first(root, "cac:PayeeParty")) is not None else None,
            tax_representative=_party(r, agent)
            if (agent := r.first(root, "cac:TaxRepresentativeParty")) is not None
            else None,
            lines=[_line(r, e, quantity_tag) for e in r.all(root, line_tag)],
            allowances_charges=[_allowance_charge(r, e) for e in r.all(root, "cac:AllowanceCharge")],
            tax_subtotals=[_tax_subtotal(r, e) for e in r.all(root, "cac:TaxTotal/cac:TaxSubtotal")],
            totals=_totals(r, root),
            attachments=[_attachment(r, e) for e in r.all(root, "cac:AdditionalDocumentReference")],
        )
    )


def _party(r: _Reader, party: etree._Element | None) -> dict:
    if party is None:
        return dict()
    vat_id = tax_id = None
    for scheme in r.all(party, "cac:PartyTaxScheme"):
        if (r.text(scheme, "cac:TaxScheme/cbc:ID") or "").upper() == "VAT":
            vat_id = r.text(scheme, "cbc:CompanyID")
        else:
            tax_id = r.text(scheme, "cbc:CompanyID")
    address = r.first(party, "cac:PostalAddress")
    contact = r.first(party, "cac:Contact")
    return dict(
        name=r.text(party, "cac:PartyLegalEntity/cbc:RegistrationName"),
        trading_name=r.text(party, "cac:PartyName/cbc:Name"),
        endpoint=r.identifier(party, "cbc:EndpointID"),
        ids=[i for e in r.all(party, "cac:PartyIdentification") if (i := r.identifier(e, "cbc:ID"))],
        vat_id=vat_id,
        tax_registration_id=tax_id,
        legal_id=r.identifier(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        address=dict(
            street=r.text(address, "cbc:StreetName"),
            additional_street=r.text(address, "cbc:AdditionalStreetName"),
            city=r.text(address, "cbc:CityName"),
            postal_zone=r.text(address, "cbc:PostalZone"),
            subdivision=r.text(address, "cbc:CountrySubentity"),
            country=r.text(address, "cac:Country/cbc:IdentificationCode"),
        )
        if address is not None
        else None,
        contact=dict(
            name=r.text(contact, "cbc:Name"),
            telephone=r.text(contact, "cbc:Telephone"),
            email=r.text(contact, "cbc:ElectronicMail"),
        )
        if contact is not None
        else None,
    )


def _tax_category(r: _Reader, element: etree._Element | None) -> dict | None:
    if element is None:
        return None
    return dict(
        code=r.text(element, "cbc:ID"),
        rate=r.decimal(element, "cbc:Percent"),
        exemption_reason=r.text(element, "cbc:TaxExemptionReason"),
        exemption_code=r.text(element, "cbc:TaxExemptionReasonCode"),
    )


def _allowance_charge(r: _Reader, element: etree._Element) -> dict:
    return dict(
        is_charge=(r.text(element, "cbc:ChargeIndicator") or "").lower() in ("true", "1"),  # xsd:boolean
        amount=r.decimal(element, "cbc:Amount") or Decimal(0),
        base_amount=r.decimal(element, "cbc:BaseAmount"),
        percent=r.decimal(element, "cbc:MultiplierFactorNumeric"),
        reason=r.text(element, "cbc:AllowanceChargeReason"),
        reason_code=r.text(element, "cbc:AllowanceChargeReasonCode"),
        tax=_tax_category(r, r.first(element, "cac:TaxCategory")),
    )


def _line(r: _Reader, element: etree._Element, quantity_tag: str) -> dict:
    quantity = r.first(element, quantity_tag)
    item = r.first(element, "cac:Item")
    return dict(
        id=r.text(element, "cbc:ID") or "",
        quantity=r.decimal(element, quantity_tag),
        unit_code=quantity.get("unitCode") if quantity is not None else None,
        net_amount=r.decimal(element, "cbc:LineExtensionAmount"),
        price=r.decimal(element, "cac:Price/cbc:PriceAmount"),
        price_base_quantity=r.decimal(element, "cac:Price/cbc:BaseQuantity"),
        item_name=r.text(item, "cbc:Name") if item is not None else None,
        item_description=r.text(item, "cbc:Description") if item is not None else None,
        seller_item_id=r.text(element, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
        buyer_item_id=r.text(element, "cac:Item/cac:BuyersItemIdentification/cbc:ID"),
        standard_item_id=r.identifier(element, "cac:Item/cac:StandardItemIdentification/cbc:ID"),
        classifications=[
            dict(value=e.text.strip(), scheme=e.get("listID"))
            for e in r.all(element, "cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode")
            if e.text and e.text.strip()
        ],
        tax=_tax_category(r, r.first(element, "cac:Item/cac:ClassifiedTaxCategory")),
        accounting_cost=r.text(element, "cbc:AccountingCost"),
        order_line_reference=r.text(element, "cac:OrderLineReference/cbc:LineID"),
        note=r.text(element, "cbc:Note"),
        allowances_charges=[_allowance_charge(r, e) for e in r.all(element, "cac:AllowanceCharge")],
    )


def _tax_subtotal(r: _Reader, element: etree._Element) -> dict:
    return dict(
        taxable_amount=r.decimal(element, "cbc:TaxableAmount"),
        tax_amount=r.decimal(element, "cbc:TaxAmount"),
        category=_tax_category(r, r.first(element, "cac:TaxCategory")),
    )


def _totals(r: _Reader, root: etree._Element) -> dict:
    currency = r.text(root, "cbc:DocumentCurrencyCode")
    # With a separate tax currency there are two TaxTotals; the total VAT is the one in the document currency.
    tax = None
    for total in r.all(root, "cac:TaxTotal"):
        amount = r.first(total, "cbc:TaxAmount")
        if amount is not None and (tax is None or amount.get("currencyID") == currency):
            tax = r.decimal(total, "cbc:TaxAmount")
    monetary = r.first(root, "cac:LegalMonetaryTotal")
    if monetary is None:
        return dict(tax=tax)
    return dict(
        line_extension=r.decimal(monetary, "cbc:LineExtensionAmount"),
        tax_exclusive=r.decimal(monetary, "cbc:TaxExclusiveAmount"),
        tax_inclusive=r.decimal(monetary, "cbc:TaxInclusiveAmount"),
        allowances=r.decimal(monetary, "cbc:AllowanceTotalAmount"),
        charges=r.decimal(monetary, "cbc:ChargeTotalAmount"),
        prepaid=r.decimal(monetary, "cbc:PrepaidAmount"),
        rounding=r.decimal(monetary, "cbc:PayableRoundingAmount"),
        payable=r.decimal(monetary, "cbc:PayableAmount"),
        tax=tax,
    )


def _payment_means(r: _Reader, element: etree._Element) -> dict:
    return dict(
        code=r.text(element, "cbc:PaymentMeansCode"),
        payment_id=r.text(element, "cbc:PaymentID"),
        account_id=r.text(element, "cac:PayeeFinancialAccount/cbc:ID"),
        account_name=r.text(element, "cac:PayeeFinancialAccount/cbc:Name"),
        bank_id=r.text(element, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"),
    )


def _attachment(r: _Reader, element: etree._Element) -> dict:
    binary = r.first(element, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    content = take_base64(binary, r.source) if binary is not None and binary.text else None
    return dict(
        id=r.text(element, "cbc:ID"),
        description=r.text(element, "cbc:DocumentDescription"),
        filename=binary.get("filename") if binary is not None else None,
        mime_type=binary.get("mimeCode") if binary is not None else None,
        content=content,
        uri=r.text(element, "cac:Attachment/cac:ExternalReference/cbc:URI"),
    )
