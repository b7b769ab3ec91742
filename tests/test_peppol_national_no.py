"""PEPPOL national rules for Norway (NO-R-*): each passes on the official Norwegian example and fires
on a mutation of it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.peppol import check_peppol
from tests.peppol_helpers import ensure, find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
NORWEGIAN = "national-examples_NO_Norwegian-example-1.xml"
SUP = "cac:AccountingSupplierParty/cac:Party"
VAT = f"{SUP}/cac:PartyTaxScheme[1]/cbc:CompanyID"  # NO123456785MVA
REGISTER = f"{SUP}/cac:PartyTaxScheme[2]"  # Foretaksregisteret, tax scheme TAX

CASES: list[tuple[str, Mutation]] = [
    ("NO-R-001", lambda r: set_text(r, VAT, "NO123456784MVA")),  # wrong check digit
    ("NO-R-002", lambda r: remove(r, REGISTER)),
]
COVERED_RULES = frozenset(rule for rule, _ in CASES)


def _no(root: etree._Element) -> set[str]:
    return {rule for rule in fired(root) if rule.startswith("NO-")}


def test_the_norwegian_example_passes_every_no_rule() -> None:
    assert _no(load(NORWEGIAN)) == set()


@pytest.mark.parametrize(("rule_id", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, mutate: Mutation) -> None:
    root = load(NORWEGIAN)
    assert rule_id not in fired(root), f"{rule_id} fires on the Norwegian example"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the mutated example"


@pytest.mark.parametrize(
    "vat",
    ["NO123456785", "NO12345678MVA", "NO123456785mva", "NO123456785MVA ", "NO000000000MVA", "NOABCDEFGHIMVA"],
)
def test_a_norwegian_vat_number_is_no_organisation_number_mva(vat: str) -> None:
    root = load(NORWEGIAN)
    set_text(root, VAT, vat)
    assert "NO-R-001" in fired(root)


def test_the_register_statement_is_compared_trimmed() -> None:
    root = load(NORWEGIAN)
    set_text(root, f"{REGISTER}/cbc:CompanyID", "  Foretaksregisteret ")
    assert "NO-R-002" not in fired(root)
    set_text(root, f"{REGISTER}/cbc:CompanyID", "foretaksregisteret")
    assert "NO-R-002" in fired(root)


def test_the_warning_is_a_warning() -> None:
    root = load(NORWEGIAN)
    remove(root, REGISTER)
    assert {f.severity for f in check_peppol(root) if f.rule == "NO-R-002"} == {"warning"}


def test_seller_country_follows_the_vat_number_first() -> None:
    """A seller at a Norwegian address with a Swedish VAT number is Swedish to the schematron."""
    root = load(NORWEGIAN)
    set_text(root, VAT, "SE556036079301")
    remove(root, REGISTER)
    assert _no(root) == set()


def test_without_vat_numbers_the_address_makes_the_seller_norwegian() -> None:
    root = load(NORWEGIAN)
    remove(root, f"{SUP}/cac:PartyTaxScheme")
    assert _no(root) == {"NO-R-002"}  # Norwegian by its tax representative's VAT number
    remove(root, "cac:TaxRepresentativeParty/cac:PartyTaxScheme")
    assert _no(root) == {"NO-R-002"}  # by its address
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "DK")
    assert _no(root) == set()


def test_a_norwegian_tax_representative_makes_the_seller_norwegian() -> None:
    root = load("examples_base-example.xml")
    assert _no(root) == set()
    remove(root, f"{SUP}/cac:PartyTaxScheme")
    representative = etree.Element(q("cac:TaxRepresentativeParty"))
    find(root, "cac:AccountingCustomerParty").addnext(representative)
    ensure(representative, "cac:PartyTaxScheme/cbc:CompanyID").text = "NO123456785MVA"
    ensure(representative, "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID").text = "VAT"
    assert "NO-R-002" in _no(root)


@settings(max_examples=6, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=8, max_size=8))
@example(body="00000000")
@example(body="12345678")  # 123456785: the example's own number
def test_at_most_one_check_digit_makes_a_norwegian_vat_number(body: str) -> None:
    """Modulus 11: one check digit fits ``body``, or none (remainder 10, or an all-zero number)."""
    passing = []
    for digit in "0123456789":
        root = load(NORWEGIAN)
        set_text(root, VAT, f"NO{body}{digit}MVA")
        if "NO-R-001" not in fired(root):
            passing.append(digit)
    assert len(passing) <= 1
    if body == "00000000":
        assert passing == []  # u:mod11 requires number($val) > 0
