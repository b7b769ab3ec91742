"""The canonical model as UBL 2.1 Invoice or CreditNote, elements in the order the UBL schema requires.

Every business term of EN 16931 the model holds is written where ``formats/bindings.py`` says UBL
has it (a test checks each binding's path in the output). Children are appended in the sequence of
the UBL 2.1 schema's type for each aggregate; where Invoice and CreditNote differ in that sequence
(TaxPointDate, the document references, DueDate), the credit note's order is followed for credit notes.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from invoice_hub.formats.xml import FormatError
from invoice_hub.model import (
    Address,
    AllowanceCharge,
    Attachment,
    Identifier,
    Invoice,
    Line,
    Party,
    PaymentMeans,
    TaxCategory,
    decimal_text,
)
from invoice_hub.ubl_namespaces import CREDIT_NOTE_NS, INVOICE_NS, NS

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

CAC, CBC = NS["cac"], NS["cbc"]
ModelT = TypeVar("ModelT", bound=BaseModel)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: What a text needs more than copying for: markup to escape, or a character XML cannot hold.
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_needs_escaping = _SPECIAL.search
_SPECIAL_ATTRIBUTE = re.compile('[&<>"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_BASE64_CHUNK = 3 * 1024 * 1024  # bytes of an attachment encoded at a time (a multiple of 3)
_INDENT = ["\n" + "  " * depth for depth in range(32)]


class _Tags(dict[str, str]):
    """An aggregate's start (or end) tag at one depth, by tag, each made once: an f-string per
    open() and close() was a third of their cost. A few hundred tags at most: UBL's aggregates."""

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form

    def __missing__(self, tag: str) -> str:
        text = self[tag] = self.form.format(tag)
        return text


_STARTS = [_Tags(indent + "<{}>") for indent in _INDENT]
_ENDS = [_Tags(indent + "</{}>") for indent in _INDENT]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


