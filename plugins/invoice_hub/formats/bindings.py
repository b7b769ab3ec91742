"""The bindings of EN 16931: each business term and group, where the model holds it, where UBL and AP
Agility put it. Declared once, here; the term table in ``docs/formats.md``, the per-term tests, the
conversion's loss findings and the checks that the UBL reader and writer carry every term derive
from it.

A binding's ``field`` is a path in :class:`~invoice_hub.model.Invoice`: dotted names, ``[]`` for
every item of a list, ``[key=value]`` / ``[key!=value]`` for the items whose field has (not) that
value (``allowances_charges[is_charge=false].amount``: BT-92). ``None`` means the group has no
object of its own in the model (BG-2: its terms are fields of the invoice).

A binding's ``ubl`` is an XPath 1.0 from the root of a UBL 2.1 Invoice, with the ``cac:``/``cbc:``
prefixes; the CreditNote path follows mechanically (:func:`credit_note_path`). ``ap_agility`` is the
AP Agility XML element (``LineItem/Quantity`` for a line element, ``NetAmount{n}`` for the numbered
ones), or ``None`` when the layout has no place for the term; ``ap_agility_note`` says what happens
to it then, or what the element holds of the term when it holds only part of it.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from invoice_hub.model import Invoice

#: How a model field beyond EN 16931 (the hub's own) starts its docstring.
BEYOND = "Beyond EN 16931"
_TERM_IDS = re.compile(r"B[GT]-\d+(?:-\d+)?")
_LEADING_IDS = re.compile(r"^(?:B[GT]-\d+(?:-\d+)?(?:, | / | )?)+")


@dataclass(frozen=True)
class Binding:
    """One business term (BT) or group (BG) of EN 16931-1 and where each format holds it."""

    id: str
    name: str
    cardinality: str
    field: str | None
    ubl: str | None
    ap_agility: str | None = None
    ap_agility_note: str = ""

    @property
    def is_group(self) -> bool:
        return self.id.startswith("BG-")


_NOT_IN_AP = "not carried: the conversion reports its loss (transform.on_loss)"

S = "cac:AccountingSupplierParty/cac:Party"
B = "cac:AccountingCustomerParty/cac:Party"
P = "cac:PayeeParty"
R = "cac:TaxRepresentativeParty"
D = "cac:Delivery"
L = "cac:InvoiceLine"
PM = "cac:PaymentMeans"
ALLOWANCE = "[cbc:ChargeIndicator='false']"
CHARGE = "[cbc:ChargeIndicator='true']"
_ATTACHMENT = "cac:AdditionalDocumentReference[not(cbc:DocumentTypeCode='130')]"


def _address(
    group: str, who: str, ids: tuple[str, ...], field: str, ubl: str, ap: dict[str, str] | None = None
) -> list[Binding]:
    """A postal address group (BG-5, BG-8, BG-12, BG-15): the same seven terms in each."""
    ap = ap or {}
    parts = (
        ("address line 1", "street", "cbc:StreetName"),
        ("address line 2", "additional_street", "cbc:AdditionalStreetName"),
        ("address line 3", "line3", "cac:AddressLine/cbc:Line"),
        ("city", "city", "cbc:CityName"),
        ("post code", "postal_zone", "cbc:PostalZone"),
        ("country subdivision", "subdivision", "cbc:CountrySubentity"),
        ("country code", "country", "cac:Country/cbc:IdentificationCode"),
    )
    out = []
    for bt, (label, name, element) in zip(ids, parts, strict=True):
        card = "1..1" if name == "country" else "0..1"
        element_ap = ap.get(name)
        out.append(
            Binding(
                bt,
                f"{who} {label}",
                card,
                f"{field}.{name}",
                f"{ubl}/{element}",
                element_ap,
                "" if element_ap else _NOT_IN_AP,
            )
        )
    return [Binding(group, f"{who} postal address", "1..1", field, ubl, None, _NOT_IN_AP), *out]


def _allowances(
    group: str, ids: tuple[str, ...], field: str, ubl: str, *, charge: bool, line: bool
) -> list[Binding]:
    """BG-20, BG-21 (document level) and BG-27, BG-28 (line level): the same terms."""
    kind = "charge" if charge else "allowance"
    level = "Invoice line" if line else "Document level"
    select = f"{field}[is_charge={'true' if charge else 'false'}]"
    xpath = f"{ubl}{CHARGE if charge else ALLOWANCE}"
    terms = [
        ("amount", "amount", "cbc:Amount", "1..1"),
        ("base amount", "base_amount", "cbc:BaseAmount", "0..1"),
    ]
    terms.append(("percentage", "percent", "cbc:MultiplierFactorNumeric", "0..1"))
    if not line:
        terms.append(("VAT category code", "tax.code", "cac:TaxCategory/cbc:ID", "1..1"))
        terms.append(("VAT rate", "tax.rate", "cac:TaxCategory/cbc:Percent", "0..1"))
    terms.append((f"{kind} reason", "reason", "cbc:AllowanceChargeReason", "0..1"))
    terms.append((f"{kind} reason code", "reason_code", "cbc:AllowanceChargeReasonCode", "0..1"))
    groups_ap = {
        ("BG-20", "amount"): ("Discount", "the sum of the document level allowances (BT-107)"),
        ("BG-21", "amount"): ("Freight", "the sum of the document level charges (BT-108)"),
        ("BG-27", "amount"): ("LineItem/Discount", "the sum of the line's allowances"),
    }
    out = [Binding(group, f"{level} {kind}s", "0..n", select, xpath, None, _NOT_IN_AP)]
    for bt, (label, name, element, card) in zip(ids, terms, strict=True):
        ap, note = groups_ap.get((group, name), (None, _NOT_IN_AP))
        out.append(Binding(bt, f"{level} {label}", card, f"{select}.{name}", f"{xpath}/{element}", ap, note))
    return out


BINDINGS: tuple[Binding, ...] = (
    Binding("BT-1", "Invoice number", "1..1", "number", "cbc:ID", "InvoiceNumber"),
    Binding("BT-2", "Invoice issue date", "1..1", "issue_date", "cbc:IssueDate", "InvoiceDate"),
    Binding(
        "BT-3",
        "Invoice type code",
        "1..1",
        "type_code",
        "cbc:InvoiceTypeCode",
        "DocumentType",
        "only INVOICE or CREDIT NOTE: a code other than 380 or 381 is lost (reported)",
    ),
    Binding("BT-5", "Invoice currency code", "1..1", "currency", "cbc:DocumentCurrencyCode", "Currency"),
    Binding(
        "BT-6",
        "VAT accounting currency code",
        "0..1",
        "tax_currency",
        "cbc:TaxCurrencyCode",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-7", "Value added tax point date", "0..1", "tax_point_date", "cbc:TaxPointDate", None, _NOT_IN_AP
    ),
    Binding(
        "BT-8",
        "Value added tax point date code",
        "0..1",
        "tax_point_date_code",
        "cac:InvoicePeriod/cbc:DescriptionCode",
        None,
        _NOT_IN_AP,
    ),
    Binding("BT-9", "Payment due date", "0..1", "due_date", "cbc:DueDate", "DueDate"),
    Binding("BT-10", "Buyer reference", "0..1", "buyer_reference", "cbc:BuyerReference", None, _NOT_IN_AP),
    Binding(
        "BT-11",
        "Project reference",
        "0..1",
        "project_reference",
        "cac:ProjectReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-12",
        "Contract reference",
        "0..1",
        "contract_reference",
        "cac:ContractDocumentReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-13",
        "Purchase order reference",
        "0..1",
        "order_reference",
        "cac:OrderReference/cbc:ID",
        "PoNumber",
        "also LineItem/PoNumber on every line; InvoiceType says PO or Non-PO",
    ),
    Binding(
        "BT-14",
        "Sales order reference",
        "0..1",
        "sales_order_reference",
        "cac:OrderReference/cbc:SalesOrderID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-15",
        "Receiving advice reference",
        "0..1",
        "receiving_advice_reference",
        "cac:ReceiptDocumentReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-16",
        "Despatch advice reference",
        "0..1",
        "despatch_advice_reference",
        "cac:DespatchDocumentReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-17",
        "Tender or lot reference",
        "0..1",
        "tender_reference",
        "cac:OriginatorDocumentReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-18",
        "Invoiced object identifier",
        "0..1",
        "invoiced_object",
        "cac:AdditionalDocumentReference[cbc:DocumentTypeCode='130']/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-19",
        "Buyer accounting reference",
        "0..1",
        "accounting_cost",
        "cbc:AccountingCost",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-20",
        "Payment terms",
        "0..1",
        "payment_terms",
        "cac:PaymentTerms/cbc:Note",
        "PaymentComments",
    ),
    Binding("BG-1", "Invoice note", "0..n", "notes", "cbc:Note", None, _NOT_IN_AP),
    Binding(
        "BT-21",
        "Invoice note subject code",
        "0..1",
        "notes[]",
        "cbc:Note",
        None,
        "not carried (the #code# prefix of the note text, as UBL has it): reported",
    ),
    Binding("BT-22", "Invoice note", "1..1", "notes[]", "cbc:Note", None, _NOT_IN_AP),
    Binding("BG-2", "Process control", "1..1", None, None, None, _NOT_IN_AP),
    Binding("BT-23", "Business process type", "0..1", "profile_id", "cbc:ProfileID", None, _NOT_IN_AP),
    Binding(
        "BT-24",
        "Specification identifier",
        "1..1",
        "customization_id",
        "cbc:CustomizationID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BG-3",
        "Preceding Invoice reference",
        "0..n",
        "preceding_invoices",
        "cac:BillingReference",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-25",
        "Preceding Invoice reference",
        "1..1",
        "preceding_invoices[]",
        "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-26",
        "Preceding Invoice issue date",
        "0..1",
        "preceding_invoice_dates",
        "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate",
        None,
        _NOT_IN_AP,
    ),
    # BG-4 Seller and its address and contact.
    Binding("BG-4", "Seller", "1..1", "seller", S, None, _NOT_IN_AP),
    Binding(
        "BT-27",
        "Seller name",
        "1..1",
        "seller.name",
        f"{S}/cac:PartyLegalEntity/cbc:RegistrationName",
        "VendorName1",
    ),
    Binding(
        "BT-28",
        "Seller trading name",
        "0..1",
        "seller.trading_name",
        f"{S}/cac:PartyName/cbc:Name",
        "VendorName1",
        "only when the seller has no name (BT-27)",
    ),
    Binding(
        "BT-29",
        "Seller identifier",
        "0..n",
        "seller.ids[scheme!=SEPA]",
        f"{S}/cac:PartyIdentification/cbc:ID[not(@schemeID='SEPA')]",
        "VendorId",
        "the first identifier, without its scheme; others are lost (reported)",
    ),
    Binding(
        "BT-30",
        "Seller legal registration identifier",
        "0..1",
        "seller.legal_id",
        f"{S}/cac:PartyLegalEntity/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-31",
        "Seller VAT identifier",
        "0..1",
        "seller.vat_id",
        f"{S}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-32",
        "Seller tax registration identifier",
        "0..1",
        "seller.tax_registration_id",
        f"{S}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID!='VAT']/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-33",
        "Seller additional legal information",
        "0..1",
        "seller.legal_form",
        f"{S}/cac:PartyLegalEntity/cbc:CompanyLegalForm",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-34",
        "Seller electronic address",
        "0..1",
        "seller.endpoint",
        f"{S}/cbc:EndpointID",
        None,
        _NOT_IN_AP,
    ),
    *_address(
        "BG-5",
        "Seller",
        ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40"),
        "seller.address",
        f"{S}/cac:PostalAddress",
        {
            "street": "VendorStreet1",
            "city": "VendorCity",
            "postal_zone": "VendorZip",
            "subdivision": "VendorState",
        },
    ),
    Binding("BG-6", "Seller contact", "0..1", "seller.contact", f"{S}/cac:Contact", None, _NOT_IN_AP),
    Binding(
        "BT-41",
        "Seller contact point",
        "0..1",
        "seller.contact.name",
        f"{S}/cac:Contact/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-42",
        "Seller contact telephone number",
        "0..1",
        "seller.contact.telephone",
        f"{S}/cac:Contact/cbc:Telephone",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-43",
        "Seller contact email address",
        "0..1",
        "seller.contact.email",
        f"{S}/cac:Contact/cbc:ElectronicMail",
        None,
        _NOT_IN_AP,
    ),
    # BG-7 Buyer.
    Binding("BG-7", "Buyer", "1..1", "buyer", B, None, _NOT_IN_AP),
    Binding(
        "BT-44",
        "Buyer name",
        "1..1",
        "buyer.name",
        f"{B}/cac:PartyLegalEntity/cbc:RegistrationName",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-45",
        "Buyer trading name",
        "0..1",
        "buyer.trading_name",
        f"{B}/cac:PartyName/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-46",
        "Buyer identifier",
        "0..1",
        "buyer.ids[]",
        f"{B}/cac:PartyIdentification/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-47",
        "Buyer legal registration identifier",
        "0..1",
        "buyer.legal_id",
        f"{B}/cac:PartyLegalEntity/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-48",
        "Buyer VAT identifier",
        "0..1",
        "buyer.vat_id",
        f"{B}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-49", "Buyer electronic address", "0..1", "buyer.endpoint", f"{B}/cbc:EndpointID", None, _NOT_IN_AP
    ),
    *_address(
        "BG-8",
        "Buyer",
        ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55"),
        "buyer.address",
        f"{B}/cac:PostalAddress",
    ),
    Binding("BG-9", "Buyer contact", "0..1", "buyer.contact", f"{B}/cac:Contact", None, _NOT_IN_AP),
    Binding(
        "BT-56",
        "Buyer contact point",
        "0..1",
        "buyer.contact.name",
        f"{B}/cac:Contact/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-57",
        "Buyer contact telephone number",
        "0..1",
        "buyer.contact.telephone",
        f"{B}/cac:Contact/cbc:Telephone",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-58",
        "Buyer contact email address",
        "0..1",
        "buyer.contact.email",
        f"{B}/cac:Contact/cbc:ElectronicMail",
        None,
        _NOT_IN_AP,
    ),
    # BG-10 Payee, BG-11 and BG-12 the seller's tax representative.
    Binding("BG-10", "Payee", "0..1", "payee", P, None, _NOT_IN_AP),
    Binding(
        "BT-59", "Payee name", "1..1", "payee.trading_name", f"{P}/cac:PartyName/cbc:Name", None, _NOT_IN_AP
    ),
    Binding(
        "BT-60",
        "Payee identifier",
        "0..1",
        "payee.ids[scheme!=SEPA]",
        f"{P}/cac:PartyIdentification/cbc:ID[not(@schemeID='SEPA')]",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-61",
        "Payee legal registration identifier",
        "0..1",
        "payee.legal_id",
        f"{P}/cac:PartyLegalEntity/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    Binding("BG-11", "Seller tax representative party", "0..1", "tax_representative", R, None, _NOT_IN_AP),
    Binding(
        "BT-62",
        "Seller tax representative name",
        "1..1",
        "tax_representative.trading_name",
        f"{R}/cac:PartyName/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-63",
        "Seller tax representative VAT identifier",
        "1..1",
        "tax_representative.vat_id",
        f"{R}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
        None,
        _NOT_IN_AP,
    ),
    *_address(
        "BG-12",
        "Tax representative",
        ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69"),
        "tax_representative.address",
        f"{R}/cac:PostalAddress",
    ),
    # BG-13 Delivery, BG-14 the invoicing period, BG-15 the deliver-to address.
    Binding("BG-13", "Delivery information", "0..1", "delivery", D, None, _NOT_IN_AP),
    Binding(
        "BT-70",
        "Deliver to party name",
        "0..1",
        "delivery.party_name",
        f"{D}/cac:DeliveryParty/cac:PartyName/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-71",
        "Deliver to location identifier",
        "0..1",
        "delivery.location_id",
        f"{D}/cac:DeliveryLocation/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-72",
        "Actual delivery date",
        "0..1",
        "delivery.date",
        f"{D}/cbc:ActualDeliveryDate",
        None,
        _NOT_IN_AP,
    ),
    Binding("BG-14", "Invoicing period", "0..1", "invoice_period", "cac:InvoicePeriod", None, _NOT_IN_AP),
    Binding(
        "BT-73",
        "Invoicing period start date",
        "0..1",
        "invoice_period.start",
        "cac:InvoicePeriod/cbc:StartDate",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-74",
        "Invoicing period end date",
        "0..1",
        "invoice_period.end",
        "cac:InvoicePeriod/cbc:EndDate",
        None,
        _NOT_IN_AP,
    ),
    *_address(
        "BG-15",
        "Deliver to",
        ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80"),
        "delivery.address",
        f"{D}/cac:DeliveryLocation/cac:Address",
    ),
    # BG-16 Payment instructions: one cac:PaymentMeans each, with BG-17, BG-18, BG-19.
    Binding("BG-16", "Payment instructions", "0..1", "payment_means", PM, None, _NOT_IN_AP),
    Binding(
        "BT-81",
        "Payment means type code",
        "1..1",
        "payment_means[].code",
        f"{PM}/cbc:PaymentMeansCode",
        "PaymentMethod",
        "a payment method, not the UNCL 4461 code: the code is lost (reported)",
    ),
    Binding(
        "BT-82",
        "Payment means text",
        "0..1",
        "payment_means[].text",
        f"{PM}/cbc:PaymentMeansCode/@name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-83",
        "Remittance information",
        "0..1",
        "payment_means[].payment_id",
        f"{PM}/cbc:PaymentID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BG-17",
        "Credit transfer",
        "0..n",
        "payment_means[]",
        f"{PM}/cac:PayeeFinancialAccount",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-84",
        "Payment account identifier",
        "1..1",
        "payment_means[].account_id",
        f"{PM}/cac:PayeeFinancialAccount/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-85",
        "Payment account name",
        "0..1",
        "payment_means[].account_name",
        f"{PM}/cac:PayeeFinancialAccount/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-86",
        "Payment service provider identifier",
        "0..1",
        "payment_means[].bank_id",
        f"{PM}/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BG-18",
        "Payment card information",
        "0..1",
        "payment_means[].card",
        f"{PM}/cac:CardAccount",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-87",
        "Payment card primary account number",
        "1..1",
        "payment_means[].card.primary_account",
        f"{PM}/cac:CardAccount/cbc:PrimaryAccountNumberID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-88",
        "Payment card holder name",
        "0..1",
        "payment_means[].card.holder_name",
        f"{PM}/cac:CardAccount/cbc:HolderName",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BG-19",
        "Direct debit",
        "0..1",
        "payment_means[].direct_debit",
        f"{PM}/cac:PaymentMandate",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-89",
        "Mandate reference identifier",
        "0..1",
        "payment_means[].direct_debit.mandate_id",
        f"{PM}/cac:PaymentMandate/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-90",
        "Bank assigned creditor identifier",
        "0..1",
        "seller.ids[scheme=SEPA]",
        f"{S}/cac:PartyIdentification/cbc:ID[@schemeID='SEPA']",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-91",
        "Debited account identifier",
        "0..1",
        "payment_means[].direct_debit.debited_account",
        f"{PM}/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    *_allowances(
        "BG-20",
        ("BT-92", "BT-93", "BT-94", "BT-95", "BT-96", "BT-97", "BT-98"),
        "allowances_charges",
        "cac:AllowanceCharge",
        charge=False,
        line=False,
    ),
    *_allowances(
        "BG-21",
        ("BT-99", "BT-100", "BT-101", "BT-102", "BT-103", "BT-104", "BT-105"),
        "allowances_charges",
        "cac:AllowanceCharge",
        charge=True,
        line=False,
    ),
    # BG-22 Document totals.
    Binding("BG-22", "Document totals", "1..1", "totals", "cac:LegalMonetaryTotal", None, _NOT_IN_AP),
    Binding(
        "BT-106",
        "Sum of Invoice line net amount",
        "1..1",
        "totals.line_extension",
        "cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
        "SubTotal",
    ),
    Binding(
        "BT-107",
        "Sum of allowances on document level",
        "0..1",
        "totals.allowances",
        "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount",
        "Discount",
    ),
    Binding(
        "BT-108",
        "Sum of charges on document level",
        "0..1",
        "totals.charges",
        "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount",
        "Freight",
    ),
    Binding(
        "BT-109",
        "Invoice total amount without VAT",
        "1..1",
        "totals.tax_exclusive",
        "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
        None,
        "not carried as such: it is SubTotal + Freight + AmtMiscellaneous - Discount (InvoiceAmount less the TaxAmount{n})",
    ),
    Binding(
        "BT-110",
        "Invoice total VAT amount",
        "0..1",
        "totals.tax",
        "cac:TaxTotal/cbc:TaxAmount[@currencyID=/*/cbc:DocumentCurrencyCode]",
        "TaxAmount{n}",
        "the sum of the numbered TaxAmount{n} (one per VAT rate)",
    ),
    Binding(
        "BT-111",
        "Invoice total VAT amount in accounting currency",
        "0..1",
        "totals.tax_in_tax_currency",
        "cac:TaxTotal/cbc:TaxAmount[@currencyID=/*/cbc:TaxCurrencyCode]",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-112",
        "Invoice total amount with VAT",
        "1..1",
        "totals.tax_inclusive",
        "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
        "InvoiceAmount",
    ),
    Binding(
        "BT-113",
        "Paid amount",
        "0..1",
        "totals.prepaid",
        "cac:LegalMonetaryTotal/cbc:PrepaidAmount",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-114",
        "Rounding amount",
        "0..1",
        "totals.rounding",
        "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-115",
        "Amount due for payment",
        "1..1",
        "totals.payable",
        "cac:LegalMonetaryTotal/cbc:PayableAmount",
        None,
        "not carried: AP Agility's InvoiceAmount is the total with VAT (BT-112), before any paid amount",
    ),
    # BG-23 VAT breakdown.
    Binding(
        "BG-23",
        "VAT breakdown",
        "1..n",
        "tax_subtotals",
        "cac:TaxTotal/cac:TaxSubtotal",
        "NetAmount{n}",
        "NetAmount{n} and TaxAmount{n} per VAT rate; category and exemption reason are lost (reported)",
    ),
    Binding(
        "BT-116",
        "VAT category taxable amount",
        "1..1",
        "tax_subtotals[].taxable_amount",
        "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount",
        "NetAmount{n}",
        "the lines' net amount at that VAT rate: the seed's NetAmount{n} add up to SubTotal; the document "
        "level charges and allowances (Freight, AmtMiscellaneous, Discount) stand beside them",
    ),
    Binding(
        "BT-117",
        "VAT category tax amount",
        "1..1",
        "tax_subtotals[].tax_amount",
        "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount",
        "TaxAmount{n}",
    ),
    Binding(
        "BT-118",
        "VAT category code",
        "1..1",
        "tax_subtotals[].category.code",
        "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID",
        None,
        "not carried at document level: the lines' LineItem/TaxCode hold it",
    ),
    Binding(
        "BT-119",
        "VAT category rate",
        "0..1",
        "tax_subtotals[].category.rate",
        "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent",
        None,
        "not carried at document level: the lines' LineItem/TaxRate hold it",
    ),
    Binding(
        "BT-120",
        "VAT exemption reason text",
        "0..1",
        "tax_subtotals[].category.exemption_reason",
        "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-121",
        "VAT exemption reason code",
        "0..1",
        "tax_subtotals[].category.exemption_code",
        "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
        None,
        _NOT_IN_AP,
    ),
    # BG-24 Additional supporting documents.
    Binding(
        "BG-24",
        "Additional supporting documents",
        "0..n",
        "attachments",
        _ATTACHMENT,
        "ImageBase64",
        "only the invoice image (a PDF or TIFF, with ImageExtension); other documents are lost (reported)",
    ),
    Binding(
        "BT-122",
        "Supporting document reference",
        "1..1",
        "attachments[].id",
        f"{_ATTACHMENT}/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-123",
        "Supporting document description",
        "0..1",
        "attachments[].description",
        f"{_ATTACHMENT}/cbc:DocumentDescription",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-124",
        "External document location",
        "0..1",
        "attachments[].uri",
        f"{_ATTACHMENT}/cac:Attachment/cac:ExternalReference/cbc:URI",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-125",
        "Attached document",
        "0..1",
        "attachments[].content",
        f"{_ATTACHMENT}/cac:Attachment/cbc:EmbeddedDocumentBinaryObject",
        "ImageBase64",
        "the invoice image only (its mime code as ImageExtension, no filename)",
    ),
    # BG-25 Invoice line.
    Binding("BG-25", "Invoice line", "1..n", "lines", L, "LineItem"),
    Binding("BT-126", "Invoice line identifier", "1..1", "lines[].id", f"{L}/cbc:ID", "LineItem/LineNumber"),
    Binding("BT-127", "Invoice line note", "0..1", "lines[].note", f"{L}/cbc:Note", None, _NOT_IN_AP),
    Binding(
        "BT-128",
        "Invoice line object identifier",
        "0..1",
        "lines[].object_id",
        f"{L}/cac:DocumentReference/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-129",
        "Invoiced quantity",
        "1..1",
        "lines[].quantity",
        f"{L}/cbc:InvoicedQuantity",
        "LineItem/Quantity",
    ),
    Binding(
        "BT-130",
        "Invoiced quantity unit of measure code",
        "1..1",
        "lines[].unit_code",
        f"{L}/cbc:InvoicedQuantity/@unitCode",
        "LineItem/UnitOfMeasure",
    ),
    Binding(
        "BT-131",
        "Invoice line net amount",
        "1..1",
        "lines[].net_amount",
        f"{L}/cbc:LineExtensionAmount",
        "LineItem/Total",
    ),
    Binding(
        "BT-132",
        "Referenced purchase order line reference",
        "0..1",
        "lines[].order_line_reference",
        f"{L}/cac:OrderLineReference/cbc:LineID",
        "LineItem/PoLineNumber",
    ),
    Binding(
        "BT-133",
        "Invoice line Buyer accounting reference",
        "0..1",
        "lines[].accounting_cost",
        f"{L}/cbc:AccountingCost",
        "LineItem/GlAccount",
    ),
    Binding(
        "BG-26", "Invoice line period", "0..1", "lines[].period", f"{L}/cac:InvoicePeriod", None, _NOT_IN_AP
    ),
    Binding(
        "BT-134",
        "Invoice line period start date",
        "0..1",
        "lines[].period.start",
        f"{L}/cac:InvoicePeriod/cbc:StartDate",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-135",
        "Invoice line period end date",
        "0..1",
        "lines[].period.end",
        f"{L}/cac:InvoicePeriod/cbc:EndDate",
        None,
        _NOT_IN_AP,
    ),
    *_allowances(
        "BG-27",
        ("BT-136", "BT-137", "BT-138", "BT-139", "BT-140"),
        "lines[].allowances_charges",
        f"{L}/cac:AllowanceCharge",
        charge=False,
        line=True,
    ),
    *_allowances(
        "BG-28",
        ("BT-141", "BT-142", "BT-143", "BT-144", "BT-145"),
        "lines[].allowances_charges",
        f"{L}/cac:AllowanceCharge",
        charge=True,
        line=True,
    ),
    # BG-29 Price details, BG-30 line VAT, BG-31 item, BG-32 item attributes.
    Binding("BG-29", "Price details", "1..1", "lines[]", f"{L}/cac:Price", None, _NOT_IN_AP),
    Binding(
        "BT-146",
        "Item net price",
        "1..1",
        "lines[].price",
        f"{L}/cac:Price/cbc:PriceAmount",
        "LineItem/UnitPrice",
    ),
    Binding(
        "BT-147",
        "Item price discount",
        "0..1",
        "lines[].price_discount",
        f"{L}/cac:Price/cac:AllowanceCharge/cbc:Amount",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-148",
        "Item gross price",
        "0..1",
        "lines[].gross_price",
        f"{L}/cac:Price/cac:AllowanceCharge/cbc:BaseAmount",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-149",
        "Item price base quantity",
        "0..1",
        "lines[].price_base_quantity",
        f"{L}/cac:Price/cbc:BaseQuantity",
        "LineItem/UnitOfQuantity",
    ),
    Binding(
        "BT-150",
        "Item price base quantity unit of measure code",
        "0..1",
        "lines[].price_base_unit_code",
        f"{L}/cac:Price/cbc:BaseQuantity/@unitCode",
        None,
        "not carried: AP Agility's UnitOfMeasure is the quantity's (BT-130)",
    ),
    Binding(
        "BG-30",
        "Line VAT information",
        "1..1",
        "lines[].tax",
        f"{L}/cac:Item/cac:ClassifiedTaxCategory",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-151",
        "Invoiced item VAT category code",
        "1..1",
        "lines[].tax.code",
        f"{L}/cac:Item/cac:ClassifiedTaxCategory/cbc:ID",
        "LineItem/TaxCode",
    ),
    Binding(
        "BT-152",
        "Invoiced item VAT rate",
        "0..1",
        "lines[].tax.rate",
        f"{L}/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",
        "LineItem/TaxRate",
    ),
    Binding("BG-31", "Item information", "1..1", "lines[]", f"{L}/cac:Item", None, _NOT_IN_AP),
    Binding(
        "BT-153",
        "Item name",
        "1..1",
        "lines[].item_name",
        f"{L}/cac:Item/cbc:Name",
        "LineItem/Description",
    ),
    Binding(
        "BT-154",
        "Item description",
        "0..1",
        "lines[].item_description",
        f"{L}/cac:Item/cbc:Description",
        "LineItem/Description",
        "only when the item has no name (BT-153)",
    ),
    Binding(
        "BT-155",
        "Item Seller's identifier",
        "0..1",
        "lines[].seller_item_id",
        f"{L}/cac:Item/cac:SellersItemIdentification/cbc:ID",
        "LineItem/MaterialNumber",
    ),
    Binding(
        "BT-156",
        "Item Buyer's identifier",
        "0..1",
        "lines[].buyer_item_id",
        f"{L}/cac:Item/cac:BuyersItemIdentification/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-157",
        "Item standard identifier",
        "0..1",
        "lines[].standard_item_id",
        f"{L}/cac:Item/cac:StandardItemIdentification/cbc:ID",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-158",
        "Item classification identifier",
        "0..n",
        "lines[].classifications[]",
        f"{L}/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode",
        "LineItem/Category",
        "the first classification, without its scheme; others are lost (reported)",
    ),
    Binding(
        "BT-159",
        "Item country of origin",
        "0..1",
        "lines[].origin_country",
        f"{L}/cac:Item/cac:OriginCountry/cbc:IdentificationCode",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BG-32",
        "Item attributes",
        "0..n",
        "lines[].attributes",
        f"{L}/cac:Item/cac:AdditionalItemProperty",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-160",
        "Item attribute name",
        "1..1",
        "lines[].attributes[].name",
        f"{L}/cac:Item/cac:AdditionalItemProperty/cbc:Name",
        None,
        _NOT_IN_AP,
    ),
    Binding(
        "BT-161",
        "Item attribute value",
        "1..1",
        "lines[].attributes[].value",
        f"{L}/cac:Item/cac:AdditionalItemProperty/cbc:Value",
        None,
        _NOT_IN_AP,
    ),
)


BY_ID: dict[str, Binding] = {binding.id: binding for binding in BINDINGS}


def term(term_id: str) -> Binding:
    """The binding of a business term or group (``"BT-1"``, ``"BG-13"``); KeyError names unknown ids."""
    try:
        return BY_ID[term_id]
    except KeyError:
        raise KeyError(f"{term_id} is not an EN 16931 business term or group") from None


#: The CreditNote differences of the UBL paths: the line and quantity elements are named for credit
#: notes, and two terms live elsewhere (CreditNote has no DueDate nor ProjectReference).
_CREDIT_NOTE_RENAMES = (
    ("cac:InvoiceLine", "cac:CreditNoteLine"),
    ("cbc:InvoicedQuantity", "cbc:CreditedQuantity"),
    ("cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode"),
)
_CREDIT_NOTE_ATTACHMENT = (
    "cac:AdditionalDocumentReference[not(cbc:DocumentTypeCode='130' or cbc:DocumentTypeCode='50')]"
)
_CREDIT_NOTE_PATHS = {
    "BT-9": "cac:PaymentMeans/cbc:PaymentDueDate",
    "BT-11": "cac:AdditionalDocumentReference[cbc:DocumentTypeCode='50']/cbc:ID",
}


def renamed_for_credit_note(path: str) -> str:
    """An Invoice path with the CreditNote's element names (the mechanical part of the difference)."""
    for invoice_name, credit_name in _CREDIT_NOTE_RENAMES:
        path = path.replace(invoice_name, credit_name)
    return path


