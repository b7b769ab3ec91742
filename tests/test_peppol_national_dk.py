"""PEPPOL BIS 3 national rules for Denmark (DK-R-*): each passes on a Danish invoice and fires on a
mutation of it.

The Danish invoice (or credit note) is the official base example with seller and buyer in Denmark,
the seller's CVR number (scheme 0184) as legal identifier, scheme ids on the party identifiers and
a domestic bank transfer (31) with account and registration number; it passes every DK rule. Each
case builds the document that makes its rule apply and hold, checks that, then breaks it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.en16931.registry import RULES
from invoice_hub.validation.peppol import check_peppol
from invoice_hub.validation.peppol.national.denmark import _tax_reason_ok
from tests.peppol_helpers import find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
Make = Callable[[], etree._Element]
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
PM = "cac:PaymentMeans"
COUNTRY = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
CREDIT_NOTE = "examples_base-creditnote-correction.xml"


def danish(example: str = "examples_base-example.xml") -> etree._Element:
    """The base example (or credit note), seller and buyer in Denmark, meeting every DK rule."""
    root = load(example)
    for party, vat in ((SUP, "DK12345678"), (BUY, "DK87654321")):
        set_text(root, f"{party}/{COUNTRY}", "DK")
        set_text(root, f"{party}/cac:PartyTaxScheme/cbc:CompanyID", vat)
    set_text(root, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", "12345678")
    find(root, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "0184")
    find(root, f"{SUP}/cac:PartyIdentification/cbc:ID").set("schemeID", "0184")
    set_text(root, f"{PM}/cbc:PaymentMeansCode", "31")
    return root


def _means(code: str, payment_id: str | None = None, account: str | None = None) -> Make:
    """A Danish invoice paid by ``code``, with that payment id and payee account."""

    def make() -> etree._Element:
        root = danish()
        set_text(root, f"{PM}/cbc:PaymentMeansCode", code)
        if payment_id is not None:
            set_text(root, f"{PM}/cbc:PaymentID", payment_id)
        if account is not None:
            set_text(root, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", account)
        return root

    return make


def _mandate() -> etree._Element:
    """Direct debit by Betalingsservice (49): mandate and payer account."""
    root = _means("49")()
    set_text(root, f"{PM}/cac:PaymentMandate/cbc:ID", "MANDATE-1")
    set_text(root, f"{PM}/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID", "12345678")
    return root


def _classified(version: str) -> Make:
    def make() -> etree._Element:
        root = danish()
        code = find(root, "cac:InvoiceLine/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode")
        code.set("listID", "TST")
        code.set("listVersionID", version)
        return root

    return make


def _tax_charge(reason: str) -> Make:
    """A Danish invoice whose document level charge is a non-VAT tax (reason code ZZZ)."""

    def make() -> etree._Element:
        root = danish()
        _set_tax_reason(root, reason)
        return root

    return make


def _set_tax_reason(root: etree._Element, reason: str) -> None:
    charge = find(root, "cac:AllowanceCharge")
    if charge.find(q("cbc:AllowanceChargeReasonCode")) is None:
        code = etree.Element(q("cbc:AllowanceChargeReasonCode"))
        find(charge, "cbc:AllowanceChargeReason").addprevious(code)
        code.text = "ZZZ"
    find(charge, "cbc:AllowanceChargeReason").text = reason


#: (rule, the document where it applies and holds, mutation that breaks it)
CASES: list[tuple[str, Make, Mutation]] = [
    ("DK-R-002", danish, lambda r: remove(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID")),
    ("DK-R-002", danish, lambda r: set_text(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", " ")),
    ("DK-R-014", danish, lambda r: find(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID").attrib.pop("schemeID")),
    ("DK-R-014", danish, lambda r: find(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "0088")),
    ("DK-R-016", lambda: danish(CREDIT_NOTE), lambda r: set_text(r, "cac:LegalMonetaryTotal/cbc:PayableAmount", "-1656.25")),
    ("DK-R-013", danish, lambda r: find(r, f"{SUP}/cac:PartyIdentification/cbc:ID").attrib.pop("schemeID")),
    ("DK-R-013", danish, lambda r: find(r, f"{BUY}/cac:PartyIdentification/cbc:ID").set("schemeID", " ")),
    ("DK-R-005", danish, lambda r: set_text(r, f"{PM}/cbc:PaymentMeansCode", "30")),
    ("DK-R-005", danish, lambda r: set_text(r, f"{PM}/cbc:PaymentMeansCode", " 31")),  # as written
    ("DK-R-006", danish, lambda r: remove(r, f"{PM}/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch")),
    ("DK-R-006", _means("42"), lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", " ")),
    ("DK-R-007", _mandate, lambda r: remove(r, f"{PM}/cac:PaymentMandate/cac:PayerFinancialAccount")),
    ("DK-R-007", _mandate, lambda r: remove(r, f"{PM}/cac:PaymentMandate/cbc:ID")),
    ("DK-R-008", _means("50", "01#1234", "1234567"), lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "123456")),
    ("DK-R-008", _means("50", "01#1234", "12345678"), lambda r: set_text(r, f"{PM}/cbc:PaymentID", "02#1234")),
    ("DK-R-009", _means("50", "04#1234567890123456", "12345678"), lambda r: set_text(r, f"{PM}/cbc:PaymentID", "04#123456789012345")),
    ("DK-R-009", _means("50", "15#1234567890123456", "12345678"), lambda r: set_text(r, f"{PM}/cbc:PaymentID", "15#12")),
    ("DK-R-010", _means("93", "71#123456789012345", "12345678"), lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "1234567")),
    ("DK-R-010", _means("93", "73#1", "ABCDEFGH"), lambda r: set_text(r, f"{PM}/cbc:PaymentID", "74#1")),
    ("DK-R-011", _means("93", "71#123456789012345", "12345678"), lambda r: set_text(r, f"{PM}/cbc:PaymentID", "71#12345")),
    ("DK-R-011", _means("93", "75#1234567890123456", "12345678"), lambda r: set_text(r, f"{PM}/cbc:PaymentID", "75#12345678901234567")),
    ("DK-R-003", _classified("19.05.01"), lambda r: find(r, "cac:InvoiceLine/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode").set("listVersionID", "18.0")),
    ("DK-R-003", _classified("26.0801"), lambda r: find(r, "cac:InvoiceLine/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode").attrib.pop("listVersionID")),
    ("DK-R-004", _tax_charge("0050"), lambda r: _set_tax_reason(r, "50")),
    ("DK-R-004", _tax_charge("Afgift#50"), lambda r: _set_tax_reason(r, "#Afgift50")),
    ("DK-R-004", _tax_charge("9999"), lambda r: _set_tax_reason(r, "Afgift50#")),
    ("DK-R-004", _tax_charge("0001"), lambda r: _set_tax_reason(r, "-001")),
]  # fmt: skip

COVERED_RULES = frozenset(rule_id for rule_id, _, _ in CASES)
DK_RULES = {rule_id for rule_id in RULES if rule_id.startswith("DK-R-")}
SELLER_RULES = {"DK-R-002", "DK-R-014", "DK-R-016"}


def _dk(root: etree._Element) -> set[str]:
    return {rule_id for rule_id in fired(root) if rule_id.startswith("DK-R-")}


def test_the_danish_invoice_and_credit_note_meet_every_dk_rule() -> None:
    assert _dk(danish()) == set()
    assert _dk(danish(CREDIT_NOTE)) == set()


def test_every_dk_rule_has_a_case() -> None:
    assert COVERED_RULES == DK_RULES
    assert len(DK_RULES) == 13


@pytest.mark.parametrize(("rule_id", "make", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, make: Make, mutate: Mutation) -> None:
    root = make()
    assert _dk(root) == set(), f"{rule_id}: the set-up breaks a DK rule"
    mutate(root)
    assert rule_id in _dk(root), f"{rule_id} does not fire on the mutated example"


@pytest.mark.parametrize(("rule_id", "make", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rules_follow_the_seller_and_buyer_country(rule_id: str, make: Make, mutate: Mutation) -> None:
    """A seller outside Denmark: no DK rule; a buyer outside Denmark: only the seller's rules."""
    root = make()
    set_text(root, f"{BUY}/{COUNTRY}", "SE")
    mutate(root)
    assert _dk(root) <= SELLER_RULES
    assert (rule_id in _dk(root)) == (rule_id in SELLER_RULES - {"DK-R-016"})
    root = make()
    set_text(root, f"{SUP}/{COUNTRY}", "DK ")  # compared as written: not Denmark
    mutate(root)
    assert _dk(root) == set()