class _Writer:
    """Writes UBL as text, element by element, in the order it is told.

    Building an lxml tree and serialising it took most of a conversion's time (an element costs
    more to create than to print); the document is written as text instead. A ``None`` value
    writes nothing, so optional fields stay optional, and an aggregate that gets no child is taken
    back when it closes. An empty text (``""``: an element the source had, empty) is written
    as the empty element it was, except in PEPPOL BIS 3, which forbids empty elements
    (PEPPOL-EN16931-R008): there it is left out, and the output's PEPPOL check fails the file if a
    rule needed it.
    Text is escaped here, and a value XML cannot hold (a control character) is refused naming it.
    """

    # Its attributes are read at every element: slots are found without a lookup in an instance dict.
    __slots__ = (
        "currency",
        "currency_attribute",
        "empty_elements",
        "indent",
        "parts",
        "sink",
        "stack",
        "where",
    )

    def __init__(
        self, sink: SupportsWrite[bytes], currency: str | None, where: str, *, empty_elements: bool
    ) -> None:
        self.sink = sink
        self.empty_elements = empty_elements
        self.currency = currency
        self.where = where
        self.parts: list[str] = []
        # The open aggregates: (tag, its start tag as written, to know whether it is still the last part).
        self.stack: list[tuple[str, str | None]] = []
        # The current depth's indentation, kept at hand: every element starts with it.
        self.indent = _INDENT[0]
        self.currency_attribute = self._attributes({"currencyID": currency}, "currencyID")

    def _special(self, text: str, tag: str, attribute: bool = False) -> str:
        """``text`` escaped; a character XML cannot hold is refused, naming the element."""
        if _XML_INVALID.search(text):
            raise FormatError(f"{self.where}: {tag} holds a character XML cannot hold: {text!r}")
        return _escape_attribute(text) if attribute else _escape(text)

    def begin(self, tag: str, start: str | None) -> None:
        """Enter an aggregate whose start tag ``start`` is written (None: one never taken back)."""
        self.stack.append((tag, start))
        self.indent = _INDENT[len(self.stack)]

    def open(self, tag: str) -> None:
        # Written at once and taken back by close() if nothing came inside: cheaper than deciding
        # at every child whether its parents' start tags are written yet. (begin(), inline.)
        stack = self.stack
        start = _STARTS[len(stack)][tag]
        self.parts.append(start)
        stack.append((tag, start))
        self.indent = _INDENT[len(stack)]

    def close(self) -> None:
        stack = self.stack
        tag, start = stack.pop()
        depth = len(stack)
        self.indent = _INDENT[depth]
        parts = self.parts
        # Its start tag still last: nothing was written inside (what comes inside is deeper, so
        # never the same string, and a sibling's start tag was taken back or followed by more).
        if parts and parts[-1] is start:
            parts.pop()  # an aggregate without children is not written
        else:
            parts.append(_ENDS[depth][tag])

    def _attributes(self, attributes: dict[str, str | None], tag: str) -> str:
        text = ""
        for name, value in attributes.items():
            if value:
                if not value.isalnum() and _SPECIAL_ATTRIBUTE.search(value):  # isalnum(): see leaf()
                    value = self._special(value, tag, attribute=True)
                text += f' {name}="{value}"'
        return text

    def leaf(self, tag: str, value: object, attributes: dict[str, str | None] | None = None) -> None:
        # The writer's inner loop (a hundred and more calls a document): the common case first.
        # Attributes come as a dict, not as keywords: a ``**attributes`` parameter built an empty
        # dict at every call, also for the leaves (most) that have none.
        if value is None:
            return
        if type(value) is str:
            if not value and not self.empty_elements:
                return
            # Letters and digits only (codes, most identifiers) need no escaping: isalnum() is a
            # quarter of the regular expression's cost, and is tried first.
            # "" (an element the source had empty) is written empty: see formats.ubl._text_of.
            text = value if value.isalnum() or not _needs_escaping(value) else self._special(value, tag)
        elif type(value) is Decimal:  # a number's text never needs escaping
            text = decimal_text(value)
        elif type(value) is dt.date:  # YYYY-MM-DD never needs escaping
            text = value.isoformat()
        else:
            text = str(value)
            if _needs_escaping(text):
                text = self._special(text, tag)
        if attributes:
            self.parts.append(f"{self.indent}<{tag}{self._attributes(attributes, tag)}>{text}</{tag}>")
        else:
            self.parts.append(f"{self.indent}<{tag}>{text}</{tag}>")

    def wrapped(self, wrapper: str, tag: str, value: object) -> None:
        """``<wrapper><tag>value</tag></wrapper>``, only when there is a value (or an empty text to keep)."""
        if value is None or (value == "" and not self.empty_elements):
            return
        text = value if type(value) is str else _text(value)
        if not text.isalnum() and _needs_escaping(text):  # isalnum(): see leaf()
            text = self._special(text, tag)
        indent = self.indent
        self.parts.append(
            f"{indent}<{wrapper}>{_INDENT[len(self.stack) + 1]}<{tag}>{text}</{tag}>{indent}</{wrapper}>"
        )

    def amount(self, tag: str, value: Decimal | None, currency: str | None = None) -> None:
        """An amount in the document currency (or ``currency``): a number needs no escaping."""
        if value is None:
            return
        attribute = (
            self.currency_attribute if currency is None else self._attributes({"currencyID": currency}, tag)
        )
        self.parts.append(f"{self.indent}<{tag}{attribute}>{decimal_text(value)}</{tag}>")

    def identifier(self, tag: str, value: Identifier | None) -> None:
        if value is not None:
            self.leaf(tag, value.value, {"schemeID": value.scheme})

    def binary(self, tag: str, content: bytes, **attributes: str | None) -> None:
        """An embedded document, base64-encoded in chunks straight to the sink (a 200 MB attachment is
        never held a second time as one 270 MB string); empty content writes an empty element."""
        self.parts.append(f"{self.indent}<{tag}{self._attributes(attributes, tag)}>")
        self.flush()
        view = memoryview(content)
        for start in range(0, len(view), _BASE64_CHUNK):
            self.sink.write(base64.b64encode(view[start : start + _BASE64_CHUNK]))
        self.parts.append(f"</{tag}>")

    def flush(self) -> None:
        self.sink.write("".join(self.parts).encode("utf-8"))
        self.parts.clear()


def write_ubl(invoice: Invoice) -> bytes:
    """``invoice`` as a UBL 2.1 document (CreditNote for credit notes), UTF-8 with an XML declaration."""
    sink = io.BytesIO()
    write_ubl_to(invoice, sink)
    return sink.getvalue()


