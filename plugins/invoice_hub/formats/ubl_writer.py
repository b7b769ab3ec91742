"""The canonical model as UBL 2.1 Invoice or CreditNote, elements in the order the UBL schema requires."""

from __future__ import annotations

import base64
from decimal import Decimal

from lxml import etree

from invoice_hub.formats.ubl import CREDIT_NOTE_NS, INVOICE_NS, NS
from invoice_hub.formats.xml import FormatError
from invoice_hub.model import AllowanceCharge, Identifier, Invoice, Line, Party, TaxCategory

CAC, CBC = NS["cac"], NS["cbc"]


class _Builder:
    """Appends UBL elements; a ``None`` value writes nothing, so optional fields stay optional."""

    def __init__(self, currency: str | None) -> None:
        self.currency = currency

    def cbc(self, parent: etree._Element, name: str, value: object, **attributes: str | None) -> None:
        if value is None or value == "":
            return
        element = etree.SubElement(parent, f"{{{CBC}}}{name}")
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

    def amount(self, parent: etree._Element, name: str, value: Decimal | None) -> None:
        self.cbc(parent, name, value, currencyID=self.currency)

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
    if not credit:
        b.cbc(root, "DueDate", invoice.due_date)
    b.cbc(
        root,
        "CreditNoteTypeCode" if credit else "InvoiceTypeCode",
        invoice.type_code or ("381" if credit else "380"),
    )
    for note in invoice.notes:
        b.cbc(root, "Note", note)
    b.cbc(root, "DocumentCurrencyCode", invoice.currency)
    b.cbc(root, "TaxCurrencyCode", invoice.tax_currency)
    b.cbc(root, "AccountingCost", invoice.accounting_cost)
    b.cbc(root, "BuyerReference", invoice.buyer_reference)
    if invoice.order_reference or invoice.sales_order_reference:
        order = b.cac(root, "OrderReference")
        b.cbc(order, "ID", invoice.order_reference or "NA")
        b.cbc(order, "SalesOrderID", invoice.sales_order_reference)
    for preceding in invoice.preceding_invoices:
        b.cbc(b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", preceding)
    b.wrapped(root, "ContractDocumentReference", "ID", invoice.contract_reference)
    for attachment in invoice.attachments:
        reference = b.cac(root, "AdditionalDocumentReference")
        b.cbc(reference, "ID", attachment.id or attachment.filename or "attachment")
        b.cbc(reference, "DocumentDescription", attachment.description)
        if attachment.content is not None or attachment.uri:
            holder = b.cac(reference, "Attachment")
            if attachment.content is not None:
                b.cbc(
                    holder,
                    "EmbeddedDocumentBinaryObject",
                    base64.b64encode(attachment.content).decode(),
                    mimeCode=attachment.mime_type or "application/octet-stream",
                    filename=attachment.filename,
                )
            if attachment.uri:
                b.cbc(b.cac(holder, "ExternalReference"), "URI", attachment.uri)
    _party(b, b.cac(b.cac(root, "AccountingSupplierParty"), "Party"), invoice.seller)
    _party(b, b.cac(b.cac(root, "AccountingCustomerParty"), "Party"), invoice.buyer)
    if invoice.payee is not None:
        _party(b, b.cac(root, "PayeeParty"), invoice.payee)
    if invoice.tax_representative is not None:
        _party(b, b.cac(root, "TaxRepresentativeParty"), invoice.tax_representative)
    for means in invoice.payment_means:
        element = b.cac(root, "PaymentMeans")
        b.cbc(element, "PaymentMeansCode", means.code)
        if credit:
            b.cbc(element, "PaymentDueDate", invoice.due_date)
        b.cbc(element, "PaymentID", means.payment_id)
        if means.account_id:
            account = b.cac(element, "PayeeFinancialAccount")
            b.cbc(account, "ID", means.account_id)
            b.cbc(account, "Name", means.account_name)
            b.wrapped(account, "FinancialInstitutionBranch", "ID", means.bank_id)
    b.wrapped(root, "PaymentTerms", "Note", invoice.payment_terms)
    for allowance in invoice.allowances_charges:
        _allowance_charge(b, root, allowance)
    if invoice.totals.tax is not None or invoice.tax_subtotals:
        total = b.cac(root, "TaxTotal")
        b.amount(total, "TaxAmount", invoice.totals.tax)
        for subtotal in invoice.tax_subtotals:
            element = b.cac(total, "TaxSubtotal")
            b.amount(element, "TaxableAmount", subtotal.taxable_amount)
            b.amount(element, "TaxAmount", subtotal.tax_amount)
            _tax_category(b, element, "TaxCategory", subtotal.category)
    totals = invoice.totals
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


def _party(b: _Builder, party_element: etree._Element, party: Party) -> None:
    b.identifier(party_element, "EndpointID", party.endpoint)
    for identifier in party.ids:
        b.identifier(b.cac(party_element, "PartyIdentification"), "ID", identifier)
    b.wrapped(party_element, "PartyName", "Name", party.trading_name)
    address = party.address
    if address is not None:
        element = b.cac(party_element, "PostalAddress")
        b.cbc(element, "StreetName", address.street)
        b.cbc(element, "AdditionalStreetName", address.additional_street)
        b.cbc(element, "CityName", address.city)
        b.cbc(element, "PostalZone", address.postal_zone)
        b.cbc(element, "CountrySubentity", address.subdivision)
        b.wrapped(element, "Country", "IdentificationCode", address.country)
    for company_id, scheme in ((party.vat_id, "VAT"), (party.tax_registration_id, "TAX")):
        if company_id:
            element = b.cac(party_element, "PartyTaxScheme")
            b.cbc(element, "CompanyID", company_id)
            b.cbc(b.cac(element, "TaxScheme"), "ID", scheme)
    if party.name or party.legal_id:
        element = b.cac(party_element, "PartyLegalEntity")
        b.cbc(element, "RegistrationName", party.name)
        b.identifier(element, "CompanyID", party.legal_id)
    contact = party.contact
    if contact is not None:
        element = b.cac(party_element, "Contact")
        b.cbc(element, "Name", contact.name)
        b.cbc(element, "Telephone", contact.telephone)
        b.cbc(element, "ElectronicMail", contact.email)


def _tax_category(b: _Builder, parent: etree._Element, name: str, category: TaxCategory | None) -> None:
    if category is None:
        return
    element = b.cac(parent, name)
    b.cbc(element, "ID", category.code)
    b.cbc(element, "Percent", category.rate)
    b.cbc(element, "TaxExemptionReasonCode", category.exemption_code)
    b.cbc(element, "TaxExemptionReason", category.exemption_reason)
    b.cbc(b.cac(element, "TaxScheme"), "ID", "VAT")


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
    b.wrapped(element, "OrderLineReference", "LineID", line.order_line_reference)
    for allowance in line.allowances_charges:
        _allowance_charge(b, element, allowance)
    item = b.cac(element, "Item")
    b.cbc(item, "Description", line.item_description)
    b.cbc(item, "Name", line.item_name)
    b.wrapped(item, "BuyersItemIdentification", "ID", line.buyer_item_id)
    b.wrapped(item, "SellersItemIdentification", "ID", line.seller_item_id)
    if line.standard_item_id is not None:
        b.identifier(b.cac(item, "StandardItemIdentification"), "ID", line.standard_item_id)
    for classification in line.classifications:
        b.cbc(
            b.cac(item, "CommodityClassification"),
            "ItemClassificationCode",
            classification.value,
            listID=classification.scheme,
        )
    _tax_category(b, item, "ClassifiedTaxCategory", line.tax)
    price = b.cac(element, "Price")
    b.amount(price, "PriceAmount", line.price)
    b.cbc(price, "BaseQuantity", line.price_base_quantity, unitCode=line.unit_code)


#: PEPPOL BIS Billing 3.0: the specification (BT-24) and business process (BT-23) identifiers.
PEPPOL_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def as_peppol_bis3(invoice: Invoice) -> Invoice:
    """``invoice`` with the PEPPOL BIS Billing 3.0 identifiers; both parties need an electronic address.

    PEPPOL routes by the endpoint ids (BT-34 seller, BT-49 buyer, each with an EAS scheme). A party
    without one cannot be sent over the network, and guessing one would route invoices astray, so
    the document is refused with what to set.
    """
    for role, party in (("seller", invoice.seller), ("buyer", invoice.buyer)):
        endpoint = party.endpoint
        if endpoint is None or not endpoint.scheme:
            raise FormatError(
                f"invoice {invoice.number}: PEPPOL BIS 3 needs the {role}'s electronic address with its "
                f"scheme (EndpointID schemeID=, e.g. 0088 for a GLN); set {role}.endpoint.value and "
                f"{role}.endpoint.scheme in the integration's mapping (substitutions, mode if_missing)"
            )
    return invoice.model_copy(
        update={"customization_id": PEPPOL_CUSTOMIZATION_ID, "profile_id": PEPPOL_PROFILE_ID}
    )


def write_peppol_bis3(invoice: Invoice) -> bytes:
    return write_ubl(as_peppol_bis3(invoice))
