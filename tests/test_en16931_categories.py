"""EN 16931 VAT category rules (Z, E, AE, K, G, O, L, M, B), each exercised both ways.

Every category starts from an invoice of that category alone that has no fatal finding at all: the
official PEPPOL examples for Z, E and O, and for the others the E example turned into the category (its
line and VAT breakdown recoded, with the rate, exemption reason, parties and delivery the category
needs). A case then makes the rule apply and checks that it holds (a document level allowance of the
category, ...), and breaks it and checks that it fires.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import NamedTuple

import pytest
from lxml import etree

from tests.test_en16931_rules import (
    BUY,
    EXAMPLES,
    L1,
    SUB,
    SUP,
    TOT,
    Mutation,
    _add_allowance,
    _line_category,
    add_tax_scheme,
    check_en16931,
    find,
    fired,
    load,
    nothing,
    q,
    remove,
    set_text,
)

PEPPOL = EXAMPLES / "peppol-bis3"


class Category(NamedTuple):
    """A VAT category as its rules read in EN 16931, stated here independently of the implementation."""

    prefix: str
    rate: str | None  # a valid rate (None: no rate allowed)
    bad_rate: str  # a rate the category forbids
    exactly_one: bool  # XX-01: exactly one breakdown of it (else: at least one)
    exemption: bool  # XX-10: an exemption reason is required (else forbidden)


CATEGORIES = {
    "Z": Category("BR-Z", "0", "5", True, False),
    "E": Category("BR-E", "0", "5", True, True),
    "AE": Category("BR-AE", "0", "5", True, True),
    "K": Category("BR-IC", "0", "5", True, True),
    "G": Category("BR-G", "0", "5", True, True),
    "O": Category("BR-O", None, "0", True, True),
    "L": Category("BR-AF", "7", "-1", False, False),
    "M": Category("BR-AG", "7", "-1", False, False),
}
#: The E example turned into another category: rate, exemption reason code (None: none allowed).
CONVERTED = {
    "AE": ("0", "VATEX-EU-AE"),
    "K": ("0", "VATEX-EU-IC"),
    "G": ("0", "VATEX-EU-G"),
    "L": ("7", None),
    "M": ("7", None),
    "B": ("22", None),
}


def category_invoice(code: str) -> etree._Element:
    """An invoice of VAT category ``code`` alone, with no fatal finding."""
    if code in ("Z", "E", "O"):
        return load(PEPPOL / f"examples_vat-category-{code}.xml")
    root = load(PEPPOL / "examples_vat-category-E.xml")
    rate, reason = CONVERTED[code]
    breakdown = find(root, f"{SUB}/cac:TaxCategory")
    for category in (breakdown, find(root, f"{L1}/cac:Item/cac:ClassifiedTaxCategory")):
        set_text(category, "cbc:ID", code)
        set_text(category, "cbc:Percent", rate)
    remove(breakdown, "cbc:TaxExemptionReasonCode")
    if reason:
        find(breakdown, "cbc:Percent").addnext(etree.Element(q("cbc:TaxExemptionReasonCode")))
        set_text(breakdown, "cbc:TaxExemptionReasonCode", reason)
    taxable = Decimal(find(root, f"{SUB}/cbc:TaxableAmount").text)
    tax = (taxable * Decimal(rate) / 100).quantize(Decimal("0.01"))
    for path in (f"{SUB}/cbc:TaxAmount", "cac:TaxTotal/cbc:TaxAmount"):
        set_text(root, path, str(tax))
    for path in (f"{TOT}/cbc:TaxInclusiveAmount", f"{TOT}/cbc:PayableAmount"):
        set_text(root, path, str(taxable + tax))
    if code in ("AE", "K"):  # the buyer's VAT identifier
        add_tax_scheme(root, BUY, "DK12345678")
    if code == "K":  # an intra-community supply: delivered when, and to which country
        delivery = etree.Element(q("cac:Delivery"))
        find(root, "cac:PaymentMeans").addprevious(delivery)
        set_text(delivery, "cbc:ActualDeliveryDate", "2018-08-20")
        set_text(delivery, "cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode", "DK")
    if code == "B":  # split payment: a domestic Italian invoice
        set_text(root, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "IT01234567890")
        for country in root.iter(q("cbc:IdentificationCode")):
            country.text = "IT"
    return root


# -- the ten rules every category has, XX-01 .. XX-10 ----------------------------------------------


def _category_allowance(code: str, charge: bool) -> Mutation:
    """A document level allowance (charge) of the category, of zero, with its total in the document."""

    def add(root: etree._Element) -> etree._Element:
        rate = CATEGORIES[code].rate if code in CATEGORIES else CONVERTED[code][0]
        ac = _add_allowance(root, charge, code, rate, amount="0.00")
        total = etree.Element(q("cbc:ChargeTotalAmount" if charge else "cbc:AllowanceTotalAmount"))
        find(root, f"{TOT}/cbc:PayableAmount").addprevious(total)
        total.text, currency = "0.00", find(root, "cbc:DocumentCurrencyCode").text
        total.set("currencyID", currency)
        return ac

    return add


def _break_parties(code: str) -> Mutation:
    """Take away the seller's VAT identifier the category needs (O: give the seller one it must not have)."""
    if code == "O":
        return lambda r: add_tax_scheme(r, SUP, "SE123456789001")
    return lambda r: remove(r, f"{SUP}/cac:PartyTaxScheme")