def write_ubl_to(invoice: Invoice, sink: SupportsWrite[bytes]) -> None:
    """:func:`write_ubl` into ``sink``: embedded attachments are encoded straight into it, so a large
    one is not held again as one string (what the memory target of ``bench/formats.py`` measures)."""
    _write(invoice, sink, empty_elements=True)


def _write(invoice: Invoice, sink: SupportsWrite[bytes], *, empty_elements: bool) -> None:
    credit = invoice.type == "credit_note"
    namespace = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = "CreditNote" if credit else "Invoice"
    b = _Writer(sink, invoice.currency, f"invoice {invoice.number}", empty_elements=empty_elements)
    b.parts.append(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{namespace}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">'
    )
    b.begin(root, None)  # the root is never taken back
    _document(b, invoice, credit)
    b.close()
    b.parts.append("\n")
    b.flush()


def _document(b: _Writer, invoice: Invoice, credit: bool) -> None:
    b.leaf("cbc:CustomizationID", invoice.customization_id)
    b.leaf("cbc:ProfileID", invoice.profile_id)
    b.leaf("cbc:ID", invoice.number)
    b.leaf("cbc:IssueDate", invoice.issue_date)
    if credit:  # CreditNote: TaxPointDate comes before the type code, and there is no DueDate
        b.leaf("cbc:TaxPointDate", invoice.tax_point_date)
        b.leaf("cbc:CreditNoteTypeCode", invoice.type_code or "381")
    else:
        b.leaf("cbc:DueDate", invoice.due_date)
        b.leaf("cbc:InvoiceTypeCode", invoice.type_code or "380")
    for note in invoice.notes:
        b.leaf("cbc:Note", note)
    if not credit:
        b.leaf("cbc:TaxPointDate", invoice.tax_point_date)
    b.leaf("cbc:DocumentCurrencyCode", invoice.currency)
    b.leaf("cbc:TaxCurrencyCode", invoice.tax_currency)
    b.leaf("cbc:AccountingCost", invoice.accounting_cost)
    b.leaf("cbc:BuyerReference", invoice.buyer_reference)
    period = invoice.invoice_period
    if period is not None or invoice.tax_point_date_code:
        b.open("cac:InvoicePeriod")
        b.leaf("cbc:StartDate", period.start if period else None)
        b.leaf("cbc:EndDate", period.end if period else None)
        b.leaf("cbc:DescriptionCode", invoice.tax_point_date_code)
        b.close()
    if invoice.order_reference or invoice.sales_order_reference:
        b.open("cac:OrderReference")
        # UBL requires the order's ID; "NA" is the convention when only the seller's order is known.
        b.leaf("cbc:ID", invoice.order_reference or "NA")
        b.leaf("cbc:SalesOrderID", invoice.sales_order_reference)
        b.close()
    for preceding in invoice.preceding_invoices:
        b.open("cac:BillingReference")
        b.open("cac:InvoiceDocumentReference")
        b.leaf("cbc:ID", preceding)
        b.leaf("cbc:IssueDate", invoice.preceding_invoice_dates.get(preceding))
        b.close()
        b.close()
    b.wrapped("cac:DespatchDocumentReference", "cbc:ID", invoice.despatch_advice_reference)
    b.wrapped("cac:ReceiptDocumentReference", "cbc:ID", invoice.receiving_advice_reference)
    if credit:  # CreditNote's sequence: Contract, Additional, (Statement), Originator; BT-11 is a reference of type 50
        b.wrapped("cac:ContractDocumentReference", "cbc:ID", invoice.contract_reference)
        _additional_documents(b, invoice)
        if invoice.project_reference:
            b.open("cac:AdditionalDocumentReference")
            b.leaf("cbc:ID", invoice.project_reference)
            b.leaf("cbc:DocumentTypeCode", "50")
            b.close()
        b.wrapped("cac:OriginatorDocumentReference", "cbc:ID", invoice.tender_reference)
    else:
        b.wrapped("cac:OriginatorDocumentReference", "cbc:ID", invoice.tender_reference)
        b.wrapped("cac:ContractDocumentReference", "cbc:ID", invoice.contract_reference)
        _additional_documents(b, invoice)
        b.wrapped("cac:ProjectReference", "cbc:ID", invoice.project_reference)
    b.open("cac:AccountingSupplierParty")
    _party(b, "cac:Party", invoice.seller)
    b.close()
    b.open("cac:AccountingCustomerParty")
    _party(b, "cac:Party", invoice.buyer)
    b.close()
    if invoice.payee is not None:
        _party(b, "cac:PayeeParty", invoice.payee)
    if invoice.tax_representative is not None:
        _party(b, "cac:TaxRepresentativeParty", invoice.tax_representative)
    delivery = invoice.delivery
    if delivery is not None:
        b.open("cac:Delivery")
        b.leaf("cbc:ActualDeliveryDate", delivery.date)
        b.open("cac:DeliveryLocation")
        b.identifier("cbc:ID", delivery.location_id)
        _address(b, "cac:Address", delivery.address)
        b.close()
        if delivery.party_name:
            b.open("cac:DeliveryParty")
            b.wrapped("cac:PartyName", "cbc:Name", delivery.party_name)
            b.close()
        b.close()
    for means in invoice.payment_means:
        _payment_means(b, means, invoice if credit else None)
    b.wrapped("cac:PaymentTerms", "cbc:Note", invoice.payment_terms)
    for allowance in invoice.allowances_charges:
        _allowance_charge(b, allowance)
    totals = invoice.totals
    if totals.tax is not None or invoice.tax_subtotals:
        b.open("cac:TaxTotal")
        b.amount("cbc:TaxAmount", totals.tax)
        for subtotal in invoice.tax_subtotals:
            b.open("cac:TaxSubtotal")
            b.amount("cbc:TaxableAmount", subtotal.taxable_amount)
            b.amount("cbc:TaxAmount", subtotal.tax_amount)
            _tax_category(b, "cac:TaxCategory", subtotal.category)
            b.close()
        b.close()
    if totals.tax_in_tax_currency is not None:  # BT-111: the second TaxTotal, in the VAT accounting currency
        if not invoice.tax_currency or invoice.tax_currency == invoice.currency:
            raise FormatError(
                f"invoice {invoice.number}: the total VAT in accounting currency (BT-111, "
                "totals.tax_in_tax_currency) needs its own currency, the VAT accounting currency (BT-6, "
                "tax_currency), different from the invoice currency; set tax_currency or leave BT-111 empty"
            )
        b.open("cac:TaxTotal")
        b.amount("cbc:TaxAmount", totals.tax_in_tax_currency, invoice.tax_currency)
        b.close()
    b.open("cac:LegalMonetaryTotal")
    b.amount("cbc:LineExtensionAmount", totals.line_extension)
    b.amount("cbc:TaxExclusiveAmount", totals.tax_exclusive)
    b.amount("cbc:TaxInclusiveAmount", totals.tax_inclusive)
    b.amount("cbc:AllowanceTotalAmount", totals.allowances)
    b.amount("cbc:ChargeTotalAmount", totals.charges)
    b.amount("cbc:PrepaidAmount", totals.prepaid)
    b.amount("cbc:PayableRoundingAmount", totals.rounding)
    b.amount("cbc:PayableAmount", totals.payable)
    b.close()
    for line in invoice.lines:
        _line(b, line, credit)


