"""The canonical model as UBL 2.1 Invoice or CreditNote, elements in the order the UBL schema requires.

Every business term of EN 16931 the model holds is written where ``formats/bindings.py`` says UBL
has it (a test checks each binding's path in the output). Children are appended in the sequence of
the UBL 2.1 schema's type for each aggregate; where Invoice and CreditNote differ in that sequence
(TaxPointDate, the document references, DueDate), the credit note's order is followed for credit notes.
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal

from lxml import etree

from invoice_hub.formats.ubl import CREDIT_NOTE_NS, INVOICE_NS, NS
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
)

CAC, CBC = NS["cac"], NS["cbc"]


class _Builder:
    """Appends UBL elements; a ``None`` value writes nothing, so optional fields stay optional."""

    def __init__(self, currency: str | None) -> None:
        self.currency = currency

    def cbc(self, parent: etree._Element, tag: str, value: object, **attributes: str | None) -> None:
        if value is None or value == "":
            return
        element = etree.SubElement(parent, f"{{{CBC}}}{tag}")
        element.text = _text(value)
        for key, attribute in attributes.items():
            if attribute is not None:
                element.set(key, attribute)

    def wrapped(
        self, parent: etree._Element, wrapper: str, name: str, value: object, **attributes: str | None
    ) -> None:
        """``<cac:wrapper><cbc:name>value</cbc:name></cac:wrapper>``, only when there is a value."""
        if value is not None and value != "":
            self.cbc(self.cac(parent, wrapper), name, value, **attributes)

    def amount(
        self, parent: etree._Element, name: str, value: Decimal | None, currency: str | None = None
    ) -> None:
        self.cbc(parent, name, value, currencyID=currency or self.currency)

    def identifier(self, parent: etree._Element, name: str, value: Identifier | None) -> None:
        if value is not None:
            self.cbc(parent, name, value.value, schemeID=value.scheme)

    def cac(self, parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def write_ubl(invoice: Invoice) -> bytes:
    """``invoice`` as a UBL 2.1 document (CreditNote for credit notes), UTF-8 with an XML declaration."""
    credit = invoice.type == "credit_note"
    namespace = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: namespace, "cac": CAC, "cbc": CBC},
    )
    b = _Builder(invoice.currency)
    b.cbc(root, "CustomizationID", invoice.customization_id)
    b.cbc(root, "ProfileID", invoice.profile_id)
    b.cbc(root, "ID", invoice.number)
    b.cbc(root, "IssueDate", invoice.issue_date)
    if credit:  # CreditNote: TaxPointDate comes before the type code, and there is no DueDate
        b.cbc(root, "TaxPointDate", invoice.tax_point_date)
        b.cbc(root, "CreditNoteTypeCode", invoice.type_code or "381")
    else:
        b.cbc(root, "DueDate", invoice.due_date)
        b.cbc(root, "InvoiceTypeCode", invoice.type_code or "380")
    for note in invoice.notes:
        b.cbc(root, "Note", note)
    if not credit:
        b.cbc(root, "TaxPointDate", invoice.tax_point_date)
    b.cbc(root, "DocumentCurrencyCode", invoice.currency)
    b.cbc(root, "TaxCurrencyCode", invoice.tax_currency)
    b.cbc(root, "AccountingCost", invoice.accounting_cost)
    b.cbc(root, "BuyerReference", invoice.buyer_reference)
    period = invoice.invoice_period
    if period is not None or invoice.tax_point_date_code:
        element = b.cac(root, "InvoicePeriod")
        b.cbc(element, "StartDate", period.start if period else None)
        b.cbc(element, "EndDate", period.end if period else None)
        b.cbc(element, "DescriptionCode", invoice.tax_point_date_code)
    if invoice.order_reference or invoice.sales_order_reference:
        order = b.cac(root, "OrderReference")
        # UBL requires the order's ID; "NA" is the convention when only the seller's order is known.
        b.cbc(order, "ID", invoice.order_reference or "NA")
        b.cbc(order, "SalesOrderID", invoice.sales_order_reference)
    for preceding in invoice.preceding_invoices:
        reference = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
        b.cbc(reference, "ID", preceding)
        b.cbc(reference, "IssueDate", invoice.preceding_invoice_dates.get(preceding))
    b.wrapped(root, "DespatchDocumentReference", "ID", invoice.despatch_advice_reference)
    b.wrapped(root, "ReceiptDocumentReference", "ID", invoice.receiving_advice_reference)
    if credit:  # CreditNote's sequence: Contract, Additional, (Statement), Originator; BT-11 is a reference of type 50
        b.wrapped(root, "ContractDocumentReference", "ID", invoice.contract_reference)
        _additional_documents(b, root, invoice)
        if invoice.project_reference:
            project = b.cac(root, "AdditionalDocumentReference")
            b.cbc(project, "ID", invoice.project_reference)
            b.cbc(project, "DocumentTypeCode", "50")
        b.wrapped(root, "OriginatorDocumentReference", "ID", invoice.tender_reference)
    else:
        b.wrapped(root, "OriginatorDocumentReference", "ID", invoice.tender_reference)
        b.wrapped(root, "ContractDocumentReference", "ID", invoice.contract_reference)
        _additional_documents(b, root, invoice)
        b.wrapped(root, "ProjectReference", "ID", invoice.project_reference)
    _party(b, b.cac(b.cac(root, "AccountingSupplierParty"), "Party"), invoice.seller)
    _party(b, b.cac(b.cac(root, "AccountingCustomerParty"), "Party"), invoice.buyer)
    if invoice.payee is not None:
        _party(b, b.cac(root, "PayeeParty"), invoice.payee)
    if invoice.tax_representative is not None:
        _party(b, b.cac(root, "TaxRepresentativeParty"), invoice.tax_representative)
    delivery = invoice.delivery
    if delivery is not None:
        element = b.cac(root, "Delivery")
        b.cbc(element, "ActualDeliveryDate", delivery.date)
        if delivery.location_id is not None or delivery.address is not None:
            location = b.cac(element, "DeliveryLocation")
            b.identifier(location, "ID", delivery.location_id)
            _address(b, location, "Address", delivery.address)
        if delivery.party_name:
            b.wrapped(b.cac(element, "DeliveryParty"), "PartyName", "Name", delivery.party_name)
    for means in invoice.payment_means:
        _payment_means(b, root, means, invoice if credit else None)
    b.wrapped(root, "PaymentTerms", "Note", invoice.payment_terms)
    for allowance in invoice.allowances_charges:
        _allowance_charge(b, root, allowance)
    totals = invoice.totals
    if totals.tax is not None or invoice.tax_subtotals:
        total = b.cac(root, "TaxTotal")
        b.amount(total, "TaxAmount", totals.tax)
        for subtotal in invoice.tax_subtotals:
            element = b.cac(total, "TaxSubtotal")
            b.amount(element, "TaxableAmount", subtotal.taxable_amount)
            b.amount(element, "TaxAmount", subtotal.tax_amount)
            _tax_category(b, element, "TaxCategory", subtotal.category)
    if totals.tax_in_tax_currency is not None:  # BT-111: the second TaxTotal, in the VAT accounting currency
        b.amount(b.cac(root, "TaxTotal"), "TaxAmount", totals.tax_in_tax_currency, invoice.tax_currency)
    monetary = b.cac(root, "LegalMonetaryTotal")
    for name, value in (
        ("LineExtensionAmount", totals.line_extension),
        ("TaxExclusiveAmount", totals.tax_exclusive),
        ("TaxInclusiveAmount", totals.tax_inclusive),
        ("AllowanceTotalAmount", totals.allowances),
        ("ChargeTotalAmount", totals.charges),
        ("PrepaidAmount", totals.prepaid),
        ("PayableRoundingAmount", totals.rounding),
        ("PayableAmount", totals.payable),
    ):
        b.amount(monetary, name, value)
    for line in invoice.lines:
        _line(b, root, line, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _additional_documents(b: _Builder, root: etree._Element, invoice: Invoice) -> None:
    """BG-24 supporting documents, then BT-18 (a reference of type 130)."""
    for attachment in invoice.attachments:
        _attachment(b, root, attachment)
    if invoice.invoiced_object is not None:
        reference = b.cac(root, "AdditionalDocumentReference")
        b.identifier(reference, "ID", invoice.invoiced_object)
        b.cbc(reference, "DocumentTypeCode", "130")


def _attachment(b: _Builder, root: etree._Element, attachment: Attachment) -> None:
    reference = b.cac(root, "AdditionalDocumentReference")
    b.cbc(reference, "ID", attachment.id or attachment.filename or "attachment")
    b.cbc(reference, "DocumentDescription", attachment.description)
    if attachment.content is None and not attachment.uri:
        return
    holder = b.cac(reference, "Attachment")
    if attachment.content is not None:
        # Written even when empty: an attachment with empty content is still the document's (BT-125).
        element = etree.SubElement(holder, f"{{{CBC}}}EmbeddedDocumentBinaryObject")
        element.text = base64.b64encode(attachment.content).decode()
        element.set("mimeCode", attachment.mime_type or "application/octet-stream")
        if attachment.filename:
            element.set("filename", attachment.filename)
    if attachment.uri:
        b.cbc(b.cac(holder, "ExternalReference"), "URI", attachment.uri)


def _address(b: _Builder, parent: etree._Element, name: str, address: Address | None) -> None:
    if address is None:
        return
    element = b.cac(parent, name)
    b.cbc(element, "StreetName", address.street)
    b.cbc(element, "AdditionalStreetName", address.additional_street)
    b.cbc(element, "CityName", address.city)
    b.cbc(element, "PostalZone", address.postal_zone)
    b.cbc(element, "CountrySubentity", address.subdivision)
    b.wrapped(element, "AddressLine", "Line", address.line3)
    b.wrapped(element, "Country", "IdentificationCode", address.country)


def _party(b: _Builder, party_element: etree._Element, party: Party) -> None:
    b.identifier(party_element, "EndpointID", party.endpoint)
    for identifier in party.ids:
        b.identifier(b.cac(party_element, "PartyIdentification"), "ID", identifier)
    b.wrapped(party_element, "PartyName", "Name", party.trading_name)
    _address(b, party_element, "PostalAddress", party.address)
    for company_id, scheme in (
        (party.vat_id, "VAT"),
        (party.tax_registration_id, party.tax_registration_scheme or "TAX"),
    ):
        if company_id:
            element = b.cac(party_element, "PartyTaxScheme")
            b.cbc(element, "CompanyID", company_id)
            b.cbc(b.cac(element, "TaxScheme"), "ID", scheme)
    if party.name or party.legal_id or party.legal_form:
        element = b.cac(party_element, "PartyLegalEntity")
        b.cbc(element, "RegistrationName", party.name)
        b.identifier(element, "CompanyID", party.legal_id)
        b.cbc(element, "CompanyLegalForm", party.legal_form)
    contact = party.contact
    if contact is not None:
        element = b.cac(party_element, "Contact")
        b.cbc(element, "Name", contact.name)
        b.cbc(element, "Telephone", contact.telephone)
        b.cbc(element, "ElectronicMail", contact.email)


def _payment_means(
    b: _Builder, root: etree._Element, means: PaymentMeans, credit_note: Invoice | None
) -> None:
    element = b.cac(root, "PaymentMeans")
    b.cbc(element, "PaymentMeansCode", means.code, name=means.text)
    if credit_note is not None:  # a CreditNote has its due date (BT-9) in the payment means
        b.cbc(element, "PaymentDueDate", credit_note.due_date)
    b.cbc(element, "PaymentID", means.payment_id)
    card = means.card
    if card is not None:
        account = b.cac(element, "CardAccount")
        b.cbc(account, "PrimaryAccountNumberID", card.primary_account)
        b.cbc(account, "NetworkID", card.network_id or "NA")  # UBL requires it; EN 16931 has no term for it
        b.cbc(account, "HolderName", card.holder_name)
    if means.account_id or means.account_name or means.bank_id:
        account = b.cac(element, "PayeeFinancialAccount")
        b.cbc(account, "ID", means.account_id)
        b.cbc(account, "Name", means.account_name)
        b.wrapped(account, "FinancialInstitutionBranch", "ID", means.bank_id)
    debit = means.direct_debit
    if debit is not None:
        mandate = b.cac(element, "PaymentMandate")
        b.cbc(mandate, "ID", debit.mandate_id)
        b.wrapped(mandate, "PayerFinancialAccount", "ID", debit.debited_account)


def _tax_category(b: _Builder, parent: etree._Element, name: str, category: TaxCategory | None) -> None:
    if category is None:
        return
    element = b.cac(parent, name)
    b.cbc(element, "ID", category.code)
    b.cbc(element, "Percent", category.rate)
    b.cbc(element, "TaxExemptionReasonCode", category.exemption_code)
    b.cbc(element, "TaxExemptionReason", category.exemption_reason)
    b.cbc(b.cac(element, "TaxScheme"), "ID", category.scheme or "VAT")


def _allowance_charge(b: _Builder, parent: etree._Element, allowance: AllowanceCharge) -> None:
    element = b.cac(parent, "AllowanceCharge")
    b.cbc(element, "ChargeIndicator", "true" if allowance.is_charge else "false")
    b.cbc(element, "AllowanceChargeReasonCode", allowance.reason_code)
    b.cbc(element, "AllowanceChargeReason", allowance.reason)
    b.cbc(element, "MultiplierFactorNumeric", allowance.percent)
    b.amount(element, "Amount", allowance.amount)
    b.amount(element, "BaseAmount", allowance.base_amount)
    _tax_category(b, element, "TaxCategory", allowance.tax)


def _line(b: _Builder, root: etree._Element, line: Line, credit: bool) -> None:
    element = b.cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    b.cbc(element, "ID", line.id)
    b.cbc(element, "Note", line.note)
    b.cbc(
        element, "CreditedQuantity" if credit else "InvoicedQuantity", line.quantity, unitCode=line.unit_code
    )
    b.amount(element, "LineExtensionAmount", line.net_amount)
    b.cbc(element, "AccountingCost", line.accounting_cost)
    if line.period is not None:
        period = b.cac(element, "InvoicePeriod")
        b.cbc(period, "StartDate", line.period.start)
        b.cbc(period, "EndDate", line.period.end)
    b.wrapped(element, "OrderLineReference", "LineID", line.order_line_reference)
    if line.object_id is not None:
        reference = b.cac(element, "DocumentReference")
        b.identifier(reference, "ID", line.object_id)
        b.cbc(reference, "DocumentTypeCode", "130")  # PEPPOL-EN16931-R101: the line's invoiced object
    for allowance in line.allowances_charges:
        _allowance_charge(b, element, allowance)
    item = b.cac(element, "Item")
    b.cbc(item, "Description", line.item_description)
    b.cbc(item, "Name", line.item_name)
    b.wrapped(item, "BuyersItemIdentification", "ID", line.buyer_item_id)
    b.wrapped(item, "SellersItemIdentification", "ID", line.seller_item_id)
    if line.standard_item_id is not None:
        b.identifier(b.cac(item, "StandardItemIdentification"), "ID", line.standard_item_id)
    b.wrapped(item, "OriginCountry", "IdentificationCode", line.origin_country)
    for classification in line.classifications:
        b.cbc(
            b.cac(item, "CommodityClassification"),
            "ItemClassificationCode",
            classification.value,
            listID=classification.scheme,
            listVersionID=classification.scheme_version,
        )
    _tax_category(b, item, "ClassifiedTaxCategory", line.tax)
    for attribute in line.attributes:
        property_ = b.cac(item, "AdditionalItemProperty")
        b.cbc(property_, "Name", attribute.name)
        b.cbc(property_, "Value", attribute.value)
    price = b.cac(element, "Price")
    b.amount(price, "PriceAmount", line.price)
    b.cbc(price, "BaseQuantity", line.price_base_quantity, unitCode=line.price_base_unit_code)
    if line.price_discount is not None or line.gross_price is not None:
        discount = b.cac(price, "AllowanceCharge")
        b.cbc(discount, "ChargeIndicator", "false")  # a price carries only a discount (BT-147)
        b.amount(discount, "Amount", line.price_discount)
        b.amount(discount, "BaseAmount", line.gross_price)


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


def as_peppol_bis3(invoice: Invoice) -> Invoice:
    """``invoice`` with the PEPPOL BIS Billing 3.0 identifiers; both parties need an electronic address.

    PEPPOL routes by the endpoint ids (BT-34 seller, BT-49 buyer, each with an EAS scheme). A party
    without one cannot be sent over the network, and guessing one would route invoices astray, so
    the document is refused with what to set. So is an invoice holding what PEPPOL forbids (the
    error names the business term), rather than writing a document every access point rejects.
    """
    for role, term, party in (("seller", "BT-34", invoice.seller), ("buyer", "BT-49", invoice.buyer)):
        endpoint = party.endpoint
        if endpoint is None or not endpoint.scheme:
            raise FormatError(
                f"invoice {invoice.number}: PEPPOL BIS 3 needs the {role}'s electronic address ({term}) with "
                f"its scheme (EndpointID schemeID=, e.g. 0088 for a GLN); set {role}.endpoint.value and "
                f"{role}.endpoint.scheme in the integration's mapping (substitutions, mode if_missing)"
            )
    _peppol_forbidden(invoice)
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
    return write_ubl(as_peppol_bis3(invoice))
