"""PEPPOL BIS 3 national rules for Italy (IT-R-*): each passes on an Italian invoice and fires on a
mutation of it.

The Italian invoice is the official base example whose seller has an Italian VAT identifier, an
Italian address and a codice fiscale (Seller tax registration identifier, BT-32, a tax scheme other
than VAT); it passes every IT rule. Whether the seller is Italian is ``$supplierCountry``: the VAT
identifier's prefix first, the postal address only without one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.en16931.registry import RULES
from tests.peppol_helpers import ensure, find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
SUP = "cac:AccountingSupplierParty/cac:Party"
COUNTRY = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
TAX_CODE = f"{SUP}/cac:PartyTaxScheme[2]/cbc:CompanyID"


def italian() -> etree._Element:
    """The base example with an Italian seller, meeting every IT rule."""
    root = load()
    set_text(root, f"{SUP}/{COUNTRY}", "IT")
    set_text(root, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "IT01234567897")
    scheme = etree.Element(q("cac:PartyTaxScheme"))
    find(root, f"{SUP}/cac:PartyLegalEntity").addprevious(scheme)
    ensure(scheme, "cbc:CompanyID").text = "RSSMRA85T10A562S"
    ensure(scheme, "cac:TaxScheme/cbc:ID").text = "TAX"
    return root


def nothing(root: etree._Element) -> None:
    """No change: the Italian invoice itself."""


#: (rule, mutation that breaks it on the Italian invoice)
CASES: list[tuple[str, Mutation]] = [
    ("IT-R-001", lambda r: set_text(r, TAX_CODE, "RSSMRA85")),
    ("IT-R-001", lambda r: set_text(r, TAX_CODE, "rssmra85t10a562s")),
    ("IT-R-001", lambda r: set_text(r, TAX_CODE, "RSSMRA85T10A562SXX")),
    (
        "IT-R-001",  # a tax scheme without id is not VAT either
        lambda r: (
            remove(r, f"{SUP}/cac:PartyTaxScheme[2]/cac:TaxScheme"),
            set_text(r, TAX_CODE, "RSSMRA85"),
        ),
    ),
    ("IT-R-002", lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:StreetName")),
    ("IT-R-003", lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:CityName")),
    ("IT-R-004", lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:PostalZone")),
]

COVERED_RULES = frozenset(rule_id for rule_id, _ in CASES)
IT_RULES = {rule_id for rule_id in RULES if rule_id.startswith("IT-R-")}


def _it(root: etree._Element) -> set[str]:
    return {rule_id for rule_id in fired(root) if rule_id.startswith("IT-R-")}


def test_the_italian_invoice_meets_every_it_rule() -> None:
    root = italian()
    assert _it(root) == set()
    assert not {f for f in fired(root) if not f.startswith(("PEPPOL", "IT-"))}  # and EN 16931


def test_every_it_rule_has_a_case() -> None:
    assert COVERED_RULES == IT_RULES
    assert len(IT_RULES) == 4


@pytest.mark.parametrize(("rule_id", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, mutate: Mutation) -> None:
    root = italian()
    assert rule_id not in _it(root)
    mutate(root)
    assert rule_id in _it(root), f"{rule_id} does not fire on the mutated example"


def _vat(prefix: str) -> Callable[[etree._Element], None]:
    return lambda r: set_text(r, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", f"{prefix}01234567897")


@pytest.mark.parametrize(("rule_id", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_the_vat_prefix_decides_before_the_address(rule_id: str, mutate: Mutation) -> None:
    """A seller in Italy with a British VAT id is not Italian here; one in Britain with an IT id is."""
    root = italian()
    _vat("GB")(root)
    mutate(root)
    assert _it(root) == set()
    root = italian()
    set_text(root, f"{SUP}/{COUNTRY}", "GB")
    _vat(" it")(root)  # substring(1, 2) first: " i" is not Italy
    mutate(root)
    assert _it(root) == set()
    root = italian()
    set_text(root, f"{SUP}/{COUNTRY}", "GB")
    _vat("it")(root)  # upper-cased: Italy
    mutate(root)
    assert rule_id in _it(root)


def test_without_vat_id_the_tax_representative_or_the_address_decides() -> None:
    root = italian()
    remove(root, f"{SUP}/cac:PartyTaxScheme[1]")  # the seller's VAT id; the codice fiscale stays
    remove(root, f"{SUP}/cac:PostalAddress/cbc:PostalZone")
    assert _it(root) == {"IT-R-004"}  # the postal address is in Italy
    representative = etree.Element(q("cac:TaxRepresentativeParty"))
    find(root, "cac:Delivery").addprevious(representative)
    ensure(representative, "cac:PartyName/cbc:Name").text = "Representative Ltd"
    ensure(representative, "cac:PartyTaxScheme/cbc:CompanyID").text = "FR12345678901"
    ensure(representative, "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID").text = "VAT"
    assert _it(root) == set()  # the representative's VAT id says France


def test_a_vat_tax_scheme_is_not_checked_as_bt_32() -> None:
    root = italian()
    set_text(root, f"{SUP}/cac:PartyTaxScheme[1]/cbc:CompanyID", "IT0123")  # short, but BT-31, not BT-32
    set_text(root, f"{SUP}/cac:PartyTaxScheme[2]/cac:TaxScheme/cbc:ID", " VAT ")  # trimmed: VAT too
    set_text(root, TAX_CODE, "short")
    assert "IT-R-001" not in _it(root)


def test_empty_address_elements_are_provided() -> None:
    """IT-R-002 … -004 ask for the element, as the schematron does, not for its content."""
    root = italian()
    set_text(root, f"{SUP}/cac:PostalAddress/cbc:PostalZone", "")
    assert "IT-R-004" not in _it(root)


# -- property: BT-32's length and alphabet, on generated tax codes ---------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@settings(max_examples=40, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=24))
def test_bt_32_passes_exactly_when_it_has_11_to_16_capitals_or_digits(tax_code: str) -> None:
    root = italian()
    set_text(root, TAX_CODE, f" {tax_code} ")  # normalize-space first
    assert ("IT-R-001" in _it(root)) == (not 11 <= len(tax_code) <= 16)
