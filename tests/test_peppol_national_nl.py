"""PEPPOL national rules for the Netherlands (NL-R-*): each passes on a Dutch invoice and fires on a
mutation of it.

There is no official Dutch example, so the base example is made Dutch (seller and buyer in the
Netherlands with KVK numbers, an order reference for its order line references); it then passes every
NL rule, which the first test checks before any mutation relies on it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.peppol import check_peppol
from tests.peppol_helpers import PREFIX, ensure, find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
INVOICE = "examples_base-example.xml"
CREDIT_NOTE = "examples_base-creditnote-correction.xml"


def dutch(example: str = INVOICE) -> etree._Element:
    """An official example with a Dutch seller and buyer (addresses, VAT numbers, KVK numbers)."""
    root = load(example)
    for party, vat, kvk in ((SUP, "NL123456789B01", "12345678"), (BUY, "NL987654321B01", "87654321")):
        set_text(root, f"{party}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "NL")
        set_text(root, f"{party}/cac:PartyTaxScheme/cbc:CompanyID", vat)
        company = find(root, f"{party}/cac:PartyLegalEntity/cbc:CompanyID")
        company.text, company.attrib["schemeID"] = kvk, "0106"
    if root.find("cac:OrderReference", PREFIX) is None:
        reference = etree.Element(q("cac:OrderReference"))
        find(root, "cbc:BuyerReference").addnext(reference)
        ensure(reference, "cbc:ID").text = "PO-1"
    return root


def with_representative(country: str = "NL") -> etree._Element:
    """A Dutch invoice whose seller has a tax representative (BG-11) at a full address in ``country``."""
    root = dutch()
    representative = etree.Element(q("cac:TaxRepresentativeParty"))
    find(root, "cac:AccountingCustomerParty").addnext(representative)
    ensure(representative, "cac:PartyName/cbc:Name").text = "Fiscal Representative B.V."
    for name, value in (("StreetName", "Kerkstraat 1"), ("CityName", "Utrecht"), ("PostalZone", "3511 AB")):
        ensure(representative, f"cac:PostalAddress/cbc:{name}").text = value
    ensure(representative, "cac:PostalAddress/cac:Country/cbc:IdentificationCode").text = country
    ensure(representative, "cac:PartyTaxScheme/cbc:CompanyID").text = "NL111222333B01"
    ensure(representative, "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID").text = "VAT"
    return root


def _set_scheme(root: etree._Element, path: str, scheme: str) -> None:
    find(root, path).attrib["schemeID"] = scheme


#: (rule, the passing document, the mutation that makes the rule fire)
CASES: list[tuple[str, Callable[[], etree._Element], Mutation]] = [
    ("NL-R-001", lambda: dutch(CREDIT_NOTE), lambda r: remove(r, "cac:BillingReference")),
    ("NL-R-002", dutch, lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:StreetName")),
    ("NL-R-003", dutch, lambda r: _set_scheme(r, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", "0183")),
    ("NL-R-004", dutch, lambda r: remove(r, f"{BUY}/cac:PostalAddress/cbc:PostalZone")),
    ("NL-R-005", dutch, lambda r: set_text(r, f"{BUY}/cac:PartyLegalEntity/cbc:CompanyID", " ")),
    (
        "NL-R-006",
        with_representative,
        lambda r: remove(r, "cac:TaxRepresentativeParty/cac:PostalAddress/cbc:CityName"),
    ),
    ("NL-R-007", dutch, lambda r: remove(r, "cac:PaymentMeans")),
    ("NL-R-008", dutch, lambda r: set_text(r, "cac:PaymentMeans/cbc:PaymentMeansCode", "31")),
    ("NL-R-009", dutch, lambda r: remove(r, "cac:OrderReference")),
]
COVERED_RULES = frozenset(rule for rule, _, _ in CASES)


def _nl(root: etree._Element) -> set[str]:
    return {rule for rule in fired(root) if rule.startswith("NL-")}


@pytest.mark.parametrize("base", [dutch, lambda: dutch(CREDIT_NOTE), with_representative])
def test_the_dutch_documents_pass_every_nl_rule(base: Callable[[], etree._Element]) -> None:
    assert _nl(base()) == set()


@pytest.mark.parametrize(("rule_id", "base", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, base: Callable[[], etree._Element], mutate: Mutation) -> None:
    root = base()
    assert rule_id not in fired(root), f"{rule_id} fires on the Dutch document"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the mutated document"


def test_no_rule_applies_to_a_seller_outside_the_netherlands() -> None:
    """The unchanged base example (British seller) has order line references without an order
    reference: NL-R-009 would fire on it if the seller were Dutch."""
    root = load(INVOICE)
    assert _nl(root) == set()
    root = dutch()
    remove(root, "cac:OrderReference")
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "BE")
    assert _nl(root) == set()


def test_the_seller_country_is_its_address_not_its_vat_number() -> None:
    root = load(INVOICE)
    set_text(root, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "NL123456789B01")
    remove(root, f"{SUP}/cac:PostalAddress/cbc:StreetName")
    assert "NL-R-002" not in fired(root)
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", " nl ")
    assert "NL-R-002" in fired(root)


def test_buyer_rules_need_a_dutch_buyer() -> None:
    root = dutch()
    set_text(root, f"{BUY}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "BE")
    remove(root, f"{BUY}/cac:PostalAddress/cbc:PostalZone")
    set_text(root, "cac:PaymentMeans/cbc:PaymentMeansCode", "31")
    assert not {"NL-R-004", "NL-R-005", "NL-R-008"} & fired(root)


def test_representative_rule_needs_a_dutch_representative() -> None:
    root = with_representative("BE")
    remove(root, "cac:TaxRepresentativeParty/cac:PostalAddress/cbc:CityName")
    assert "NL-R-006" not in fired(root)


@pytest.mark.parametrize("payable", ["0.00", "-10.00"])
def test_nothing_due_needs_no_payment_means(payable: str) -> None:
    root = dutch()
    remove(root, "cac:PaymentMeans")
    set_text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount", payable)
    assert "NL-R-007" not in fired(root)


def test_oin_is_a_dutch_legal_identifier_too() -> None:
    root = dutch()
    _set_scheme(root, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", "0190")
    assert "NL-R-003" not in fired(root)
    find(root, f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID").attrib.pop("schemeID")
    assert "NL-R-003" in fired(root)


@settings(max_examples=25, deadline=None)
@given(
    code=st.sampled_from(["NL", "nl", "Nl", "nL"]),
    before=st.sampled_from(["", " ", "\n\t"]),
    after=st.sampled_from(["", "  ", "\n"]),
)
def test_the_dutch_country_code_is_compared_trimmed_and_in_any_case(
    code: str, before: str, after: str
) -> None:
    root = dutch()
    remove(root, "cac:OrderReference")
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", f"{before}{code}{after}")
    assert "NL-R-009" in fired(root)


@settings(max_examples=25, deadline=None)
@given(
    code=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2).filter(lambda c: c != "NL")
)
def test_no_rule_applies_to_any_other_seller_country(code: str) -> None:
    root = dutch()
    remove(root, "cac:OrderReference")
    remove(root, "cac:PaymentMeans")
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", code)
    assert _nl(root) == set()


def test_each_order_line_reference_is_reported_where_it_is() -> None:
    root = dutch()
    remove(root, "cac:OrderReference")
    findings = [f for f in check_peppol(root) if f.rule == "NL-R-009"]
    assert [f.location for f in findings] == [
        f"/Invoice/cac:InvoiceLine[{n}]/cac:OrderLineReference/cbc:LineID" for n in (1, 2)
    ]
    assert {f.severity for f in findings} == {"fatal"}
