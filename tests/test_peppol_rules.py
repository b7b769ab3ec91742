"""PEPPOL BIS 3 core and code list rules: each passes on an official example and fires on a mutation of it.

A case is ``(rule, example, setup, breaker)``: ``setup`` makes the rule apply to a valid document
(or leaves the example as it is), the rule must not fire; ``breaker`` then breaks exactly what the
rule tests, and it must fire. All mutations are lxml edits of the official PEPPOL examples.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.en16931.registry import RULES
from invoice_hub.validation.peppol import check_peppol
from invoice_hub.validation.peppol import identifiers as ids
from tests.peppol_helpers import EXAMPLES, PREFIX, ensure, find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
BASE = "examples_base-example.xml"
ALLOW = "examples_Allowance-example.xml"
CN = "examples_base-creditnote-correction.xml"
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
L1 = "cac:InvoiceLine"
DOC_CHARGE = "cac:AllowanceCharge[1]"  # ALLOW: a charge with percentage and base amount
DOC_ALLOWANCE = "cac:AllowanceCharge[2]"  # ALLOW: an allowance with neither
PRICE_ALLOWANCE = f"{L1}/cac:Price/cac:AllowanceCharge"  # ALLOW, line 1: gross 450 - 40 = net 410
EXEMPT = "cac:TaxTotal/cac:TaxSubtotal[2]/cac:TaxCategory"  # ALLOW: category E


def nothing(root: etree._Element) -> None:
    """No set-up: the example as it is makes the rule apply."""


def insert_after(root: etree._Element, path: str, name: str, value: str) -> etree._Element:
    """A new ``name`` element right after the one at ``path`` (schema order kept)."""
    element = etree.Element(q(name))
    element.text = value
    find(root, path).addnext(element)
    return element


def identifier(path: str, scheme: str, value: str) -> Mutation:
    """Set the identifier at ``path`` (created where missing) to ``value`` in ``scheme``."""

    def mutate(root: etree._Element) -> None:
        element = ensure(root, path)
        element.set("schemeID", scheme)
        element.text = value

    return mutate


def add_document_reference(code: str) -> Mutation:
    """A line object reference (cac:DocumentReference, BT-128) with ``code`` on the first line."""

    def mutate(root: etree._Element) -> None:
        reference = etree.Element(q("cac:DocumentReference"))
        find(root, f"{L1}/cac:OrderLineReference").addnext(reference)
        ensure(reference, "cbc:ID").text = "AB12345"
        ensure(reference, "cbc:DocumentTypeCode").text = code

    return mutate


def add_project_reference(root: etree._Element) -> None:
    """A project reference on a credit note: an additional document reference with type code 50."""
    reference = etree.Element(q("cac:AdditionalDocumentReference"))
    find(root, "cac:BillingReference").addnext(reference)
    ensure(reference, "cbc:ID").text = "PROJ-1"
    ensure(reference, "cbc:DocumentTypeCode").text = "50"


def add_attachment(mime: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        reference = etree.Element(q("cac:AdditionalDocumentReference"))
        find(root, "cbc:BuyerReference").addnext(reference)
        ensure(reference, "cbc:ID").text = "att-1"
        binary = ensure(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
        binary.set("mimeCode", mime)
        binary.set("filename", "a.pdf")
        binary.text = "aGVsbG8="

    return mutate


def exemption(code: str, category: str) -> Mutation:
    """The exempt breakdown category of ALLOW: VAT category ``category``, exemption reason code ``code``."""

    def mutate(root: etree._Element) -> None:
        tax_category = find(root, EXEMPT)
        find(tax_category, "cbc:ID").text = category
        reason = tax_category.find("cbc:TaxExemptionReasonCode", PREFIX)
        if reason is None:
            reason = insert_after(root, f"{EXEMPT}/cbc:Percent", "cbc:TaxExemptionReasonCode", "")
        reason.text = code

    return mutate


def duplicate(path: str) -> Mutation:
    def mutate(root: etree._Element) -> None:
        element = find(root, path)
        element.addnext(copy.deepcopy(element))

    return mutate


def attribute(path: str, name: str, value: str) -> Mutation:
    return lambda root: find(root, path).set(name, value)


_EXEMPTIONS = [
    ("PEPPOL-EN16931-P0104", "VATEX-EU-G", "G"),
    ("PEPPOL-EN16931-P0105", "VATEX-EU-O", "O"),
    ("PEPPOL-EN16931-P0106", "VATEX-EU-IC", "K"),
    ("PEPPOL-EN16931-P0107", "VATEX-EU-AE", "AE"),
    ("PEPPOL-EN16931-P0108", "VATEX-EU-D", "E"),
    ("PEPPOL-EN16931-P0109", "VATEX-EU-F", "E"),
    ("PEPPOL-EN16931-P0110", "VATEX-EU-I", "E"),
    ("PEPPOL-EN16931-P0111", "vatex-eu-j", "E"),  # upper-case(): the code's case does not matter
]

#: Identifier schemes with a format or check digit: (rule, where, scheme, valid value, invalid value).
_SCHEMES = [
    ("PEPPOL-COMMON-R040", f"{SUP}/cbc:EndpointID", "0088", "9482348239847239874", "9482348239847239875"),
    ("PEPPOL-COMMON-R041", f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", "0192", "974760673", "974760674"),
    ("PEPPOL-COMMON-R042", f"{SUP}/cac:PartyIdentification/cbc:ID", "0184", "DK12345678", "DK1234567X"),
    ("PEPPOL-COMMON-R043", f"{SUP}/cac:PartyIdentification/cbc:ID", "0208", "0203201340", "0203201341"),
    ("PEPPOL-COMMON-R044", f"{BUY}/cbc:EndpointID", "0201", "UFXYZ1", "UFXY-1"),
    (
        "PEPPOL-COMMON-R045",
        f"{BUY}/cac:PartyLegalEntity/cbc:CompanyID",
        "0210",
        "RSSMRA85T10A562S",
        "RSSMRA85T10A56",
    ),
    ("PEPPOL-COMMON-R046", f"{BUY}/cbc:EndpointID", "9907", "12345678901", "1234567890"),
    ("PEPPOL-COMMON-R047", f"{BUY}/cac:PartyIdentification/cbc:ID", "0211", "IT01234567897", "IT01234567890"),
    ("PEPPOL-COMMON-R049", f"{SUP}/cbc:EndpointID", "0007", "5560360793", "5560360794"),
    ("PEPPOL-COMMON-R050", f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", "0151", "51824753556", "51824753557"),
]

CASES: list[tuple[str, str, Mutation, Mutation]] = [
    ("PEPPOL-EN16931-R001", BASE, nothing, lambda r: remove(r, "cbc:ProfileID")),
    (
        "PEPPOL-EN16931-R002",
        ALLOW,
        nothing,
        lambda r: insert_after(r, "cbc:Note", "cbc:Note", "A second note"),
    ),
    ("PEPPOL-EN16931-R003", BASE, nothing, lambda r: remove(r, "cbc:BuyerReference")),
    (
        "PEPPOL-EN16931-R004",
        BASE,
        nothing,
        lambda r: set_text(r, "cbc:CustomizationID", "urn:cen.eu:en16931:2017"),
    ),
    ("PEPPOL-EN16931-R005", ALLOW, nothing, lambda r: set_text(r, "cbc:TaxCurrencyCode", "EUR")),
    (
        "PEPPOL-EN16931-R007",
        BASE,
        nothing,
        lambda r: set_text(r, "cbc:ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:1:1.0"),
    ),
    ("PEPPOL-EN16931-R008", BASE, nothing, lambda r: set_text(r, "cbc:AccountingCost", " \n ")),
    ("PEPPOL-EN16931-R010", BASE, nothing, lambda r: remove(r, f"{BUY}/cbc:EndpointID")),
    ("PEPPOL-EN16931-R020", BASE, nothing, lambda r: remove(r, f"{SUP}/cbc:EndpointID")),
    ("PEPPOL-EN16931-R040", ALLOW, nothing, lambda r: set_text(r, f"{DOC_CHARGE}/cbc:Amount", "200.03")),
    ("PEPPOL-EN16931-R041", ALLOW, nothing, lambda r: remove(r, f"{DOC_CHARGE}/cbc:BaseAmount")),
    (
        "PEPPOL-EN16931-R042",
        ALLOW,
        nothing,
        lambda r: remove(r, f"{L1}/cac:AllowanceCharge/cbc:MultiplierFactorNumeric"),
    ),
    (
        "PEPPOL-EN16931-R043",
        ALLOW,
        nothing,
        lambda r: set_text(r, f"{DOC_ALLOWANCE}/cbc:ChargeIndicator", "0"),
    ),
    (
        "PEPPOL-EN16931-R044",
        ALLOW,
        nothing,
        lambda r: set_text(r, f"{PRICE_ALLOWANCE}/cbc:ChargeIndicator", "true"),
    ),
    ("PEPPOL-EN16931-R046", ALLOW, nothing, lambda r: set_text(r, f"{PRICE_ALLOWANCE}/cbc:Amount", "41")),
    ("PEPPOL-EN16931-R051", BASE, nothing, attribute(f"{L1}/cac:Price/cbc:PriceAmount", "currencyID", "USD")),
    ("PEPPOL-EN16931-R053", BASE, nothing, duplicate("cac:TaxTotal")),
    ("PEPPOL-EN16931-R054", ALLOW, nothing, lambda r: remove(r, "cac:TaxTotal[2]")),
    (
        "PEPPOL-EN16931-R055",
        ALLOW,
        nothing,
        lambda r: set_text(r, "cac:TaxTotal[2]/cbc:TaxAmount", "-9324.00"),
    ),
    (
        "PEPPOL-EN16931-R061",
        BASE,
        nothing,
        lambda r: set_text(r, "cac:PaymentMeans/cbc:PaymentMeansCode", "49"),
    ),
    ("PEPPOL-EN16931-R080", CN, add_project_reference, add_project_reference),
    ("PEPPOL-EN16931-R100", BASE, add_document_reference("130"), add_document_reference("130")),
    (
        "PEPPOL-EN16931-R101",
        BASE,
        add_document_reference("130"),
        lambda r: set_text(r, f"{L1}/cac:DocumentReference/cbc:DocumentTypeCode", "50"),
    ),
    (
        "PEPPOL-EN16931-R110",
        ALLOW,
        nothing,
        lambda r: set_text(r, f"{L1}[2]/cac:InvoicePeriod/cbc:StartDate", "2017-11-30"),
    ),
    (
        "PEPPOL-EN16931-R111",
        ALLOW,
        nothing,
        lambda r: set_text(r, f"{L1}[2]/cac:InvoicePeriod/cbc:EndDate", "2018-01-01"),
    ),
    ("PEPPOL-EN16931-R120", BASE, nothing, lambda r: set_text(r, f"{L1}/cbc:LineExtensionAmount", "2800.03")),
    ("PEPPOL-EN16931-R121", ALLOW, nothing, lambda r: set_text(r, f"{L1}/cac:Price/cbc:BaseQuantity", "0")),
    ("PEPPOL-EN16931-R130", ALLOW, nothing, attribute(f"{L1}/cac:Price/cbc:BaseQuantity", "unitCode", "EA")),
    ("PEPPOL-EN16931-P0100", BASE, nothing, lambda r: set_text(r, "cbc:InvoiceTypeCode", "381")),
    ("PEPPOL-EN16931-P0101", CN, nothing, lambda r: set_text(r, "cbc:CreditNoteTypeCode", "380")),
    *((rule, ALLOW, exemption(code, category), exemption(code, "Z")) for rule, code, category in _EXEMPTIONS),
    ("PEPPOL-EN16931-P0112", BASE, nothing, lambda r: set_text(r, "cbc:InvoiceTypeCode", "326")),
    ("PEPPOL-EN16931-F001", BASE, nothing, lambda r: set_text(r, "cbc:IssueDate", "2017-11-13Z")),
    ("PEPPOL-EN16931-CL001", BASE, add_attachment("application/pdf"), add_attachment("application/xml")),
    (
        "PEPPOL-EN16931-CL002",
        ALLOW,
        nothing,
        lambda r: set_text(r, f"{DOC_ALLOWANCE}/cbc:AllowanceChargeReasonCode", "ZZZ"),
    ),
    (
        "PEPPOL-EN16931-CL003",
        ALLOW,
        nothing,
        lambda r: set_text(r, f"{DOC_CHARGE}/cbc:AllowanceChargeReasonCode", "95"),
    ),
    (
        "PEPPOL-EN16931-CL006",
        ALLOW,
        lambda r: set_text(r, "cac:InvoicePeriod/cbc:DescriptionCode", "35"),
        lambda r: set_text(r, "cac:InvoicePeriod/cbc:DescriptionCode", "36"),
    ),
    (
        "PEPPOL-EN16931-CL007",
        BASE,
        nothing,
        attribute(f"{L1}/cac:Price/cbc:PriceAmount", "currencyID", "EURO"),
    ),
    ("PEPPOL-EN16931-CL008", BASE, nothing, attribute(f"{BUY}/cbc:EndpointID", "schemeID", "0001")),
    *(
        (rule, BASE, identifier(path, scheme, good), identifier(path, scheme, bad))
        for rule, path, scheme, good, bad in _SCHEMES
    ),
]

#: The rules this module has a passing and a firing case for (see tests/peppol_helpers.py).
COVERED_RULES = frozenset(rule for rule, *_ in CASES)


@pytest.mark.parametrize(("rule_id", "example", "setup", "breaker"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, example: str, setup: Mutation, breaker: Mutation) -> None:
    root = load(example)
    setup(root)
    assert rule_id not in fired(root), f"{rule_id} fires on the valid {example}"
    breaker(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the broken {example}"


def test_a_finding_has_the_official_id_flag_message_and_location() -> None:
    root = load()
    remove(root, f"{BUY}/cbc:EndpointID")
    (finding,) = [f for f in check_peppol(root) if f.rule == "PEPPOL-EN16931-R010"]
    assert finding.severity == "fatal"
    assert finding.message == "Buyer electronic address MUST be provided"
    assert finding.location == "/Invoice/cac:AccountingCustomerParty/cac:Party"
    root = load()
    identifier(f"{BUY}/cbc:EndpointID", "0201", "UF-XY1")(root)
    (finding,) = [f for f in check_peppol(root) if f.rule == "PEPPOL-COMMON-R044"]
    assert finding.severity == "warning"


# -- the schematron's semantics the table alone would not pin down --------------------------------


def test_a_pattern_checks_a_node_with_its_first_matching_rule_only() -> None:
    """A percentage without base amount is R041's node: R040 and R043 (later rules) never see it."""
    root = load(ALLOW)
    remove(root, f"{DOC_CHARGE}/cbc:BaseAmount")
    set_text(root, f"{DOC_CHARGE}/cbc:ChargeIndicator", "1")
    result = fired(root)
    assert "PEPPOL-EN16931-R041" in result
    assert not {"PEPPOL-EN16931-R040", "PEPPOL-EN16931-R043"} & result


