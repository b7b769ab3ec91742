"""PEPPOL national rules for Sweden (SE-R-*): each passes on a Swedish invoice and fires on a mutation
of it.

There is no official Swedish example, so the base example (whose buyer is already in Stockholm) gets a
Swedish seller: address, VAT number, organisation number (ICD 0007) and the F-skatt statement. It then
passes every SE rule, which the first test checks before any mutation relies on it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.peppol import check_peppol
from tests.peppol_helpers import ensure, find, fired, load, q, set_text

Mutation = Callable[[etree._Element], object]
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
VAT = f"{SUP}/cac:PartyTaxScheme[1]/cbc:CompanyID"
F_SKATT = f"{SUP}/cac:PartyTaxScheme[2]/cbc:CompanyID"
ORGANISATION = f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID"
MEANS = "cac:PaymentMeans"
ACCOUNT = f"{MEANS}/cac:PayeeFinancialAccount/cbc:ID"


def swedish() -> etree._Element:
    """The base example with a Swedish seller (and its Swedish buyer)."""
    root = load("examples_base-example.xml")
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "SE")
    set_text(root, VAT, "SE556036079301")
    registration = etree.Element(q("cac:PartyTaxScheme"))
    find(root, f"{SUP}/cac:PartyLegalEntity").addprevious(registration)
    ensure(registration, "cbc:CompanyID").text = "Godkänd för F-skatt"
    ensure(registration, "cac:TaxScheme/cbc:ID").text = "TAX"
    organisation = find(root, ORGANISATION)
    organisation.text, organisation.attrib["schemeID"] = "5560360793", "0007"
    return root


def giro(branch: str, account: str) -> Callable[[], etree._Element]:
    """A Swedish invoice paid by credit transfer (30) to a Bankgiro or Plusgiro account."""

    def build() -> etree._Element:
        root = swedish()
        set_text(root, f"{MEANS}/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", branch)
        set_text(root, ACCOUNT, account)
        return root

    return build


PLUSGIRO, BANKGIRO = giro("SE:PLUSGIRO", "4812345"), giro("SE:BANKGIRO", "56781234")

#: (rule, the passing document, the mutation that makes the rule fire)
CASES: list[tuple[str, Callable[[], etree._Element], Mutation]] = [
    ("SE-R-001", swedish, lambda r: set_text(r, VAT, "SE55603607930")),
    ("SE-R-002", swedish, lambda r: set_text(r, VAT, "SE5560360793AB")),
    ("SE-R-003", swedish, lambda r: set_text(r, ORGANISATION, "556036079X")),
    ("SE-R-004", swedish, lambda r: set_text(r, ORGANISATION, "556036079")),
    ("SE-R-005", swedish, lambda r: set_text(r, F_SKATT, "F-skatt")),
    ("SE-R-006", swedish, lambda r: set_text(r, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent", "20")),
    ("SE-R-007", PLUSGIRO, lambda r: set_text(r, ACCOUNT, "481234-5")),
    ("SE-R-008", BANKGIRO, lambda r: set_text(r, ACCOUNT, "5678-1234")),
    ("SE-R-009", BANKGIRO, lambda r: set_text(r, ACCOUNT, "567812")),
    ("SE-R-010", PLUSGIRO, lambda r: set_text(r, ACCOUNT, "481234567")),
    ("SE-R-011", swedish, lambda r: set_text(r, f"{MEANS}/cbc:PaymentMeansCode", "56")),
    ("SE-R-012", swedish, lambda r: set_text(r, f"{MEANS}/cbc:PaymentMeansCode", "31")),
    ("SE-R-013", swedish, lambda r: set_text(r, ORGANISATION, "5560360794")),
]
COVERED_RULES = frozenset(rule for rule, _, _ in CASES)


def _se(root: etree._Element) -> set[str]:
    return {rule for rule in fired(root) if rule.startswith("SE-")}


@pytest.mark.parametrize("base", [swedish, PLUSGIRO, BANKGIRO], ids=["swedish", "plusgiro", "bankgiro"])
def test_the_swedish_documents_pass_every_se_rule(base: Callable[[], etree._Element]) -> None:
    assert _se(base()) == set()


@pytest.mark.parametrize(("rule_id", "base", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, base: Callable[[], etree._Element], mutate: Mutation) -> None:
    root = base()
    assert rule_id not in fired(root), f"{rule_id} fires on the Swedish document"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the mutated document"


def test_severities_are_the_schematrons() -> None:
    root = PLUSGIRO()
    set_text(root, ACCOUNT, "x")
    set_text(root, ORGANISATION, "x")
    severities = {f.rule: f.severity for f in check_peppol(root) if f.rule.startswith("SE-")}
    assert severities == {
        "SE-R-003": "fatal",
        "SE-R-004": "fatal",
        "SE-R-013": "fatal",
        "SE-R-007": "warning",
        "SE-R-010": "warning",
    }


def test_no_rule_applies_to_a_seller_outside_sweden() -> None:
    root = swedish()
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "NO")
    set_text(root, ORGANISATION, "1")
    set_text(root, f"{MEANS}/cbc:PaymentMeansCode", "50")
    set_text(root, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent", "20")
    assert _se(root) == set()


def test_the_country_code_is_compared_exactly() -> None:
    """The Swedish contexts compare the code untrimmed and case-sensitively, unlike other countries'."""
    root = swedish()
    set_text(root, ORGANISATION, "1")
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "se")
    assert _se(root) == set()


def test_vat_rules_need_a_swedish_vat_number() -> None:
    root = swedish()
    set_text(root, VAT, "NO123456785MVA")
    set_text(root, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent", "20")
    assert not {"SE-R-001", "SE-R-002", "SE-R-006"} & fired(root)


@pytest.mark.parametrize("rate", ["25", "12.00", "6"])
def test_standard_rates_pass(rate: str) -> None:
    root = swedish()
    set_text(root, "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent", rate)
    assert "SE-R-006" not in fired(root)


def test_the_organisation_rules_need_a_number() -> None:
    """Without a legal registration number neither its checks nor the F-skatt statement apply."""
    root = swedish()
    find(root, ORGANISATION).getparent().remove(find(root, ORGANISATION))
    set_text(root, F_SKATT, "F-skatt")
    assert not {"SE-R-003", "SE-R-004", "SE-R-005", "SE-R-013"} & fired(root)


def test_the_domestic_warning_needs_a_swedish_buyer() -> None:
    root = swedish()
    set_text(root, f"{BUY}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "DK")
    set_text(root, f"{MEANS}/cbc:PaymentMeansCode", "31")
    assert "SE-R-012" not in fired(root)


@settings(max_examples=10, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_makes_an_organisation_number(body: str) -> None:
    """Luhn: of the ten numbers ``body + d``, SE-R-013 passes for exactly one."""
    passing = []
    for digit in "0123456789":
        root = swedish()
        set_text(root, ORGANISATION, body + digit)
        if "SE-R-013" not in fired(root):
            passing.append(digit)
    assert len(passing) == 1