def _additional_documents(b: _Writer, invoice: Invoice) -> None:
    """BG-24 supporting documents, then BT-18 (a reference of type 130)."""
    for attachment in invoice.attachments:
        _attachment(b, attachment)
    if invoice.invoiced_object is not None:
        b.open("cac:AdditionalDocumentReference")
        b.identifier("cbc:ID", invoice.invoiced_object)
        b.leaf("cbc:DocumentTypeCode", "130")
        b.close()


def _attachment(b: _Writer, attachment: Attachment) -> None:
    b.open("cac:AdditionalDocumentReference")
    b.leaf("cbc:ID", attachment.id or attachment.filename or "attachment")
    b.leaf("cbc:DocumentDescription", attachment.description)
    b.open("cac:Attachment")
    if attachment.content is not None:
        # Written even when empty: an attachment with empty content is still the document's (BT-125).
        b.binary(
            "cbc:EmbeddedDocumentBinaryObject",
            attachment.content,
            mimeCode=attachment.mime_type or "application/octet-stream",
            filename=attachment.filename,
        )
    if attachment.uri:
        b.open("cac:ExternalReference")
        b.leaf("cbc:URI", attachment.uri)
        b.close()
    b.close()
    b.close()


def _address(b: _Writer, tag: str, address: Address | None) -> None:
    if address is None:
        return
    b.open(tag)
    b.leaf("cbc:StreetName", address.street)
    b.leaf("cbc:AdditionalStreetName", address.additional_street)
    b.leaf("cbc:CityName", address.city)
    b.leaf("cbc:PostalZone", address.postal_zone)
    b.leaf("cbc:CountrySubentity", address.subdivision)
    b.wrapped("cac:AddressLine", "cbc:Line", address.line3)
    b.wrapped("cac:Country", "cbc:IdentificationCode", address.country)
    b.close()


