"""PEPPOL national rules for Greece (GR-R-*, GR-S-*): each passes on the official Greek example and
fires on a mutation of it.

The official "correct" example describes its invoice URL as ``##INVOICE-URL##`` where the rules look
for ``##INVOICE|URL##``, so it raises the GR-S-008-1 warning (one invoice URL expected). The base here
is that example with the description the rules expect; it then passes every GR rule, which the first
test checks before any mutation relies on it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.peppol import check_peppol
from tests.peppol_helpers import find, fired, load, remove, set_text

Mutation = Callable[[etree._Element], object]
CORRECT = "national-examples_GR_GR-base-example-correct.xml"
REPRESENTED = "national-examples_GR_GR-base-example-TaxRepresentative.xml"
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
MARK = "cac:AdditionalDocumentReference[cbc:DocumentDescription='##M.AR.K##']"
URL = "cac:AdditionalDocumentReference[cbc:DocumentDescription='##INVOICE|URL##']"
#: The example's invoice number: TIN | issue date | branch | document type | series | number.
SEGMENTS = ["061828591", "01/10/2020", "0", "1.1", "0", "1"]


def greek(example: str = CORRECT) -> etree._Element:
    root = load(example)
    set_text(root, "cac:AdditionalDocumentReference[2]/cbc:DocumentDescription", "##INVOICE|URL##")
    return root


def invoice_number(position: int, value: str) -> Mutation:
    """Replace one segment (1-based) of the invoice number."""

    def mutate(root: etree._Element) -> None:
        segments = list(SEGMENTS)
        segments[position - 1] = value
        set_text(root, "cbc:ID", "|".join(segments))

    return mutate


def duplicate(path: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        element = find(root, path)
        element.addnext(copy.deepcopy(element))

    return mutate


CASES: list[tuple[str, Mutation]] = [
    ("GR-R-001-1", lambda r: set_text(r, "cbc:ID", "|".join(SEGMENTS[:5]))),
    ("GR-R-001-2", invoice_number(1, "801399030")),  # a valid TIN, but not the seller's
    ("GR-R-001-3", invoice_number(2, "02/10/2020")),
    ("GR-R-001-4", invoice_number(3, "-1")),
    ("GR-R-001-5", invoice_number(4, "3.1")),
    ("GR-R-001-6", invoice_number(5, "")),
    ("GR-R-001-7", invoice_number(6, "")),
    ("GR-R-002", lambda r: remove(r, f"{SUP}/cac:PartyName")),
    ("GR-S-011", duplicate(f"{SUP}/cac:PartyTaxScheme")),  # two VAT numbers, each valid
    ("GR-R-003", lambda r: set_text(r, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "GR0618285912")),
    ("GR-R-004-1", lambda r: remove(r, MARK)),
    ("GR-S-008-1", lambda r: remove(r, URL)),
    ("GR-R-008-2", duplicate(URL)),
    ("GR-R-004-2", lambda r: set_text(r, f"{MARK}/cbc:ID", "0123")),
    ("GR-R-008-3", lambda r: remove(r, f"{URL}/cac:Attachment")),
    ("GR-R-005", lambda r: remove(r, f"{BUY}/cac:PartyName")),
    ("GR-R-009", lambda r: find(r, f"{SUP}/cbc:EndpointID").set("schemeID", "0088")),
    ("GR-R-006", lambda r: set_text(r, f"{BUY}/cac:PartyTaxScheme/cbc:CompanyID", "EL061828592")),
    ("GR-R-010", lambda r: set_text(r, f"{BUY}/cbc:EndpointID", "061828592")),
]
COVERED_RULES = frozenset(rule for rule, _ in CASES)


def _gr(root: etree._Element) -> set[str]:
    return {rule for rule in fired(root) if rule.startswith("GR-")}


def test_the_greek_example_passes_every_gr_rule() -> None:
    assert _gr(greek()) == set()


def test_the_official_example_misspells_the_invoice_url() -> None:
    assert _gr(load(CORRECT)) == {"GR-S-008-1"}


@pytest.mark.parametrize(("rule_id", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, mutate: Mutation) -> None:
    root = greek()
    assert rule_id not in fired(root), f"{rule_id} fires on the Greek example"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the mutated example"


def test_warnings_are_warnings() -> None:
    root = greek()
    remove(root, URL)
    duplicate(f"{SUP}/cac:PartyTaxScheme")(root)
    severities = {f.rule: f.severity for f in check_peppol(root) if f.rule.startswith("GR-")}
    assert severities == {"GR-S-008-1": "warning", "GR-S-011": "warning"}


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (1, "061828592"),
        (1, "06182859"),
        (2, "2020-10-01"),
        (2, "1/10/2020"),
        (3, "1.5"),
        (3, "x"),
        (4, "1.1 "),
    ],
)
def test_invoice_number_segments_fire_on_bad_values(position: int, value: str) -> None:
    root = greek()
    invoice_number(position, value)(root)
    assert f"GR-R-001-{position + 1}" in fired(root)


@pytest.mark.parametrize(("position", "value"), [(3, "12"), (3, " 7 "), (4, "5.2"), (5, " "), (6, "A-17")])
def test_invoice_number_segments_accept_what_the_schematron_accepts(position: int, value: str) -> None:
    """A branch is an integer once trimmed; the series and number need a character, not a non-blank one."""
    root = greek()
    invoice_number(position, value)(root)
    assert f"GR-R-001-{position + 1}" not in fired(root)


def test_a_greek_tax_representative_makes_the_seller_greek() -> None:
    """The official tax representative example: seller in Sweden without a VAT number, represented by
    a Greek one. Its invoice number carries the representative's TIN; the MARK rules need a seller
    address in Greece and the endpoint rule the seller's own country, so only the missing seller VAT
    number (GR-S-011) is raised."""
    root = greek(REPRESENTED)
    assert _gr(root) == {"GR-S-011"}
    remove(root, MARK)
    set_text(root, "cac:TaxRepresentativeParty/cac:PartyTaxScheme/cbc:CompanyID", "EL801399030")
    assert _gr(root) == {"GR-S-011", "GR-R-001-2"}


def test_no_rule_applies_to_a_seller_outside_greece() -> None:
    root = load("examples_base-example.xml")
    assert _gr(root) == set()  # its invoice number "Snippet1" has one segment


def test_buyer_vat_and_endpoint_rules_need_a_greek_buyer() -> None:
    root = greek()
    set_text(root, f"{BUY}/cac:PartyTaxScheme/cbc:CompanyID", "SE4598375937")
    set_text(root, f"{BUY}/cbc:EndpointID", "0000")
    assert _gr(root) == set()
    remove(root, f"{BUY}/cac:PartyName")
    assert _gr(root) == {"GR-R-005"}


def test_the_endpoint_rule_follows_the_sellers_own_country() -> None:
    """GR-R-009 applies on $accountingSupplierCountry alone: a Greek address without a VAT number."""
    root = load("examples_base-example.xml")
    remove(root, f"{SUP}/cac:PartyTaxScheme")
    set_text(root, f"{SUP}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "GR")
    assert "GR-R-009" in fired(root)


_SEGMENT_TEXT = st.text(alphabet="ABCXYZ0123456789-. ", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    issued=st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
    branch=st.integers(0, 10**6),
    kind=st.sampled_from(["1.1", "1.6", "2.1", "2.4", "5.1", "5.2"]),
    series=_SEGMENT_TEXT,
    sequence=_SEGMENT_TEXT,
)
def test_every_well_formed_invoice_number_passes(
    issued: dt.date, branch: int, kind: str, series: str, sequence: str
) -> None:
    """TIN | the issue date as dd/mm/yyyy | a branch | a document type | series | number: GR-R-001-* hold."""
    root = greek()
    set_text(root, "cbc:IssueDate", issued.isoformat())
    set_text(root, "cbc:ID", f"061828591|{issued:%d/%m/%Y}|{branch}|{kind}|{series}|{sequence}")
    assert not {rule for rule in _gr(root) if rule.startswith("GR-R-001")}


@settings(max_examples=40, deadline=None)
@given(segments=st.lists(_SEGMENT_TEXT, min_size=0, max_size=9).filter(lambda s: len(s) != 6))
def test_an_invoice_number_of_other_than_six_segments_fires(segments: list[str]) -> None:
    root = greek()
    set_text(root, "cbc:ID", "|".join(segments))
    assert "GR-R-001-1" in fired(root)


def test_findings_point_at_the_mark_and_the_invoice_number() -> None:
    root = greek()
    set_text(root, f"{MARK}/cbc:ID", "0")
    invoice_number(4, "9.9")(root)
    locations = {f.rule: f.location for f in check_peppol(root) if f.rule.startswith("GR-")}
    assert locations == {
        "GR-R-004-2": "/Invoice/cac:AdditionalDocumentReference[1]/cbc:ID",
        "GR-R-001-5": "/Invoice/cbc:ID",
    }
