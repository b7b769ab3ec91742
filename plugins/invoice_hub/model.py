"""The canonical invoice: what every format reads into and writes from.

Amounts and quantities are ``Decimal`` (never float); codes are kept as the document states them
(unit codes, VAT categories, scheme ids), so that a reader followed by a writer loses nothing the
model knows about. Fields are optional where EN 16931 allows them to be missing: validation, not
reading, decides whether a document is complete.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DocumentType = Literal["invoice", "credit_note"]


class ModelBase(BaseModel):
    # JSON (the document store) carries binary attachments as base64.
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, ser_json_bytes="base64", val_json_bytes="base64"
    )


class Identifier(ModelBase):
    value: str
    scheme: str | None = None  # e.g. "0088" (GLN), "0192" (Norwegian org. number)


class Address(ModelBase):
    street: str | None = None
    additional_street: str | None = None
    city: str | None = None
    postal_zone: str | None = None
    subdivision: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2


class Contact(ModelBase):
    name: str | None = None
    telephone: str | None = None
    email: str | None = None


class Party(ModelBase):
    name: str | None = None  # registration (legal) name
    trading_name: str | None = None
    endpoint: Identifier | None = None  # electronic address
    ids: list[Identifier] = Field(default_factory=list)
    vat_id: str | None = None
    tax_registration_id: str | None = None  # a tax scheme other than VAT
    legal_id: Identifier | None = None
    address: Address | None = None
    contact: Contact | None = None


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
    code: str | None = None  # S, Z, E, AE, K, G, O, L, M
    rate: Decimal | None = None
    exemption_reason: str | None = None
    exemption_code: str | None = None


class AllowanceCharge(ModelBase):
    is_charge: bool
    amount: Decimal
    base_amount: Decimal | None = None
    percent: Decimal | None = None
    reason: str | None = None
    reason_code: str | None = None
    tax: TaxCategory | None = None


class GlSegment(ModelBase):
    """One segment of a GL account (AP Agility's ``<GlSegment segmentNumber= name=>``); numbered by position."""

    value: str
    name: str | None = None


class Line(ModelBase):
    id: str
    quantity: Decimal | None = None
    unit_code: str | None = None
    net_amount: Decimal | None = None
    price: Decimal | None = None
    price_base_quantity: Decimal | None = None
    item_name: str | None = None
    item_description: str | None = None
    seller_item_id: str | None = None
    buyer_item_id: str | None = None
    standard_item_id: Identifier | None = None
    classifications: list[Identifier] = Field(default_factory=list)
    tax: TaxCategory | None = None
    accounting_cost: str | None = None  # the buyer's GL account (UBL BT-133, AP Agility GlAccount)
    gl_segments: list[GlSegment] = Field(default_factory=list)
    charge_code: str | None = None
    order_line_reference: str | None = None
    note: str | None = None
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    custom_fields: dict[str, str] = Field(default_factory=dict)  # ERP line fields (Plant, CostCenter, ...)


class TaxSubtotal(ModelBase):
    taxable_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    category: TaxCategory | None = None


class Totals(ModelBase):
    line_extension: Decimal | None = None
    tax_exclusive: Decimal | None = None
    tax_inclusive: Decimal | None = None
    allowances: Decimal | None = None
    charges: Decimal | None = None
    prepaid: Decimal | None = None
    rounding: Decimal | None = None
    payable: Decimal | None = None
    tax: Decimal | None = None  # total VAT in the document currency


class Attachment(ModelBase):
    id: str | None = None
    description: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    content: bytes | None = None  # decoded; None when only referenced by URI
    uri: str | None = None


class PaymentMeans(ModelBase):
    code: str | None = None
    payment_id: str | None = None
    account_id: str | None = None  # IBAN or account number
    account_name: str | None = None
    bank_id: str | None = None  # BIC


class Invoice(ModelBase):
    number: str
    type: DocumentType = "invoice"
    type_code: str | None = None  # UNCL 1001: 380, 381, 384, ...
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    currency: str | None = None
    tax_currency: str | None = None
    customization_id: str | None = None
    profile_id: str | None = None
    buyer_reference: str | None = None
    order_reference: str | None = None  # the buyer's order number
    sales_order_reference: str | None = None  # the seller's order number
    contract_reference: str | None = None
    preceding_invoices: list[str] = Field(default_factory=list)
    accounting_cost: str | None = None
    notes: list[str] = Field(default_factory=list)
    payment_terms: str | None = None
    payment_means: list[PaymentMeans] = Field(default_factory=list)
    seller: Party = Field(default_factory=Party)
    buyer: Party = Field(default_factory=Party)
    payee: Party | None = None
    tax_representative: Party | None = None
    lines: list[Line] = Field(default_factory=list)
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    tax_subtotals: list[TaxSubtotal] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    attachments: list[Attachment] = Field(default_factory=list)
    custom_fields: dict[str, str] = Field(default_factory=dict)


def as_text(value: object) -> str:
    """A model value as a text field holds it: Decimals in full (``12.50``), dates in ISO, None empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