def _party(b: _Writer, tag: str, party: Party) -> None:
    b.open(tag)
    b.identifier("cbc:EndpointID", party.endpoint)
    for identifier in party.ids:
        b.open("cac:PartyIdentification")
        b.identifier("cbc:ID", identifier)
        b.close()
    b.wrapped("cac:PartyName", "cbc:Name", party.trading_name)
    _address(b, "cac:PostalAddress", party.address)
    for company_id, scheme in (
        (party.vat_id, "VAT"),
        (party.tax_registration_id, party.tax_registration_scheme or "TAX"),
    ):
        if company_id:
            b.open("cac:PartyTaxScheme")
            b.leaf("cbc:CompanyID", company_id)
            b.wrapped("cac:TaxScheme", "cbc:ID", scheme)
            b.close()
    b.open("cac:PartyLegalEntity")
    b.leaf("cbc:RegistrationName", party.name)
    b.identifier("cbc:CompanyID", party.legal_id)
    b.leaf("cbc:CompanyLegalForm", party.legal_form)
    b.close()
    contact = party.contact
    if contact is not None:
        b.open("cac:Contact")
        b.leaf("cbc:Name", contact.name)
        b.leaf("cbc:Telephone", contact.telephone)
        b.leaf("cbc:ElectronicMail", contact.email)
        b.close()
    b.close()


def _payment_means(b: _Writer, means: PaymentMeans, credit_note: Invoice | None) -> None:
    b.open("cac:PaymentMeans")
    b.leaf("cbc:PaymentMeansCode", means.code, {"name": means.text})
    if credit_note is not None:  # a CreditNote has its due date (BT-9) in the payment means
        b.leaf("cbc:PaymentDueDate", credit_note.due_date)
    b.leaf("cbc:PaymentID", means.payment_id)
    card = means.card
    if card is not None:
        b.open("cac:CardAccount")
        b.leaf("cbc:PrimaryAccountNumberID", card.primary_account)
        b.leaf("cbc:NetworkID", card.network_id or "NA")  # UBL requires it; EN 16931 has no term for it
        b.leaf("cbc:HolderName", card.holder_name)
        b.close()
    b.open("cac:PayeeFinancialAccount")
    b.leaf("cbc:ID", means.account_id)
    b.leaf("cbc:Name", means.account_name)
    b.wrapped("cac:FinancialInstitutionBranch", "cbc:ID", means.bank_id)
    b.close()
    debit = means.direct_debit
    if debit is not None:
        b.open("cac:PaymentMandate")
        b.leaf("cbc:ID", debit.mandate_id)
        b.wrapped("cac:PayerFinancialAccount", "cbc:ID", debit.debited_account)
        b.close()
    b.close()


def _tax_category(b: _Writer, tag: str, category: TaxCategory | None) -> None:
    if category is None:
        return
    b.open(tag)
    b.leaf("cbc:ID", category.code)
    b.leaf("cbc:Percent", category.rate)
    b.leaf("cbc:TaxExemptionReasonCode", category.exemption_code)
    b.leaf("cbc:TaxExemptionReason", category.exemption_reason)
    b.wrapped("cac:TaxScheme", "cbc:ID", category.scheme or "VAT")
    b.close()


