"""PEPPOL BIS 3 national rules for Iceland (IS-R-*): each passes on an Icelandic invoice and fires on a
mutation of it.

The Icelandic invoice is the official base example with seller and buyer in Iceland, each with a
kennitala (scheme 0196) as legal identifier; it passes every IS rule. Each case builds the document
that makes its rule apply and hold (a bank claim, an EINDAGI, ...), checks that, then breaks it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.en16931.registry import RULES
from invoice_hub.validation.peppol import check_peppol
from tests.peppol_helpers import ensure, find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
Make = Callable[[], etree._Element]
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
PM = "cac:PaymentMeans"
COUNTRY = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
EINDAGI_ID = "cac:AdditionalDocumentReference/cbc:ID"


def icelandic(example: str = "examples_base-example.xml") -> etree._Element:
    """The base example (or credit note), seller and buyer in Iceland, meeting every IS rule."""
    root = load(example)
    for party, vat, kennitala in ((SUP, "IS12345", "5902697199"), (BUY, "IS54321", "4710080280")):
        set_text(root, f"{party}/{COUNTRY}", "IS")
        set_text(root, f"{party}/cac:PartyTaxScheme/cbc:CompanyID", vat)
        set_text(root, f"{party}/cac:PartyLegalEntity/cbc:CompanyID", kennitala)
        find(root, f"{party}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "0196")
    return root


def _means(code: str, account: str) -> Make:
    def make() -> etree._Element:
        root = icelandic()
        set_text(root, f"{PM}/cbc:PaymentMeansCode", code)
        set_text(root, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", account)
        return root

    return make


def _eindagi(date: str = "2017-12-15") -> Make:
    """An Icelandic invoice due 2017-12-01 whose claim is due (eindagi) on ``date``."""

    def make() -> etree._Element:
        root = icelandic()
        reference = etree.Element(q("cac:AdditionalDocumentReference"))
        find(root, "cac:AccountingSupplierParty").addprevious(reference)
        ensure(reference, "cbc:ID").text = date
        ensure(reference, "cbc:DocumentDescription").text = "EINDAGI"
        return root

    return make


#: (rule, the document where it applies and holds, mutation that breaks it)
CASES: list[tuple[str, Make, Mutation]] = [
    ("IS-R-001", icelandic, lambda r: set_text(r, "cbc:InvoiceTypeCode", "383")),
    ("IS-R-001", lambda: icelandic("examples_base-creditnote-correction.xml"), lambda r: set_text(r, "cbc:CreditNoteTypeCode", "381 381")),
    ("IS-R-002", icelandic, lambda r: find(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "0088")),
    ("IS-R-002", icelandic, lambda r: remove(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID")),
    ("IS-R-003", icelandic, lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:StreetName")),
    ("IS-R-003", icelandic, lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:PostalZone")),
    ("IS-R-006", _means("9", " 012326123456 "), lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "01232612345")),
    ("IS-R-006", _means("9", "012326123456"), lambda r: remove(r, f"{PM}/cac:PayeeFinancialAccount")),
    ("IS-R-007", _means("42", "012326123456"), lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "0123261234567")),
    ("IS-R-008", _eindagi(), lambda r: set_text(r, EINDAGI_ID, "2017-12-1")),
    ("IS-R-008", _eindagi(), lambda r: set_text(r, EINDAGI_ID, "2017-02-30")),  # ten characters, no date
    ("IS-R-009", _eindagi(), lambda r: remove(r, "cbc:DueDate")),
    ("IS-R-010", _eindagi(), lambda r: set_text(r, EINDAGI_ID, "2017-11-30")),
    ("IS-R-010", _eindagi("2017-12-01"), lambda r: set_text(r, "cbc:DueDate", "2017-12-02")),
    ("IS-R-004", icelandic, lambda r: find(r, f"{BUY}/cac:PartyLegalEntity/cbc:CompanyID").attrib.pop("schemeID")),
    ("IS-R-005", icelandic, lambda r: remove(r, f"{BUY}/cac:PostalAddress/cbc:StreetName")),
    ("IS-R-005", icelandic, lambda r: remove(r, f"{BUY}/cac:PostalAddress/cbc:PostalZone")),
]  # fmt: skip

COVERED_RULES = frozenset(rule_id for rule_id, _, _ in CASES)
IS_RULES = {rule_id for rule_id in RULES if rule_id.startswith("IS-R-")}
BUYER_RULES = {"IS-R-004", "IS-R-005"}


def _is(root: etree._Element) -> set[str]:
    return {rule_id for rule_id in fired(root) if rule_id.startswith("IS-R-")}


def test_the_icelandic_invoice_and_credit_note_meet_every_is_rule() -> None:
    assert _is(icelandic()) == set()
    assert _is(icelandic("examples_base-creditnote-correction.xml")) == set()


def test_every_is_rule_has_a_case() -> None:
    assert COVERED_RULES == IS_RULES
    assert len(IS_RULES) == 10


@pytest.mark.parametrize(("rule_id", "make", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, make: Make, mutate: Mutation) -> None:
    root = make()
    assert _is(root) == set(), f"{rule_id}: the set-up breaks an IS rule"
    mutate(root)
    assert rule_id in _is(root), f"{rule_id} does not fire on the mutated example"


@pytest.mark.parametrize(("rule_id", "make", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rules_follow_the_seller_and_buyer_country(rule_id: str, make: Make, mutate: Mutation) -> None:
    """A buyer outside Iceland: no buyer rule; a seller outside it (``is`` is not ``IS``): no rule."""
    root = make()
    set_text(root, f"{BUY}/{COUNTRY}", "NO")
    mutate(root)
    assert (rule_id in _is(root)) == (rule_id not in BUYER_RULES)
    root = make()
    set_text(root, f"{SUP}/{COUNTRY}", "is")
    mutate(root)
    assert _is(root) == set()


def test_only_the_named_payment_means_need_a_twelve_character_account() -> None:
    root = _means("30", "123")()
    assert _is(root) == set()


def test_finding_names_the_rule_without_its_prefix() -> None:
    root = icelandic()
    set_text(root, "cbc:InvoiceTypeCode", "383")
    finding = next(f for f in check_peppol(root) if f.rule == "IS-R-001")
    assert finding.severity == "warning"
    assert finding.message.startswith("If seller is icelandic then invoice type should be 380 or 381 —")


# -- property: the EINDAGI against the due date, on generated dates --------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31)), st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31))
)
def test_the_eindagi_is_a_date_not_before_the_due_date(due: dt.date, eindagi: dt.date) -> None:
    root = _eindagi(eindagi.isoformat())()
    set_text(root, "cbc:DueDate", due.isoformat())
    fired_rules = _is(root)
    assert "IS-R-008" not in fired_rules
    assert ("IS-R-010" in fired_rules) == (eindagi < due)