def test_a_negative_invoice_is_no_negative_credit_note() -> None:
    root = danish()
    set_text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount", "-1")
    assert "DK-R-016" not in _dk(root)


def test_payment_means_of_a_credit_note_are_not_checked() -> None:
    root = danish(CREDIT_NOTE)
    set_text(root, f"{PM}/cbc:PaymentMeansCode", "30")
    assert _dk(root) == set()


def test_tax_reason_is_checked_on_line_allowances_too() -> None:
    root = danish()
    line = find(root, "cac:InvoiceLine")
    charge = etree.Element(q("cac:AllowanceCharge"))
    find(line, "cac:Item").addprevious(charge)
    for name, value in (("ChargeIndicator", "false"), ("AllowanceChargeReasonCode", "ZZZ")):
        etree.SubElement(charge, q(f"cbc:{name}")).text = value
    etree.SubElement(charge, q("cbc:AllowanceChargeReason")).text = "#50"
    finding = next(f for f in check_peppol(root) if f.rule == "DK-R-004")
    assert finding.location == "/Invoice/cac:InvoiceLine[1]/cac:AllowanceCharge"


# -- properties: DK-R-004's reason texts, on generated values -------------------------------------


def _zzz(reason: str) -> etree._Element:
    charge = etree.Element(q("cac:AllowanceCharge"))
    etree.SubElement(charge, q("cbc:AllowanceChargeReasonCode")).text = "ZZZ"
    etree.SubElement(charge, q("cbc:AllowanceChargeReason")).text = reason
    return charge


@given(st.integers(0, 9999))
def test_a_four_character_tax_category_number_passes(number: int) -> None:
    assert _tax_reason_ok(_zzz(f"{number:04d}"))
    assert _tax_reason_ok(_zzz(f" {number:04d} "))  # its length is counted trimmed


@given(st.integers(0, 999))
def test_a_shorter_number_fails(number: int) -> None:
    assert not _tax_reason_ok(_zzz(str(number)))


_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=0xD7FF, blacklist_characters="#"), min_size=1
)  # XML text


@given(_TEXT, _TEXT)
def test_an_inner_hash_passes_an_outer_one_fails(before: str, after: str) -> None:
    assert _tax_reason_ok(_zzz(f"{before}#{after}"))
    assert not _tax_reason_ok(_zzz(f"#{before}{after}"))
    assert not _tax_reason_ok(_zzz(f"{before}{after}#"))