def _allowance_charge(b: _Writer, allowance: AllowanceCharge) -> None:
    b.open("cac:AllowanceCharge")
    b.leaf("cbc:ChargeIndicator", "true" if allowance.is_charge else "false")
    b.leaf("cbc:AllowanceChargeReasonCode", allowance.reason_code)
    b.leaf("cbc:AllowanceChargeReason", allowance.reason)
    b.leaf("cbc:MultiplierFactorNumeric", allowance.percent)
    b.amount("cbc:Amount", allowance.amount)
    b.amount("cbc:BaseAmount", allowance.base_amount)
    _tax_category(b, "cac:TaxCategory", allowance.tax)
    b.close()


def _line(b: _Writer, line: Line, credit: bool) -> None:
    b.open("cac:CreditNoteLine" if credit else "cac:InvoiceLine")
    b.leaf("cbc:ID", line.id)
    b.leaf("cbc:Note", line.note)
    b.leaf(
        "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
        line.quantity,
        {"unitCode": line.unit_code},
    )
    b.amount("cbc:LineExtensionAmount", line.net_amount)
    b.leaf("cbc:AccountingCost", line.accounting_cost)
    if line.period is not None:
        b.open("cac:InvoicePeriod")
        b.leaf("cbc:StartDate", line.period.start)
        b.leaf("cbc:EndDate", line.period.end)
        b.close()
    b.wrapped("cac:OrderLineReference", "cbc:LineID", line.order_line_reference)
    if line.object_id is not None:
        b.open("cac:DocumentReference")
        b.identifier("cbc:ID", line.object_id)
        b.leaf("cbc:DocumentTypeCode", "130")  # PEPPOL-EN16931-R101: the line's invoiced object
        b.close()
    for allowance in line.allowances_charges:
        _allowance_charge(b, allowance)
    b.open("cac:Item")
    b.leaf("cbc:Description", line.item_description)
    b.leaf("cbc:Name", line.item_name)
    b.wrapped("cac:BuyersItemIdentification", "cbc:ID", line.buyer_item_id)
    b.wrapped("cac:SellersItemIdentification", "cbc:ID", line.seller_item_id)
    if line.standard_item_id is not None:
        b.open("cac:StandardItemIdentification")
        b.identifier("cbc:ID", line.standard_item_id)
        b.close()
    b.wrapped("cac:OriginCountry", "cbc:IdentificationCode", line.origin_country)
    for classification in line.classifications:
        b.open("cac:CommodityClassification")
        b.leaf(
            "cbc:ItemClassificationCode",
            classification.value,
            {"listID": classification.scheme, "listVersionID": classification.scheme_version},
        )
        b.close()
    _tax_category(b, "cac:ClassifiedTaxCategory", line.tax)
    for attribute in line.attributes:
        b.open("cac:AdditionalItemProperty")
        b.leaf("cbc:Name", attribute.name)
        b.leaf("cbc:Value", attribute.value)
        b.close()
    b.close()
    b.open("cac:Price")
    b.amount("cbc:PriceAmount", line.price)
    b.leaf("cbc:BaseQuantity", line.price_base_quantity, {"unitCode": line.price_base_unit_code})
    if line.price_discount is not None or line.gross_price is not None:
        b.open("cac:AllowanceCharge")
        b.leaf("cbc:ChargeIndicator", "false")  # a price carries only a discount (BT-147)
        b.amount("cbc:Amount", line.price_discount)
        b.amount("cbc:BaseAmount", line.gross_price)
        b.close()
    b.close()
    b.close()


#: PEPPOL BIS Billing 3.0: the specification (BT-24) and business process (BT-23) identifiers.
PEPPOL_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
#: PEPPOL-EN16931-R007: the business process is billing:NN:1.0; a document already in one keeps it.
_PEPPOL_PROFILE = re.compile(r"^urn:fdc:peppol\.eu:2017:poacc:billing:\d\d:1\.0$")


def _refuse(invoice: Invoice, term: str, why: str, fix: str) -> FormatError:
    return FormatError(f"invoice {invoice.number}: PEPPOL BIS 3 {why} ({term}); {fix}")