def test_german_buyer_and_seller_may_have_several_notes_and_type_326() -> None:
    root = load(ALLOW)
    insert_after(root, "cbc:Note", "cbc:Note", "A second note")
    set_text(root, "cbc:InvoiceTypeCode", "326")
    for party in (SUP, BUY):
        set_text(root, f"{party}/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "de")
    assert not {"PEPPOL-EN16931-R002", "PEPPOL-EN16931-P0112"} & fired(root)


def test_empty_elements_are_blank_leaves_whatever_their_attributes() -> None:
    root = load()
    endpoint = find(root, f"{SUP}/cbc:EndpointID")
    endpoint.text = None  # schemeID kept: still empty
    note = etree.SubElement(find(root, "cac:PaymentTerms"), q("cbc:Note"))
    note.append(etree.Comment("a comment is not text"))
    findings = [f.location for f in check_peppol(root) if f.rule == "PEPPOL-EN16931-R008"]
    assert findings == [
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cbc:EndpointID",
        "/Invoice/cac:PaymentTerms/cbc:Note[2]",
    ]
    note.text = "\u00a0"  # a no-break space is text to normalize-space
    assert len([f for f in check_peppol(root) if f.rule == "PEPPOL-EN16931-R008"]) == 1


def test_profile_other_than_01_allows_any_type_code() -> None:
    root = load()
    set_text(root, "cbc:ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:02:1.0")
    set_text(root, "cbc:InvoiceTypeCode", "381")
    assert "PEPPOL-EN16931-P0100" not in fired(root)
    assert "PEPPOL-EN16931-R007" not in fired(root)


def test_line_amount_uses_the_schematron_defaults_and_two_cent_slack() -> None:
    root = load()
    set_text(root, f"{L1}/cbc:LineExtensionAmount", "2800.02")
    assert "PEPPOL-EN16931-R120" not in fired(root)
    remove(root, f"{L1}/cbc:InvoicedQuantity")  # quantity defaults to 1: 400 is not 2800
    assert "PEPPOL-EN16931-R120" in fired(root)


def test_credit_note_lines_use_the_credited_quantity() -> None:
    root = load(CN)
    set_text(root, "cac:CreditNoteLine/cbc:LineExtensionAmount", "1")
    assert "PEPPOL-EN16931-R120" in fired(root)


def test_unreadable_values_fail_the_rules_that_compute_with_them() -> None:
    """Where the XSLT would stop on a cast error, the check fails (and names the element)."""
    root = load(ALLOW)
    set_text(root, f"{DOC_CHARGE}/cbc:MultiplierFactorNumeric", "20%")
    set_text(root, f"{L1}[2]/cac:InvoicePeriod/cbc:StartDate", "01.12.2017")
    assert {"PEPPOL-EN16931-R040", "PEPPOL-EN16931-R110"} <= fired(root)


# -- the identifier functions, as properties ------------------------------------------------------


def _gln_check_digit(body: str) -> str:
    weighted = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - weighted % 10) % 10)


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=1, max_size=18))
def test_gln_accepts_exactly_one_check_digit(body: str) -> None:
    good = _gln_check_digit(body)
    assert ids.gln(body + good)
    assert all(not ids.gln(body + d) for d in "0123456789" if d != good)


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_seorgnr_accepts_exactly_one_check_digit(body: str) -> None:
    assert sum(ids.check_seorgnr(body + d) for d in "0123456789") == 1


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=99_999_999))
def test_mod97_0208_is_97_minus_the_remainder(head: int) -> None:
    check = 97 - head % 97
    assert ids.mod97_0208(f"{head:08d}{check:02d}")
    assert not ids.mod97_0208(f"{head:08d}{(check % 97) + 1:02d}")


