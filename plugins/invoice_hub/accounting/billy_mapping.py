"""billy's records as the canonical invoice (EN 16931): which billy field becomes which business term.

Library code without HTTP (``billy.py`` reads, this maps), so that every rule here is tested on
records alone. billy's field names are those of its API v2 documentation (see ``billy.py``).

- BT-1 ``invoiceNo``; BT-2 ``entryDate``; BT-9 ``dueDate``; BT-5 ``currencyId``; BT-3 380 for
  ``type: invoice``, 381 for ``type: creditNote`` (BT-25 the credited invoice's number,
  ``creditedInvoiceId`` looked up); BT-22 ``contactMessage``; BT-20 from ``paymentTermsMode`` and
  ``paymentTermsDays``.
- Seller (BG-4) from ``GET /v2/organization``: ``name``, ``street``/``zipcode``/``city``/``countryId``,
  ``registrationNo`` as the legal registration (BT-30) and, for a Danish company, the electronic
  address (BT-34) with scheme 0184 (DK CVR) and the VAT id ``DK`` + CVR (BT-31), ``email``/``phone``.
- Buyer (BG-7) from the sideloaded contact: ``name``, ``street``, ``zipcodeText``, ``cityText``,
  ``stateText``, ``countryId``; ``registrationNo`` as BT-47 (scheme 0184 in Denmark) and BT-48;
  ``ean`` as the electronic address (BT-49) with scheme 0088 (GLN), else the CVR with 0184;
  ``contactNo`` as the buyer reference (BT-10: "Kundenr.", what PEPPOL needs BT-10 or BT-13 for).
- Lines (BG-25) from the embedded ``lines``: ``quantity``, ``unit`` (as a UN/ECE Rec 20 code),
  ``unitPrice`` (BT-146), ``amount`` (BT-131; without VAT, also when ``taxMode`` is ``incl``: then
  ``amount - tax``), ``description`` (BT-153 its first line, BT-154 the whole when it has more),
  a discount (``discountMode``/``discountValue``/``discountText``) as a line allowance (BG-27), and
  ``taxRateId`` through ``GET /v2/taxRates`` (``rate`` is a fraction: 0.25 = 25 %) as VAT category
  S with the rate, or E (exempt, the rate's name as the reason) when the rate is 0.
- VAT breakdown (BG-23) and totals (BG-22) summed from the lines, then compared with billy's own
  ``amount``, ``tax`` and ``grossAmount``: a difference is a fatal finding, never a silent change.

What the model cannot hold is a finding naming the invoice: no lines, an unknown tax rate, no
currency, no buyer contact.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from invoice_hub.accounting import Customer
from invoice_hub.model import (
    Address,
    AllowanceCharge,
    Contact,
    Identifier,
    Invoice,
    Line,
    Party,
    TaxCategory,
    TaxSubtotal,
    Totals,
)
from invoice_hub.validation.findings import Finding

CENT = Decimal("0.01")
#: BT-24: the core EN 16931 specification (a PEPPOL output states its own).
EN16931 = "urn:cen.eu:en16931:2017"
#: ISO 6523 ICD / EAS codes of the identifiers billy holds.
GLN_SCHEME = "0088"
DK_CVR_SCHEME = "0184"
#: billy's line units -> UN/ECE Recommendation 20 (C62 "one" for what it does not name).
UNIT_CODES = {
    "pieces": "H87",
    "piece": "H87",
    "hours": "HUR",
    "hour": "HUR",
    "days": "DAY",
    "day": "DAY",
    "months": "MON",
    "month": "MON",
    "years": "ANN",
    "km": "KMT",
    "kg": "KGM",
    "m": "MTR",
    "m2": "MTK",
    "m3": "MTQ",
    "liters": "LTR",
    "packages": "XPK",
}
DEFAULT_UNIT = "C62"

#: The finding rule ids of records the model cannot hold (``BILLY-*``: a source's own findings).
NO_LINES = "BILLY-NO-LINES"
NO_CURRENCY = "BILLY-NO-CURRENCY"
NO_CONTACT = "BILLY-NO-CONTACT"
UNKNOWN_TAX_RATE = "BILLY-UNKNOWN-TAX-RATE"
TOTALS_DIFFER = "BILLY-TOTALS-DIFFER"
UNREADABLE = "BILLY-UNREADABLE"


@dataclass
class BillyBooks:
    """What every invoice of one organisation refers to: the organisation, its tax rates (by id), and
    the invoice numbers seen so far (by id: a credit note names its invoice by number)."""

    organization: dict[str, Any]
    tax_rates: dict[str, dict[str, Any]]
    invoice_numbers: dict[str, str] = field(default_factory=dict)
    _seller: Party | None = None

    @property
    def seller(self) -> Party:
        """The seller, built once for all invoices (10,000 invoices, one organisation). Shared, as
        every model value the hub passes on: nothing changes a model in place (mappings work on a
        dump and validate a new invoice)."""
        if self._seller is None:
            self._seller = organization_party(self.organization)
        return self._seller


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(value: Any) -> Decimal:
    return (_dec(value) or Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


_NOT_DIGITS = re.compile(r"\D")


def _digits(value: str | None) -> str:
    return _NOT_DIGITS.sub("", value) if value else ""


def _is_danish_cvr(country: str | None, registration: str | None) -> bool:
    return (country or "DK").upper() == "DK" and len(_digits(registration)) == 8


def _vat_id(country: str | None, registration: str | None) -> str | None:
    """``DK12345678`` for a Danish CVR; a foreign number that already starts with its country code."""
    if not registration:
        return None
    if _is_danish_cvr(country, registration):
        return "DK" + _digits(registration)
    compact = registration.replace(" ", "").upper()
    return compact if len(compact) > 2 and compact[:2].isalpha() else None


def organization_party(organization: Mapping[str, Any]) -> Party:
    """The seller (BG-4) from billy's organisation."""
    country = _text(organization.get("countryId"))
    registration = _text(organization.get("registrationNo"))
    cvr = _is_danish_cvr(country, registration)
    legal = Identifier(value=_digits(registration), scheme=DK_CVR_SCHEME) if cvr else None
    if registration and not cvr:
        legal = Identifier(value=registration)
    return Party(
        name=_text(organization.get("name")),
        endpoint=Identifier(value=_digits(registration), scheme=DK_CVR_SCHEME) if cvr else None,
        vat_id=_vat_id(country, registration),
        legal_id=legal,
        address=Address(
            street=_text(organization.get("street")),
            postal_zone=_text(organization.get("zipcode")),
            city=_text(organization.get("city")),
            country=country,
        ),
        contact=_contact(organization.get("email"), organization.get("phone")),
    )