def _break_breakdown_count(code: str) -> Mutation:
    if CATEGORIES[code].exactly_one:  # a second breakdown of the category
        return lambda r: find(r, SUB).addnext(copy.deepcopy(find(r, SUB)))
    return lambda r: remove(r, SUB)  # none


def _set_ac_rate(rate: str) -> Mutation:
    return lambda r: set_text(r, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent", rate)


def _break_exemption(code: str) -> Mutation:
    if CATEGORIES[code].exemption:
        return lambda r: (
            remove(r, f"{SUB}/cac:TaxCategory/cbc:TaxExemptionReasonCode"),
            remove(r, f"{SUB}/cac:TaxCategory/cbc:TaxExemptionReason"),
        )
    return lambda r: set_text(r, f"{SUB}/cac:TaxCategory/cbc:TaxExemptionReason", "why")


def _common(code: str) -> dict[str, tuple[Mutation, Mutation]]:
    """XX-01 .. XX-10 of a category: rule -> (make it apply and hold, break it)."""
    category = CATEGORIES[code]
    allowance, charge = _category_allowance(code, False), _category_allowance(code, True)
    parties = _break_parties(code)
    cases = {
        "01": (nothing, _break_breakdown_count(code)),
        "02": (nothing, parties),
        "03": (allowance, parties),
        "04": (charge, parties),
        "05": (nothing, lambda r: _line_category(r, code, category.bad_rate)),
        "06": (allowance, _set_ac_rate(category.bad_rate)),
        "07": (charge, _set_ac_rate(category.bad_rate)),
        "08": (nothing, lambda r: set_text(r, f"{SUB}/cbc:TaxableAmount", "1.00")),
        "09": (nothing, lambda r: set_text(r, f"{SUB}/cbc:TaxAmount", "5.00")),
        "10": (nothing, _break_exemption(code)),
    }
    return {f"{category.prefix}-{number}": case for number, case in cases.items()}


def _other_category(code: str, rate: str) -> Mutation:
    """The document level allowance's category becomes ``code`` (rate ``rate``)."""
    return lambda r: (
        set_text(r, "cac:AllowanceCharge/cac:TaxCategory/cbc:ID", code),
        set_text(r, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent", rate),
    )


def _intra_community(root: etree._Element) -> None:
    """An intra-community supply with its delivery date in an invoicing period instead."""
    remove(root, "cac:Delivery/cbc:ActualDeliveryDate")
    period = etree.Element(q("cac:InvoicePeriod"))
    find(root, "cac:Delivery").addprevious(period)
    set_text(period, "cbc:StartDate", "2018-08-01")


#: rule -> (category, make the rule apply and hold, break it)
CASES: dict[str, tuple[str, Mutation, Mutation]] = {
    rule_id: (code, setup, mutate)
    for code in CATEGORIES
    for rule_id, (setup, mutate) in _common(code).items()
}
CASES |= {
    "BR-IC-11": ("K", nothing, lambda r: remove(r, "cac:Delivery/cbc:ActualDeliveryDate")),
    "BR-IC-12": ("K", _intra_community, lambda r: remove(r, "cac:Delivery/cac:DeliveryLocation")),
    "BR-O-11": (
        "O",
        nothing,
        lambda r: find(r, SUB).addnext(copy.deepcopy(find(category_invoice("Z"), SUB))),
    ),
    "BR-O-12": ("O", nothing, lambda r: _line_category(r, "E", "0")),
    "BR-O-13": ("O", _category_allowance("O", False), _other_category("E", "0")),
    "BR-O-14": ("O", _category_allowance("O", True), _other_category("E", "0")),
    "BR-B-01": (
        "B",
        nothing,
        lambda r: set_text(r, f"{BUY}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "SM"),
    ),
    "BR-B-02": ("B", _category_allowance("B", False), _other_category("S", "22")),
}


def fatal(root: etree._Element) -> set[str]:
    return {f.rule for f in check_en16931(root) if f.severity == "fatal"}


@pytest.mark.parametrize("code", [*CATEGORIES, "B"])
def test_each_category_invoice_has_no_fatal_finding(code: str) -> None:
    assert not fatal(category_invoice(code))


@pytest.mark.parametrize(
    ("rule_id", "code", "setup", "mutate"), [(r, *c) for r, c in CASES.items()], ids=list(CASES)
)
def test_category_rule_holds_then_fires(rule_id: str, code: str, setup: Mutation, mutate: Mutation) -> None:
    root = category_invoice(code)
    setup(root)
    assert not fatal(root), f"the {code} invoice made to exercise {rule_id} is not valid"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the broken {code} invoice"