@settings(max_examples=100)
@given(st.text(max_size=20))
def test_identifier_functions_never_raise(value: str) -> None:
    for function in (ids.gln, ids.mod11, ids.mod97_0208, ids.abn, ids.check_seorgnr, ids.tin_verification):
        assert function(value) in (True, False)
    assert isinstance(ids.check_piva(value), int)
    assert ids.check_cf(value) in (True, False)
    assert math.isnan(ids.xs_number(value)) or isinstance(ids.xs_number(value), float)


def test_slack_accepts_decimals() -> None:
    assert ids.slack(Decimal("1.00"), Decimal("1.02"), Decimal("0.02"))


def test_the_rules_are_registered_in_the_peppol_set() -> None:
    assert all(RULES[rule].ruleset == "peppol" for rule in COVERED_RULES)


# -- robustness: any edit of an official example gets verdicts, never an exception -----------------

_EXAMPLE_ROOTS = {name: etree.tostring(load(name)) for name in (BASE, ALLOW, CN)}
_AWKWARD_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "-0", "0", "1e3", "abc", "2017-02-30", "2017-11-13Z", "NaN", "INF", "+.5", "٣"]
    ),
    st.text(max_size=12),
)


@settings(max_examples=150, deadline=None)
@given(
    example=st.sampled_from(sorted(_EXAMPLE_ROOTS)),
    picks=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(["text", "remove", "attr"]), _AWKWARD_TEXT),
        max_size=4,
    ),
)
def test_any_edit_of_an_example_gets_registered_findings_and_no_exception(example, picks) -> None:
    root = etree.fromstring(_EXAMPLE_ROOTS[example])
    for index, action, text in picks:
        value = "".join(c for c in text if c.isprintable())  # what XML can hold
        elements = list(root.iter(etree.Element))[1:]
        element = elements[index % len(elements)]
        if action == "remove":
            element.getparent().remove(element)
        elif action == "attr":
            element.set(("schemeID", "currencyID", "unitCode", "mimeCode")[index % 4], value)
        else:
            element.text = value
    for finding in check_peppol(root):
        assert finding.rule in RULES and finding.severity == RULES[finding.rule].flag