def _contact(email: Any, phone: Any) -> Contact | None:
    email, phone = _text(email), _text(phone)
    return Contact(email=email, telephone=phone) if email or phone else None


def buyer_party(contact: Mapping[str, Any]) -> Party:
    """The buyer (BG-7) from a billy contact."""
    country = _text(contact.get("countryId"))
    registration = _text(contact.get("registrationNo"))
    cvr = _is_danish_cvr(country, registration)
    ean = _digits(_text(contact.get("ean")))
    endpoint = None
    if ean:
        endpoint = Identifier(value=ean, scheme=GLN_SCHEME)
    elif cvr:
        endpoint = Identifier(value=_digits(registration), scheme=DK_CVR_SCHEME)
    legal = None
    if cvr:
        legal = Identifier(value=_digits(registration), scheme=DK_CVR_SCHEME)
    elif registration:
        legal = Identifier(value=registration)
    return Party(
        name=_text(contact.get("name")),
        endpoint=endpoint,
        vat_id=_vat_id(country, registration) if contact.get("type", "company") == "company" else None,
        legal_id=legal,
        address=Address(
            street=_text(contact.get("street")),
            postal_zone=_text(contact.get("zipcodeText")),
            city=_text(contact.get("cityText")),
            subdivision=_text(contact.get("stateText")),
            country=country,
        ),
        contact=_contact(contact.get("email"), contact.get("phone")),
    )


def to_customer(contact: Mapping[str, Any]) -> Customer:
    return Customer(
        id=str(contact["id"]),
        name=_text(contact.get("name")) or str(contact["id"]),
        number=_text(contact.get("contactNo")),
        registration_no=_text(contact.get("registrationNo")),
        gln=_digits(_text(contact.get("ean"))) or None,
        country=_text(contact.get("countryId")),
        archived=bool(contact.get("isArchived")),
    )


