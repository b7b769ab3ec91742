"""PEPPOL BIS 3 national rules for Germany (DE-R-*): each passes on a German invoice and fires on a
mutation of it.

The German invoice is the official base example moved to Germany (seller and buyer in DE, German VAT
identifiers, a seller contact, SEPA credit transfer to a valid IBAN); it passes every DE rule. Each
case first makes its rule apply (``setup``: a direct debit, a corrected invoice, ...), checks that the
rule holds, then breaks it. The same break on an invoice to an Austrian buyer raises no DE rule: they
apply only when both parties are in Germany.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.validation.en16931.registry import RULES
from invoice_hub.validation.peppol import check_peppol
from invoice_hub.validation.peppol.national.germany import _iban_ok, _skonto_ok
from tests.peppol_helpers import ensure, find, fired, load, q, remove, set_text

Mutation = Callable[[etree._Element], object]
SUP = "cac:AccountingSupplierParty/cac:Party"
BUY = "cac:AccountingCustomerParty/cac:Party"
PM = "cac:PaymentMeans"
COUNTRY = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
IBAN = "DE89370400440532013000"  # the ISO 13616 example IBAN: check digits valid
BAD_IBAN = "DE88370400440532013000"


def german() -> etree._Element:
    """The base example, seller and buyer in Germany, meeting every DE rule."""
    root = load()
    set_text(root, f"{SUP}/{COUNTRY}", "DE")
    set_text(root, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "DE123456789")
    set_text(root, f"{BUY}/{COUNTRY}", "DE")
    set_text(root, f"{BUY}/cac:PartyTaxScheme/cbc:CompanyID", "DE987654321")
    set_text(root, f"{SUP}/cac:Contact/cbc:Name", "Erika Mustermann")
    set_text(root, f"{SUP}/cac:Contact/cbc:Telephone", "+49 30 1234567")
    set_text(root, f"{SUP}/cac:Contact/cbc:ElectronicMail", "erika@seller.de")
    set_text(root, f"{PM}/cbc:PaymentMeansCode", "58")
    set_text(root, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", IBAN)
    return root


def _before_supplier(root: etree._Element, name: str) -> etree._Element:
    """A new root child ``name`` where UBL puts document references: before the seller."""
    element = etree.Element(q(name))
    find(root, "cac:AccountingSupplierParty").addprevious(element)
    return element


def _attachment(root: etree._Element, filename: str) -> None:
    reference = _before_supplier(root, "cac:AdditionalDocumentReference")
    ensure(reference, "cbc:ID").text = filename
    binary = ensure(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    binary.set("mimeCode", "application/pdf")
    binary.set("filename", filename)
    binary.text = "aGVsbG8="


def _two_attachments(root: etree._Element) -> None:
    _attachment(root, "timesheet.pdf")
    _attachment(root, "delivery-note.pdf")


def _corrected(root: etree._Element) -> None:
    set_text(root, "cbc:InvoiceTypeCode", "384")
    ensure(
        _before_supplier(root, "cac:BillingReference"), "cac:InvoiceDocumentReference/cbc:ID"
    ).text = "INV-1"


def _direct_debit(root: etree._Element) -> None:
    """SEPA direct debit (59): mandate with the debited account, creditor id on the seller."""
    set_text(root, f"{PM}/cbc:PaymentMeansCode", "59")
    remove(root, f"{PM}/cac:PayeeFinancialAccount")
    set_text(root, f"{PM}/cac:PaymentMandate/cbc:ID", "MANDATE-1")
    set_text(root, f"{PM}/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID", IBAN)
    find(root, f"{SUP}/cac:PartyIdentification/cbc:ID").set("schemeID", "SEPA")


def _card(root: etree._Element) -> None:
    """Payment card (48) with its card information and no account or mandate."""
    set_text(root, f"{PM}/cbc:PaymentMeansCode", "48")
    remove(root, f"{PM}/cac:PayeeFinancialAccount")
    _add_card(root)


def _add_card(root: etree._Element) -> None:
    set_text(root, f"{PM}/cac:CardAccount/cbc:PrimaryAccountNumberID", "1234")
    set_text(root, f"{PM}/cac:CardAccount/cbc:NetworkID", "VISA")


def nothing(root: etree._Element) -> None:
    """No set-up: the German invoice already makes the rule apply."""


def _credit_transfer_30(root: etree._Element) -> None:
    set_text(root, f"{PM}/cbc:PaymentMeansCode", "30")


def _transfer_to_any_account(root: etree._Element) -> None:
    """Credit transfer (30): DE-R-019 asks for an IBAN with code 58 only."""
    _credit_transfer_30(root)
    set_text(root, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "IBAN32423940")


#: (rule, set-up that makes it apply and hold, mutation that breaks it)
CASES: list[tuple[str, Mutation, Mutation]] = [
    ("DE-R-001", nothing, lambda r: remove(r, PM)),
    ("DE-R-015", nothing, lambda r: set_text(r, "cbc:BuyerReference", " ")),
    ("DE-R-015", nothing, lambda r: remove(r, "cbc:BuyerReference")),
    ("DE-R-016", nothing, lambda r: remove(r, f"{SUP}/cac:PartyTaxScheme")),
    ("DE-R-016", nothing, lambda r: set_text(r, f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", "  ")),
    ("DE-R-017", nothing, lambda r: set_text(r, "cbc:InvoiceTypeCode", "383")),
    ("DE-R-017", nothing, lambda r: set_text(r, "cbc:InvoiceTypeCode", " 380")),  # a string comparison
    (
        "DE-R-018",
        lambda r: set_text(r, "cac:PaymentTerms/cbc:Note", "#SKONTO#TAGE=7#PROZENT=2.00#\n"),
        lambda r: set_text(r, "cac:PaymentTerms/cbc:Note", "#SKONTO#TAGE=7#PROZENT=2.0#\n"),
    ),
    (
        "DE-R-018",
        lambda r: set_text(
            r,
            "cac:PaymentTerms/cbc:Note",
            "Zahlbar sofort\n#SKONTO#TAGE=7#PROZENT=2.00#\n#SKONTO#TAGE=14#PROZENT=1.00#BASISBETRAG=-10.50#\n",
        ),
        lambda r: set_text(r, "cac:PaymentTerms/cbc:Note", "#SKONTO#TAGE=7#PROZENT=2.00#"),  # no line break
    ),
    (
        "DE-R-018",
        nothing,
        lambda r: set_text(r, "cac:PaymentTerms/cbc:Note", "#skonto#TAGE=7#PROZENT=2.00#\n"),  # lower case
    ),
    ("DE-R-022", _two_attachments, lambda r: _attachment(r, "timesheet.pdf")),
    ("DE-R-026", _corrected, lambda r: remove(r, "cac:BillingReference")),
    ("DE-R-030", _direct_debit, lambda r: find(r, f"{SUP}/cac:PartyIdentification/cbc:ID").attrib.pop("schemeID")),
    ("DE-R-031", _direct_debit, lambda r: remove(r, f"{PM}/cac:PaymentMandate/cac:PayerFinancialAccount")),
    ("DE-R-002", nothing, lambda r: remove(r, f"{SUP}/cac:Contact")),
    ("DE-R-003", nothing, lambda r: remove(r, f"{SUP}/cac:PostalAddress/cbc:CityName")),
    ("DE-R-004", nothing, lambda r: set_text(r, f"{SUP}/cac:PostalAddress/cbc:PostalZone", "")),
    ("DE-R-005", nothing, lambda r: remove(r, f"{SUP}/cac:Contact/cbc:Name")),
    ("DE-R-006", nothing, lambda r: remove(r, f"{SUP}/cac:Contact/cbc:Telephone")),
    ("DE-R-007", nothing, lambda r: remove(r, f"{SUP}/cac:Contact/cbc:ElectronicMail")),
    ("DE-R-027", nothing, lambda r: set_text(r, f"{SUP}/cac:Contact/cbc:Telephone", "+49")),
    ("DE-R-028", nothing, lambda r: set_text(r, f"{SUP}/cac:Contact/cbc:ElectronicMail", "erika@@seller.de")),
    ("DE-R-028", nothing, lambda r: set_text(r, f"{SUP}/cac:Contact/cbc:ElectronicMail", "erika.@seller")),
    ("DE-R-008", nothing, lambda r: remove(r, f"{BUY}/cac:PostalAddress/cbc:CityName")),
    ("DE-R-009", nothing, lambda r: remove(r, f"{BUY}/cac:PostalAddress/cbc:PostalZone")),
    ("DE-R-010", nothing, lambda r: remove(r, "cac:Delivery/cac:DeliveryLocation/cac:Address/cbc:CityName")),
    ("DE-R-011", nothing, lambda r: set_text(r, "cac:Delivery/cac:DeliveryLocation/cac:Address/cbc:PostalZone", " ")),
    ("DE-R-019", nothing, lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", BAD_IBAN)),
    ("DE-R-019", _transfer_to_any_account, lambda r: set_text(r, f"{PM}/cbc:PaymentMeansCode", "58")),
    (
        "DE-R-019",
        lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "DE89 3704 0044 0532 0130 00"),
        lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", "de89370400440532013000"),
    ),
    ("DE-R-023-1", _credit_transfer_30, lambda r: remove(r, f"{PM}/cac:PayeeFinancialAccount")),
    ("DE-R-023-2", nothing, _add_card),
    ("DE-R-023-2", nothing, lambda r: set_text(r, f"{PM}/cac:PaymentMandate/cbc:ID", "MANDATE-1")),
    ("DE-R-024-1", _card, lambda r: remove(r, f"{PM}/cac:CardAccount")),
    ("DE-R-024-2", _card, lambda r: set_text(r, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", IBAN)),
    ("DE-R-020", _direct_debit, lambda r: set_text(r, f"{PM}/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID", BAD_IBAN)),
    ("DE-R-025-1", _direct_debit, lambda r: remove(r, f"{PM}/cac:PaymentMandate")),
    ("DE-R-025-2", _direct_debit, _add_card),
    ("DE-R-014", nothing, lambda r: remove(r, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent")),
]  # fmt: skip

COVERED_RULES = frozenset(rule_id for rule_id, _, _ in CASES)
DE_RULES = {rule_id for rule_id in RULES if rule_id.startswith("DE-R-")}


def _de(root: etree._Element) -> set[str]:
    return {rule_id for rule_id in fired(root) if rule_id.startswith("DE-R-")}


def test_the_german_invoice_meets_every_de_rule() -> None:
    assert _de(german()) == set()


def test_every_de_rule_has_a_case() -> None:
    assert COVERED_RULES == DE_RULES
    assert len(DE_RULES) == 30


@pytest.mark.parametrize(("rule_id", "setup", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_passes_then_fires(rule_id: str, setup: Mutation, mutate: Mutation) -> None:
    root = german()
    setup(root)
    assert _de(root) == set(), f"{rule_id}: the set-up breaks a DE rule"
    mutate(root)
    assert rule_id in _de(root), f"{rule_id} does not fire on the mutated example"


@pytest.mark.parametrize(("rule_id", "setup", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_rule_does_not_apply_to_a_buyer_outside_germany(
    rule_id: str, setup: Mutation, mutate: Mutation
) -> None:
    root = german()
    set_text(root, f"{BUY}/{COUNTRY}", "AT")
    setup(root)
    mutate(root)
    assert _de(root) == set()


def test_the_countries_are_read_trimmed_and_case_blind() -> None:
    """``upper-case(normalize-space(...)) = 'DE'``: `` de `` is Germany; the VAT prefix is not asked."""
    root = german()
    set_text(root, f"{SUP}/{COUNTRY}", " de ")
    remove(root, f"{SUP}/cac:Contact")
    assert "DE-R-002" in _de(root)
    root = german()
    set_text(root, f"{SUP}/{COUNTRY}", "AT")  # the seller's VAT id still says DE
    remove(root, f"{SUP}/cac:Contact")
    assert _de(root) == set()


def test_a_tax_representative_satisfies_de_r_016() -> None:
    root = german()
    remove(root, f"{SUP}/cac:PartyTaxScheme")
    representative = etree.Element(q("cac:TaxRepresentativeParty"))
    find(root, "cac:Delivery").addprevious(representative)
    ensure(representative, "cac:PartyName/cbc:Name").text = "Vertreter GmbH"
    assert "DE-R-016" not in _de(root)


def test_a_german_credit_note_is_checked_too() -> None:
    root = load("examples_base-creditnote-correction.xml")
    for party in (SUP, BUY):
        set_text(root, f"{party}/{COUNTRY}", "DE")
    remove(root, "cbc:BuyerReference")
    assert {"DE-R-015"} <= _de(root)


def test_finding_has_official_flag_and_points_at_the_payment_means() -> None:
    root = german()
    set_text(root, f"{PM}/cac:PayeeFinancialAccount/cbc:ID", BAD_IBAN)
    finding = next(f for f in check_peppol(root) if f.rule == "DE-R-019")
    assert finding.severity == "warning"
    assert finding.location == "/Invoice/cac:PaymentMeans"
    assert finding.message.startswith(
        'The element "Payment account identifier" (BT-84) should contain a valid IBAN'
    )


# -- properties: the IBAN and cash discount tests, on generated values --------------------------------

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _with_check_digits(country: str, bban: str) -> str:
    """An IBAN made as ISO 13616 makes it: 98 minus the remainder of BBAN + country + 00."""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


_COUNTRIES = st.text(_UPPER, min_size=2, max_size=2)
_BBANS = st.text("0123456789" + _UPPER, min_size=1, max_size=30)


@given(_COUNTRIES, _BBANS)
def test_every_iban_with_right_check_digits_passes(country: str, bban: str) -> None:
    iban = _with_check_digits(country, bban)
    assert _iban_ok(iban)
    assert _iban_ok(" ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))  # printed in groups


@given(_COUNTRIES, _BBANS, st.data())
def test_a_changed_character_fails_the_iban_check(country: str, bban: str, data: st.DataObject) -> None:
    """Mod 97 catches every single substitution of a digit by another digit."""
    iban = _with_check_digits(country, bban)
    positions = [i for i, c in enumerate(iban) if c.isdigit()]
    position = data.draw(st.sampled_from(positions))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != iban[position]]))
    assert not _iban_ok(iban[:position] + other + iban[position + 1 :])


_ROWS = st.lists(
    st.builds(
        lambda days, percent, base: (
            f"#SKONTO#TAGE={days}#PROZENT={percent}#" + (f"BASISBETRAG={base}#" if base else "")
        ),
        st.integers(0, 999),
        st.decimals(0, 100, places=2).map(str),
        st.one_of(st.none(), st.decimals(-(10**6), 10**6, places=2).map(str)),
    ),
    min_size=1,
    max_size=4,
)


@given(_ROWS, st.sampled_from(["", "Zahlbar innerhalb 30 Tagen\n"]))
def test_well_formed_cash_discount_rows_pass_and_need_their_last_line_break(
    rows: list[str], lead: str
) -> None:
    root = german()
    note = find(root, "cac:PaymentTerms/cbc:Note")
    note.text = lead + "\n".join(rows) + "\n"
    assert _skonto_ok(root)
    note.text = note.text.rstrip("\n")
    assert not _skonto_ok(root)