# -- check_peppol: EN 16931 and PEPPOL on one index -----------------------------------------------


@pytest.mark.parametrize(
    "example", [BASE, ALLOW, CN, EXAMPLES / "en16931" / "ubl-tc434-example2.xml"], ids=str
)
def test_peppol_findings_are_en16931_s_then_peppol_s(example: str | Path) -> None:
    from invoice_hub.validation.en16931 import check_en16931

    root = load(example)
    findings = check_peppol(root)
    en16931 = [f for f in findings if RULES[f.rule].ruleset == "en16931"]
    assert en16931 == check_en16931(root)
    assert findings[: len(en16931)] == en16931  # EN 16931's first, as the levels nest


def test_a_document_that_is_not_ubl_gets_the_one_root_finding() -> None:
    root = etree.fromstring(b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>")
    assert [f.rule for f in check_peppol(root)] == ["XML-ROOT"]


# -- R120 and R040 arithmetic, as properties ---------------------------------------------------------


def _round_half_up(value: Fraction) -> Fraction:
    """XPath ``round(x * 100) div 100``: to cents, halves towards positive infinity."""
    return Fraction(math.floor(value * 100 + Fraction(1, 2)), 100)


_MONEY = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    quantity=st.decimals(min_value=-50, max_value=50, places=2),
    price=st.decimals(min_value=0, max_value=500, places=2),
    base=st.sampled_from([None, "0", "1", "2", "4", "0.5", "10"]),
    charges=st.lists(_MONEY, max_size=2),
    allowances=st.lists(_MONEY, max_size=2),
    offset=st.sampled_from(["0", "0.01", "0.02", "-0.02", "0.021", "-0.03", "1"]),
)
def test_r120_fires_exactly_when_the_net_amount_is_off_by_more_than_two_cents(
    quantity, price, base, charges, allowances, offset
) -> None:
    root = load()
    line = find(root, L1)
    set_text(line, "cbc:InvoicedQuantity", str(quantity))
    set_text(line, "cac:Price/cbc:PriceAmount", str(price))
    if base is not None:
        insert_after(line, "cac:Price/cbc:PriceAmount", "cbc:BaseQuantity", base)
    anchor = find(line, "cbc:AccountingCost")
    for charge, amounts in ((True, charges), (False, allowances)):
        for amount in amounts:
            ac = etree.Element(q("cac:AllowanceCharge"))
            anchor.addnext(ac)
            ensure(ac, "cbc:ChargeIndicator").text = "true" if charge else "false"
            ensure(ac, "cbc:Amount").text = str(amount)
    divisor = Fraction(base) if base not in (None, "0") else Fraction(1)
    expected = (
        Fraction(quantity) * Fraction(price) / divisor
        + (_round_half_up(sum(map(Fraction, charges), Fraction(0))) if charges else 0)
        - (_round_half_up(sum(map(Fraction, allowances), Fraction(0))) if allowances else 0)
    )
    net = expected + Fraction(offset)
    set_text(line, "cbc:LineExtensionAmount", str(Decimal(net.numerator) / Decimal(net.denominator)))
    within = abs(Fraction(offset)) <= Fraction(2, 100)
    assert (
        "PEPPOL-EN16931-R120" in {f.rule for f in check_peppol(root) if f.location.endswith("[1]")}
    ) != within