def _payment_terms(record: Mapping[str, Any]) -> str | None:
    mode, days = record.get("paymentTermsMode"), record.get("paymentTermsDays")
    if mode == "net" and days is not None:
        return f"Net {days} days"
    if mode == "netEndOfMonth":
        return f"Net end of month + {days or 0} days"
    if mode == "lumpSum" or mode == "cash":
        return "Due on receipt"
    return None


def _tax_category(line: Mapping[str, Any], books: BillyBooks) -> TaxCategory | None:
    rate_id = line.get("taxRateId")
    if not rate_id:
        return TaxCategory(code="E", rate=Decimal(0), exemption_reason="Momsfri")
    rate = books.tax_rates.get(rate_id)
    if rate is None:
        return None
    percent = ((_dec(rate.get("rate")) or Decimal(0)) * 100).normalize()
    if percent == 0:
        return TaxCategory(code="E", rate=Decimal(0), exemption_reason=_text(rate.get("name")) or "Momsfri")
    return TaxCategory(
        code="S",
        rate=percent.quantize(CENT) if percent != percent.to_integral() else percent.quantize(Decimal(1)),
    )


def _finding(rule: str, record: Mapping[str, Any], message: str, where: str = "") -> Finding:
    number = record.get("invoiceNo") or "(no number)"
    return Finding(
        rule=rule,
        severity="fatal",
        message=f"billy invoice {number} (id {record.get('id')}): {message}",
        location=where or f"GET /v2/invoices/{record.get('id')}",
    )


def _line(
    index: int, line: Mapping[str, Any], record: Mapping[str, Any], sign: int, books: BillyBooks
) -> tuple[Line | None, Finding | None]:
    tax = _tax_category(line, books)
    where = f"GET /v2/invoices/{record.get('id')} lines[{index}]"
    if tax is None:
        return None, _finding(
            UNKNOWN_TAX_RATE,
            record,
            f"line {index + 1} has tax rate {line.get('taxRateId')!r}, which GET /v2/taxRates does not list; "
            "check the tax rate in billy",
            where,
        )
    quantity = _dec(line.get("quantity")) or Decimal(1)
    amount = _money(line.get("amount")) * sign
    line_tax = _money(line.get("tax")) * sign
    net = amount - line_tax if record.get("taxMode") == "incl" else amount
    description = _text(line.get("description")) or _text(record.get("lineDescription")) or "Item"
    name, _, _rest = description.partition("\n")
    allowances: list[AllowanceCharge] = []
    if record.get("taxMode") == "incl":
        price = (net / quantity).quantize(Decimal("0.0001")).normalize() if quantity else net
    else:
        price = abs(_dec(line.get("unitPrice")) or Decimal(0))
        gross = (quantity * price).quantize(CENT)
        difference = gross - net
        if difference:
            percent = _dec(line.get("discountValue")) if line.get("discountMode") == "percent" else None
            allowances.append(
                AllowanceCharge(
                    is_charge=difference < 0,
                    amount=abs(difference),
                    base_amount=gross if percent is not None else None,
                    percent=percent,
                    reason=_text(line.get("discountText")) or ("Discount" if difference > 0 else "Charge"),
                    reason_code="95" if difference > 0 else None,
                )
            )
    return (
        Line(
            id=str(index + 1),
            quantity=quantity,
            unit_code=UNIT_CODES.get(str(line.get("unit") or "").lower(), DEFAULT_UNIT),
            net_amount=net,
            price=price,
            item_name=name.strip()[:200] or "Item",
            item_description=description if "\n" in description else None,
            tax=tax,
            allowances_charges=allowances,
        ),
        None,
    )


def map_invoice(
    record: Mapping[str, Any], contact: Mapping[str, Any] | None, books: BillyBooks
) -> tuple[Invoice | None, list[Finding]]:
    """The canonical invoice of a billy invoice or credit note, or None with the findings saying why."""
    findings: list[Finding] = []
    lines_data = record.get("lines")
    if not lines_data:
        findings.append(
            _finding(NO_LINES, record, "has no lines (was it approved empty?); add lines in billy or void it")
        )
    currency = _text(record.get("currencyId"))
    if not currency:
        findings.append(_finding(NO_CURRENCY, record, "has no currencyId"))
    if contact is None:
        findings.append(
            _finding(
                NO_CONTACT, record, f"its contact {record.get('contactId')!r} was not sideloaded with it"
            )
        )
    credit = record.get("type") == "creditNote"
    sign = -1 if credit and (_dec(record.get("grossAmount")) or Decimal(0)) < 0 else 1
    lines: list[Line] = []
    for index, line_data in enumerate(lines_data or ()):
        line, problem = _line(index, line_data, record, sign, books)
        if problem is not None:
            findings.append(problem)
        elif line is not None:
            lines.append(line)
    if findings:
        return None, findings
    try:
        invoice = _invoice(record, contact or {}, books, lines, credit, sign)
    except (ValueError, ArithmeticError) as exc:  # pydantic's ValidationError is a ValueError
        return None, [_finding(UNREADABLE, record, f"cannot be read: {exc}")]
    totals_problem = _totals_differ(record, invoice, sign)
    if totals_problem is not None:
        return None, [totals_problem]
    return invoice, []