def credit_note_path(binding: Binding) -> str | None:
    """The binding's UBL path in a CreditNote."""
    if binding.id in _CREDIT_NOTE_PATHS:
        return _CREDIT_NOTE_PATHS[binding.id]
    if binding.ubl is None:
        return None
    # DocumentTypeCode 50 is the project reference (BT-11) in a CreditNote, not an attachment.
    return renamed_for_credit_note(binding.ubl).replace(_ATTACHMENT, _CREDIT_NOTE_ATTACHMENT)


# Walking the model by a field path.

_STEP = re.compile(r"^(?P<name>\w+)(?:\[(?P<select>[^\]]*)\])?$")


def _steps(path: str) -> list[tuple[str, str | None]]:
    steps = []
    for part in path.split("."):
        match = _STEP.match(part)
        if match is None:
            raise ValueError(f"not a field path step: {part!r} in {path!r}")
        steps.append((match["name"], match["select"]))
    return steps


def _selected(item: Any, select: str) -> bool:
    """Whether a list item matches ``[key=value]`` / ``[key!=value]`` (``[]``: every item)."""
    if not select:
        return True
    negate = "!=" in select
    key, value = select.split("!=" if negate else "=", 1)
    actual = getattr(item, key, None)
    text = ("true" if actual else "false") if isinstance(actual, bool) else actual
    return (text != value) if negate else (text == value)