@settings(max_examples=200, deadline=None)
@given(
    base=st.decimals(min_value=0, max_value=100000, places=2),
    percent=st.decimals(min_value=0, max_value=100, places=2),
    offset=st.sampled_from(["0", "0.02", "-0.02", "0.03", "-0.021", "5"]),
)
def test_r040_fires_exactly_when_the_amount_is_not_base_times_percent(base, percent, offset) -> None:
    root = load(ALLOW)
    amount = Fraction(base) * Fraction(percent) / 100 + Fraction(offset)
    set_text(root, f"{DOC_CHARGE}/cbc:BaseAmount", str(base))
    set_text(root, f"{DOC_CHARGE}/cbc:MultiplierFactorNumeric", str(percent))
    set_text(root, f"{DOC_CHARGE}/cbc:Amount", str(Decimal(amount.numerator) / Decimal(amount.denominator)))
    within = abs(Fraction(offset)) <= Fraction(2, 100)
    assert ("PEPPOL-EN16931-R040" in fired(root)) != within


def test_reason_code_lists_follow_the_charge_indicator_as_written() -> None:
    """CL002/CL003's contexts compare ``cbc:ChargeIndicator = 'false'`` without normalize-space."""
    root = load(ALLOW)
    set_text(root, f"{DOC_ALLOWANCE}/cbc:AllowanceChargeReasonCode", "ZZZ")  # a 7161 code, not 5189
    assert "PEPPOL-EN16931-CL002" in fired(root)
    set_text(root, f"{DOC_ALLOWANCE}/cbc:ChargeIndicator", " false ")
    assert not {"PEPPOL-EN16931-CL002", "PEPPOL-EN16931-CL003"} & fired(root)