def _peppol_forbidden(invoice: Invoice) -> None:
    """What the invoice holds that PEPPOL BIS 3 forbids: a FormatError naming the business term."""
    countries = {
        (party.address.country if party.address else None) for party in (invoice.seller, invoice.buyer)
    }
    if len(invoice.notes) > 1 and countries != {"DE"}:
        raise _refuse(
            invoice,
            "BT-22",
            f"allows one invoice note, the invoice has {len(invoice.notes)} (PEPPOL-EN16931-R002)",
            "join the notes into one in the integration's mapping",
        )
    if invoice.tax_currency and invoice.tax_currency == invoice.currency:
        raise _refuse(
            invoice,
            "BT-6",
            "needs the VAT accounting currency to differ from the invoice currency (PEPPOL-EN16931-R005)",
            "leave tax_currency empty when it is the invoice currency",
        )
    for attachment in invoice.attachments:
        if attachment.content == b"":
            raise _refuse(
                invoice,
                "BT-125",
                f"does not allow empty elements: attachment {attachment.id or attachment.filename!r} "
                "has empty content (PEPPOL-EN16931-R008)",
                "remove the attachment or give it content",
            )
    for line in invoice.lines:
        if line.price_base_unit_code and line.unit_code and line.price_base_unit_code != line.unit_code:
            raise _refuse(
                invoice,
                "BT-150",
                f"needs the price base quantity in the invoiced quantity's unit: line {line.id} has "
                f"{line.price_base_unit_code}, not {line.unit_code} (PEPPOL-EN16931-R130)",
                "convert the base quantity to the line's unit",
            )


def _without_empty_texts(model: ModelT) -> ModelT:
    """``model`` with the empty texts it read (elements the source had, empty) left out: PEPPOL
    forbids empty elements (PEPPOL-EN16931-R008). A copy only where there was one (they are rare)."""
    update: dict[str, object] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value == "" and field.default is None:
            update[name] = None
        elif isinstance(value, BaseModel):
            if (kept := _without_empty_texts(value)) is not value:
                update[name] = kept
        elif isinstance(value, list) and value:
            items = [
                _without_empty_texts(item) if isinstance(item, BaseModel) else item
                for item in value
                if item != ""
            ]
            if len(items) != len(value) or any(a is not b for a, b in zip(items, value, strict=True)):
                update[name] = items
    return model.model_copy(update=update) if update else model


def as_peppol_bis3(invoice: Invoice) -> Invoice:
    """``invoice`` with the PEPPOL BIS Billing 3.0 identifiers; both parties need an electronic address.

    PEPPOL routes by the endpoint ids (BT-34 seller, BT-49 buyer, each with an EAS scheme). A party
    without one cannot be sent over the network, and guessing one would route invoices astray, so
    the document is refused with what to set. So is an invoice holding what PEPPOL forbids (the
    error names the business term), rather than writing a document every access point rejects.
    """
    for role, term, party in (("seller", "BT-34", invoice.seller), ("buyer", "BT-49", invoice.buyer)):
        endpoint = party.endpoint
        if endpoint is None or not endpoint.value or not endpoint.scheme:
            raise FormatError(
                f"invoice {invoice.number}: PEPPOL BIS 3 needs the {role}'s electronic address ({term}) with "
                f"its scheme (EndpointID schemeID=, e.g. 0088 for a GLN); set {role}.endpoint.value and "
                f"{role}.endpoint.scheme in the integration's mapping (substitutions, mode if_missing)"
            )
    _peppol_forbidden(invoice)
    invoice = _without_empty_texts(invoice)
    customization = invoice.customization_id or ""
    profile = invoice.profile_id or ""
    return invoice.model_copy(
        update={
            # A PEPPOL document (or one of its extensions, which start with the PEPPOL id) keeps its own.
            "customization_id": customization
            if customization.startswith(PEPPOL_CUSTOMIZATION_ID)
            else PEPPOL_CUSTOMIZATION_ID,
            "profile_id": profile if _PEPPOL_PROFILE.match(profile) else PEPPOL_PROFILE_ID,
        }
    )


def write_peppol_bis3(invoice: Invoice) -> bytes:
    sink = io.BytesIO()
    write_peppol_bis3_to(invoice, sink)
    return sink.getvalue()


def write_peppol_bis3_to(invoice: Invoice, sink: SupportsWrite[bytes]) -> None:
    """:func:`write_peppol_bis3` into ``sink`` (attachments streamed, as :func:`write_ubl_to`)."""
    _write(as_peppol_bis3(invoice), sink, empty_elements=False)
