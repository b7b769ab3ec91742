"""The canonical invoice: what every format reads into and writes from.

It is the EN 16931-1 semantic model: every business term (BT-1..BT-165) and group (BG-1..BG-32;
the standard numbers no BT-4 and no BG-33) has a field, whose attribute docstring starts with the
term's id ("BT-1 Invoice number.") so that the bindings table (``formats/bindings.py``),
the docs and the tests can say which field holds which term. A few fields are the hub's own
(custom fields, GL segments, the syntax's document kind); their docstrings start with
"Beyond EN 16931".

Amounts and quantities are ``Decimal`` (never float); codes are kept as the document states them
(unit codes, VAT categories, scheme ids), so that a reader followed by a writer loses nothing the
model knows about. Fields are optional where EN 16931 allows them to be missing: validation, not
reading, decides whether a document is complete.

Invoices stored by earlier versions (``model_dump_json()`` in the document store) must still load:
fields are only ever added, with empty defaults, never renamed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DocumentType = Literal["invoice", "credit_note"]


class ModelBase(BaseModel):
    # JSON (the document store) carries binary attachments as base64. Attribute docstrings become
    # the fields' descriptions: they name the business term each field holds.
    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        ser_json_bytes="base64",
        val_json_bytes="base64",
        use_attribute_docstrings=True,
    )


class Identifier(ModelBase):
    """An identifier with its scheme (BT-29, BT-34, BT-157, BT-158, ... each "with scheme identifier")."""

    value: str
    """BT-29, BT-30, BT-34, BT-46, BT-47, BT-49, BT-60, BT-61, BT-71, BT-157, BT-158 ... The identifier."""
    scheme: str | None = None
    """BT-29-1, BT-34-1, BT-157-1, BT-158-1 ... Scheme identifier: ISO 6523 ICD (0088 GLN, 0192 Norway), EAS, or a list id (UNSPSC)."""
    scheme_version: str | None = None
    """BT-158-2 Scheme version identifier (item classification, ``listVersionID``)."""


class Address(ModelBase):
    """BG-5 Seller postal address, BG-8 Buyer postal address, BG-12 Tax representative postal address, BG-15 Deliver to address."""

    street: str | None = None
    """BT-35, BT-50, BT-64, BT-75 Address line 1."""
    additional_street: str | None = None
    """BT-36, BT-51, BT-65, BT-76 Address line 2."""
    line3: str | None = None
    """BT-162, BT-163, BT-164, BT-165 Address line 3."""
    city: str | None = None
    """BT-37, BT-52, BT-66, BT-77 City."""
    postal_zone: str | None = None
    """BT-38, BT-53, BT-67, BT-78 Post code."""
    subdivision: str | None = None
    """BT-39, BT-54, BT-68, BT-79 Country subdivision."""
    country: str | None = None
    """BT-40, BT-55, BT-69, BT-80 Country code (ISO 3166-1 alpha-2)."""


class Contact(ModelBase):
    """BG-6 Seller contact, BG-9 Buyer contact."""

    name: str | None = None
    """BT-41, BT-56 Contact point."""
    telephone: str | None = None
    """BT-42, BT-57 Contact telephone number."""
    email: str | None = None
    """BT-43, BT-58 Contact email address."""


class Party(ModelBase):
    """BG-4 Seller, BG-7 Buyer, BG-10 Payee, BG-11 Seller tax representative party."""

    name: str | None = None
    """BT-27, BT-44 Seller name, Buyer name: the registration (legal) name (PartyLegalEntity)."""
    trading_name: str | None = None
    """BT-28, BT-45, BT-59, BT-62 Trading name; for the payee and the tax representative, their name (UBL's PartyName)."""
    endpoint: Identifier | None = None
    """BT-34, BT-49 Electronic address, with its scheme (EAS)."""
    ids: list[Identifier] = Field(default_factory=list)
    """BT-29, BT-46, BT-60 Party identifiers, with schemes; BT-90 Bank assigned creditor identifier is the one with scheme SEPA."""
    vat_id: str | None = None
    """BT-31, BT-48, BT-63 VAT identifier."""
    tax_registration_id: str | None = None
    """BT-32 Seller tax registration identifier (a tax scheme other than VAT)."""
    tax_registration_scheme: str | None = None
    """BT-32 The tax scheme of the tax registration identifier, as the document states it (``TAX``, ``FC``, ...)."""
    legal_id: Identifier | None = None
    """BT-30, BT-47, BT-61 Legal registration identifier, with scheme."""
    legal_form: str | None = None
    """BT-33 Seller additional legal information."""
    address: Address | None = None
    """BG-5, BG-8, BG-12 Postal address."""
    contact: Contact | None = None
    """BG-6, BG-9 Contact."""


def party_id(party: Party) -> str | None:
    """How the hub knows a party (a customer to export for, a sender): its first party identifier,
    else its legal registration, VAT id, electronic address, or name; the first the invoice has."""
    for candidate in (
        party.ids[0].value if party.ids else None,
        party.legal_id.value if party.legal_id else None,
        party.vat_id,
        party.endpoint.value if party.endpoint else None,
        party.name or party.trading_name,
    ):
        if candidate:
            return candidate
    return None


class TaxCategory(ModelBase):
    """BG-30 Line VAT information; the VAT category of BG-20, BG-21 and BG-23."""

    code: str | None = None
    """BT-95, BT-102, BT-118, BT-151 VAT category code (S, Z, E, AE, K, G, O, L, M)."""
    rate: Decimal | None = None
    """BT-96, BT-103, BT-119, BT-152 VAT rate (percent)."""
    exemption_reason: str | None = None
    """BT-120 VAT exemption reason text."""
    exemption_code: str | None = None
    """BT-121 VAT exemption reason code."""
    scheme: str | None = None
    """Beyond EN 16931: the tax scheme (``cac:TaxScheme/cbc:ID``) as the document states it; empty means VAT."""


class AllowanceCharge(ModelBase):
    """BG-20 Document level allowances, BG-21 Document level charges, BG-27 Invoice line allowances, BG-28 Invoice line charges."""

    is_charge: bool
    """BG-20, BG-21, BG-27, BG-28 Whether this is a charge (BG-21, BG-28) or an allowance (BG-20, BG-27)."""
    amount: Decimal
    """BT-92, BT-99, BT-136, BT-141 Amount."""
    base_amount: Decimal | None = None
    """BT-93, BT-100, BT-137, BT-142 Base amount."""
    percent: Decimal | None = None
    """BT-94, BT-101, BT-138, BT-143 Percentage."""
    reason: str | None = None
    """BT-97, BT-104, BT-139, BT-144 Reason."""
    reason_code: str | None = None
    """BT-98, BT-105, BT-140, BT-145 Reason code."""
    tax: TaxCategory | None = None
    """BT-95, BT-96, BT-102, BT-103 VAT category code and rate (document level only)."""


class GlSegment(ModelBase):
    """One segment of a GL account (AP Agility's ``<GlSegment segmentNumber= name=>``); numbered by position."""

    value: str
    """Beyond EN 16931: the segment's value."""
    name: str | None = None
    """Beyond EN 16931: the segment's name."""


class Period(ModelBase):
    """BG-14 Invoicing period, BG-26 Invoice line period."""

    start: dt.date | None = None
    """BT-73, BT-134 Period start date."""
    end: dt.date | None = None
    """BT-74, BT-135 Period end date."""


class ItemAttribute(ModelBase):
    """BG-32 Item attributes."""

    name: str
    """BT-160 Item attribute name."""
    value: str
    """BT-161 Item attribute value."""


class Line(ModelBase):
    """BG-25 Invoice line, with its BG-29 Price details and BG-31 Item information as fields of the line."""

    id: str
    """BT-126 Invoice line identifier."""
    quantity: Decimal | None = None
    """BT-129 Invoiced quantity."""
    unit_code: str | None = None
    """BT-130 Invoiced quantity unit of measure code."""
    net_amount: Decimal | None = None
    """BT-131 Invoice line net amount."""
    price: Decimal | None = None
    """BT-146 Item net price."""
    price_base_quantity: Decimal | None = None
    """BT-149 Item price base quantity."""
    item_name: str | None = None
    """BT-153 Item name."""
    item_description: str | None = None
    """BT-154 Item description."""
    seller_item_id: str | None = None
    """BT-155 Item Seller's identifier."""
    buyer_item_id: str | None = None
    """BT-156 Item Buyer's identifier."""
    standard_item_id: Identifier | None = None
    """BT-157 Item standard identifier, with scheme."""
    classifications: list[Identifier] = Field(default_factory=list)
    """BT-158 Item classification identifier, with scheme and scheme version."""
    tax: TaxCategory | None = None
    """BG-30 Line VAT information."""
    accounting_cost: str | None = None
    """BT-133 Invoice line Buyer accounting reference (the buyer's GL account; AP Agility GlAccount)."""
    gl_segments: list[GlSegment] = Field(default_factory=list)
    """Beyond EN 16931: the segments of the GL account (AP Agility)."""
    charge_code: str | None = None
    """Beyond EN 16931: AP Agility's line charge code."""
    order_line_reference: str | None = None
    """BT-132 Referenced purchase order line reference."""
    note: str | None = None
    """BT-127 Invoice line note."""
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    """BG-27 Invoice line allowances, BG-28 Invoice line charges."""
    custom_fields: dict[str, str] = Field(default_factory=dict)
    """Beyond EN 16931: ERP line fields (Plant, CostCenter, ...)."""
    object_id: Identifier | None = None
    """BT-128 Invoice line object identifier, with scheme."""
    period: Period | None = None
    """BG-26 Invoice line period."""
    price_discount: Decimal | None = None
    """BT-147 Item price discount."""
    gross_price: Decimal | None = None
    """BT-148 Item gross price."""
    price_base_unit_code: str | None = None
    """BT-150 Item price base quantity unit of measure code."""
    origin_country: str | None = None
    """BT-159 Item country of origin."""
    attributes: list[ItemAttribute] = Field(default_factory=list)
    """BG-32 Item attributes."""


class TaxSubtotal(ModelBase):
    """BG-23 VAT breakdown."""

    taxable_amount: Decimal | None = None
    """BT-116 VAT category taxable amount."""
    tax_amount: Decimal | None = None
    """BT-117 VAT category tax amount."""
    category: TaxCategory | None = None
    """BT-118, BT-119, BT-120, BT-121 VAT category code, rate and exemption reason."""


class Totals(ModelBase):
    """BG-22 Document totals."""

    line_extension: Decimal | None = None
    """BT-106 Sum of Invoice line net amount."""
    tax_exclusive: Decimal | None = None
    """BT-109 Invoice total amount without VAT."""
    tax_inclusive: Decimal | None = None
    """BT-112 Invoice total amount with VAT."""
    allowances: Decimal | None = None
    """BT-107 Sum of allowances on document level."""
    charges: Decimal | None = None
    """BT-108 Sum of charges on document level."""
    prepaid: Decimal | None = None
    """BT-113 Paid amount."""
    rounding: Decimal | None = None
    """BT-114 Rounding amount."""
    payable: Decimal | None = None
    """BT-115 Amount due for payment."""
    tax: Decimal | None = None
    """BT-110 Invoice total VAT amount (in the document currency, BT-5)."""
    tax_in_tax_currency: Decimal | None = None
    """BT-111 Invoice total VAT amount in accounting currency (BT-6)."""


class Attachment(ModelBase):
    """BG-24 Additional supporting documents."""

    id: str | None = None
    """BT-122 Supporting document reference."""
    description: str | None = None
    """BT-123 Supporting document description."""
    filename: str | None = None
    """BT-125-2 Attached document filename."""
    mime_type: str | None = None
    """BT-125-1 Attached document mime code."""
    content: bytes | None = None
    """BT-125 Attached document, decoded; ``b""`` when the document embeds it empty, None when it embeds nothing."""
    uri: str | None = None
    """BT-124 External document location."""


class PaymentCard(ModelBase):
    """BG-18 Payment card information."""

    primary_account: str | None = None
    """BT-87 Payment card primary account number (PCI DSS: at most the last 4-6 digits)."""
    holder_name: str | None = None
    """BT-88 Payment card holder name."""
    network_id: str | None = None
    """Beyond EN 16931: the card network (UBL requires ``cbc:NetworkID``; PEPPOL's examples say ``NA``)."""


class DirectDebit(ModelBase):
    """BG-19 Direct debit (BT-90, the creditor identifier, is a party identifier with scheme SEPA)."""

    mandate_id: str | None = None
    """BT-89 Mandate reference identifier."""
    debited_account: str | None = None
    """BT-91 Debited account identifier."""


class PaymentMeans(ModelBase):
    """BG-16 Payment instructions, one per ``cac:PaymentMeans``; each carries one BG-17 Credit transfer."""

    code: str | None = None
    """BT-81 Payment means type code."""
    payment_id: str | None = None
    """BT-83 Remittance information."""
    account_id: str | None = None
    """BT-84 Payment account identifier (IBAN or account number), BG-17 Credit transfer."""
    account_name: str | None = None
    """BT-85 Payment account name."""
    bank_id: str | None = None
    """BT-86 Payment service provider identifier (BIC)."""
    text: str | None = None
    """BT-82 Payment means text."""
    card: PaymentCard | None = None
    """BG-18 Payment card information."""
    direct_debit: DirectDebit | None = None
    """BG-19 Direct debit."""


class Delivery(ModelBase):
    """BG-13 Delivery information."""

    party_name: str | None = None
    """BT-70 Deliver to party name."""
    location_id: Identifier | None = None
    """BT-71 Deliver to location identifier, with scheme."""
    date: dt.date | None = None
    """BT-72 Actual delivery date."""
    address: Address | None = None
    """BG-15 Deliver to address."""


class Invoice(ModelBase):
    """The invoice: EN 16931-1's semantic model (BT-1..BT-165, BG-1..BG-32)."""

    number: str
    """BT-1 Invoice number."""
    type: DocumentType = "invoice"
    """Beyond EN 16931: the syntax's document kind (UBL Invoice or CreditNote), which BT-3 implies."""
    type_code: str | None = None
    """BT-3 Invoice type code (UNCL 1001: 380, 381, 384, ...)."""
    issue_date: dt.date | None = None
    """BT-2 Invoice issue date."""
    due_date: dt.date | None = None
    """BT-9 Payment due date."""
    currency: str | None = None
    """BT-5 Invoice currency code."""
    tax_currency: str | None = None
    """BT-6 VAT accounting currency code."""
    customization_id: str | None = None
    """BT-24 Specification identifier."""
    profile_id: str | None = None
    """BT-23 Business process type."""
    buyer_reference: str | None = None
    """BT-10 Buyer reference."""
    order_reference: str | None = None
    """BT-13 Purchase order reference (the buyer's order number)."""
    sales_order_reference: str | None = None
    """BT-14 Sales order reference (the seller's order number)."""
    contract_reference: str | None = None
    """BT-12 Contract reference."""
    preceding_invoices: list[str] = Field(default_factory=list)
    """BG-3, BT-25 Preceding Invoice reference."""
    accounting_cost: str | None = None
    """BT-19 Buyer accounting reference."""
    notes: list[str] = Field(default_factory=list)
    """BG-1, BT-22 Invoice note; BT-21 Invoice note subject code is its ``#code#`` prefix, as in UBL."""
    payment_terms: str | None = None
    """BT-20 Payment terms."""
    payment_means: list[PaymentMeans] = Field(default_factory=list)
    """BG-16 Payment instructions (with BG-17 Credit transfer, several)."""
    seller: Party = Field(default_factory=Party)
    """BG-4 Seller."""
    buyer: Party = Field(default_factory=Party)
    """BG-7 Buyer."""
    payee: Party | None = None
    """BG-10 Payee."""
    tax_representative: Party | None = None
    """BG-11 Seller tax representative party."""
    lines: list[Line] = Field(default_factory=list)
    """BG-25 Invoice line."""
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    """BG-20 Document level allowances, BG-21 Document level charges."""
    tax_subtotals: list[TaxSubtotal] = Field(default_factory=list)
    """BG-23 VAT breakdown."""
    totals: Totals = Field(default_factory=Totals)
    """BG-22 Document totals."""
    attachments: list[Attachment] = Field(default_factory=list)
    """BG-24 Additional supporting documents."""
    custom_fields: dict[str, str] = Field(default_factory=dict)
    """Beyond EN 16931: ERP header fields (AP Agility's custom fields)."""
    tax_point_date: dt.date | None = None
    """BT-7 Value added tax point date."""
    tax_point_date_code: str | None = None
    """BT-8 Value added tax point date code (UNTDID 2005: 3, 35, 432)."""
    project_reference: str | None = None
    """BT-11 Project reference."""
    receiving_advice_reference: str | None = None
    """BT-15 Receiving advice reference."""
    despatch_advice_reference: str | None = None
    """BT-16 Despatch advice reference."""
    tender_reference: str | None = None
    """BT-17 Tender or lot reference."""
    invoiced_object: Identifier | None = None
    """BT-18 Invoiced object identifier, with scheme."""
    preceding_invoice_dates: dict[str, dt.date] = Field(default_factory=dict)
    """BT-26 Preceding Invoice issue date, by the preceding invoice's reference (BT-25)."""
    invoice_period: Period | None = None
    """BG-14 Invoicing period."""
    delivery: Delivery | None = None
    """BG-13 Delivery information."""


def as_text(value: object) -> str:
    """A model value as a text field holds it: Decimals in full (``12.50``), dates in ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def decimal_text(value: Decimal) -> str:
    """``value`` in plain notation (``12.50``, never ``1.25E+1``): what ``format(value, "f")`` gives.

    ``str()`` is that for every amount an invoice holds, and cheaper than ``format()``, which
    parses its format spec at every call (writers print hundreds of numbers a document); only what
    ``str()`` gives in scientific notation (``1E+2``, ``1E-7``) needs ``format()``.
    """
    text = str(value)
    return format(value, "f") if "E" in text else text