# -- the code lists are the schematron's ------------------------------------------------------------

SCHEMATRON = EXAMPLES.parents[0] / "peppol-bis3-rules" / "PEPPOL-EN16931-UBL.sch"


def _tokenized(expression: str) -> frozenset[str]:
    """The codes of the first ``tokenize('A B C', '\\s')`` in an XPath expression."""
    match = re.search(r"tokenize\('([^']*)'", expression)
    assert match, expression
    return frozenset(match.group(1).split())


def test_the_code_lists_are_the_schematrons() -> None:
    from invoice_hub.validation.peppol import code_lists

    sch = etree.parse(str(SCHEMATRON))
    ns = {"s": "http://purl.oclc.org/dsdl/schematron"}
    lets = {let.get("name"): let.get("value") for let in sch.iterfind(".//s:let", ns)}
    for variable, codes in (
        ("MIMECODE", code_lists.MIME_CODES),
        ("UNCL2005", code_lists.UNCL2005),
        ("UNCL5189", code_lists.UNCL5189),
        ("UNCL7161", code_lists.UNCL7161),
        ("ISO4217", code_lists.ISO4217),
        ("eaid", code_lists.EAS),
    ):
        assert codes == _tokenized(lets[variable]), variable
    tests = {a.get("id"): a.get("test") for a in sch.iterfind(".//s:assert", ns)}
    assert _tokenized(tests["PEPPOL-EN16931-P0100"]) == code_lists.PROFILE_01_INVOICE_TYPES
    assert _tokenized(tests["PEPPOL-EN16931-P0101"]) == code_lists.PROFILE_01_CREDIT_NOTE_TYPES