def _invoice(
    record: Mapping[str, Any],
    contact: Mapping[str, Any],
    books: BillyBooks,
    lines: list[Line],
    credit: bool,
    sign: int,
) -> Invoice:
    subtotals: dict[tuple[str, Decimal], list[Decimal]] = {}
    reasons: dict[tuple[str, Decimal], str | None] = {}
    for line in lines:
        assert line.tax is not None and line.tax.code is not None and line.net_amount is not None
        key = (line.tax.code, line.tax.rate or Decimal(0))
        subtotals.setdefault(key, []).append(line.net_amount)
        reasons[key] = line.tax.exemption_reason
    tax_subtotals = []
    for (code, rate), nets in subtotals.items():
        taxable = sum(nets, Decimal(0))
        tax = (taxable * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)  # as billy and the rules round
        tax_subtotals.append(
            TaxSubtotal(
                taxable_amount=taxable,
                tax_amount=tax,
                category=TaxCategory(code=code, rate=rate, exemption_reason=reasons[(code, rate)]),
            )
        )
    line_total = sum((line.net_amount or Decimal(0) for line in lines), Decimal(0))
    tax_total = sum((s.tax_amount or Decimal(0) for s in tax_subtotals), Decimal(0))
    credited = record.get("creditedInvoiceId")
    preceding = [books.invoice_numbers.get(credited, credited)] if credit and credited else []
    entry = record.get("entryDate")
    notes = [n for n in (_text(record.get("contactMessage")),) if n]
    return Invoice(
        number=str(record.get("invoiceNo") or record.get("id")),
        type="credit_note" if credit else "invoice",
        type_code="381" if credit else "380",
        customization_id=EN16931,
        issue_date=dt.date.fromisoformat(entry) if entry else None,
        due_date=dt.date.fromisoformat(record["dueDate"]) if record.get("dueDate") and not credit else None,
        currency=_text(record.get("currencyId")),
        buyer_reference=_text(contact.get("contactNo")),
        preceding_invoices=[p for p in preceding if p],
        notes=notes,
        payment_terms=_payment_terms(record),
        seller=books.seller,
        buyer=buyer_party(contact),
        lines=lines,
        tax_subtotals=tax_subtotals,
        totals=Totals(
            line_extension=line_total,
            tax_exclusive=line_total,
            tax=tax_total,
            tax_inclusive=line_total + tax_total,
            payable=line_total + tax_total,
        ),
    )


def _totals_differ(record: Mapping[str, Any], invoice: Invoice, sign: int) -> Finding | None:
    """billy's own totals against those the lines add up to (a rounding cent per VAT rate is billy's
    per-line rounding and is allowed; more means the lines do not say what billy booked)."""
    tolerance = CENT * max(1, len(invoice.tax_subtotals))
    theirs = {
        "amount": _money(record.get("amount")) * sign,
        "tax": _money(record.get("tax")) * sign,
        "grossAmount": _money(record.get("grossAmount")) * sign,
    }
    ours = {
        "amount": invoice.totals.tax_exclusive or Decimal(0),
        "tax": invoice.totals.tax or Decimal(0),
        "grossAmount": invoice.totals.tax_inclusive or Decimal(0),
    }
    for name, value in theirs.items():
        if record.get(name) is not None and abs(value - ours[name]) > tolerance:
            return _finding(
                TOTALS_DIFFER,
                record,
                f"billy's {name} is {value} but its lines add up to {ours[name]}; the lines do not say "
                "what billy booked (a discount or fee on the invoice itself?), so it is not exported",
            )
    return None