def values_at(obj: Any, path: str) -> list[Any]:
    """The values at a field path of ``obj`` (an :class:`Invoice`), empty ones left out."""
    current = [obj]
    for name, select in _steps(path):
        following: list[Any] = []
        for item in current:
            value = getattr(item, name, None)
            if select is None:
                following.append(value)
            elif isinstance(value, list):
                following.extend(entry for entry in value if _selected(entry, select))
        current = [value for value in following if not _empty(value)]
    return current


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def terms_in(invoice: Invoice) -> dict[str, Any]:
    """The business terms and groups ``invoice`` carries, with their values (a list where the
    term can occur more than once in the invoice: on each line, in each VAT breakdown, ...)."""
    found: dict[str, Any] = {}
    for binding in BINDINGS:
        if binding.field is None:
            continue
        values = values_at(invoice, binding.field)
        if values:
            found[binding.id] = values if "[" in binding.field else values[0]
    return found


# The model's own account of its terms: the attribute docstrings.


def field_terms(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The business term and group ids a model field's docstring starts with (``()`` for the hub's
    own fields, whose docstring starts with "Beyond EN 16931")."""
    description = model.model_fields[field].description or ""
    leading = _LEADING_IDS.match(description)
    return tuple(_TERM_IDS.findall(leading.group(0))) if leading else ()


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model class inside an annotation (``Party | None``, ``list[Line]``) and whether it is a list."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        inner, _ = _nested_model(typing.get_args(annotation)[0])
        return inner, True
    if origin in (typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            inner, many = _nested_model(argument)
            if inner is not None or many:
                return inner, many
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, origin is dict


def model_fields(
    model: type[BaseModel] = Invoice, prefix: str = ""
) -> Iterator[tuple[str, type[BaseModel], str]]:
    """Every field of the model, depth first: (path like ``lines[].period.start``, model class, field name)."""
    for name, info in model.model_fields.items():
        inner, many = _nested_model(info.annotation)
        path = f"{prefix}{name}"
        yield path, model, name
        if inner is not None:
            yield from model_fields(inner, f"{path}{'[]' if many else ''}.")


@functools.cache
def _known_paths() -> frozenset[str]:
    return frozenset(path for path, _, _ in model_fields())


def field_path_exists(path: str) -> bool:
    """Whether a binding's field path names fields of the model (selections ``[key=value]`` read as ``[]``)."""
    normalised = re.sub(r"\[[^\]]*\]", "[]", path)
    plain = normalised.removesuffix("[]")
    return plain in _known_paths()
