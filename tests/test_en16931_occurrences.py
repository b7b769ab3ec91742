"""EN 16931 UBL-SR rules (how often an element may occur), each exercised both ways on an official example.

Each case first makes the rule apply (the element once, a payee with a name of its own, ...) and checks
that the rule holds, then breaks it (the element twice, ...) and checks that it fires.
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from tests.test_en16931_rules import (
    BUY,
    L1,
    PREFIX,
    SUB,
    SUP,
    Mutation,
    _add_allowance,
    add_tax_scheme,
    ensure,
    find,
    fired,
    load,
    nothing,
    q,
    remove,
    set_text,
)

#: rule -> (the element that may occur at most once, a child to fill in or ""): the case puts the
#: element there once (the rule holds), then twice (it fires).
TWICE: dict[str, tuple[str, str]] = {
    "UBL-SR-02": ("cac:ReceiptDocumentReference/cbc:ID", ""),
    "UBL-SR-03": ("cac:DespatchDocumentReference/cbc:ID", ""),
    "UBL-SR-05": ("cac:PaymentTerms/cbc:Note", ""),
    "UBL-SR-06": ("cac:BillingReference/cac:InvoiceDocumentReference", "cbc:ID"),
    "UBL-SR-09": (f"{SUP}/cac:PartyLegalEntity/cbc:RegistrationName", ""),
    "UBL-SR-10": (f"{SUP}/cac:PartyName/cbc:Name", ""),
    "UBL-SR-11": (f"{SUP}/cac:PartyLegalEntity/cbc:CompanyID", ""),
    "UBL-SR-12": (f"{SUP}/cac:PartyTaxScheme/cbc:CompanyID", ""),
    "UBL-SR-14": (f"{SUP}/cac:PartyLegalEntity/cbc:CompanyLegalForm", ""),
    "UBL-SR-15": (f"{BUY}/cac:PartyLegalEntity/cbc:RegistrationName", ""),
    "UBL-SR-16": (f"{BUY}/cac:PartyIdentification/cbc:ID", ""),
    "UBL-SR-17": (f"{BUY}/cac:PartyLegalEntity/cbc:CompanyID", ""),
    "UBL-SR-19": ("cac:PayeeParty/cac:PartyName/cbc:Name", ""),
    "UBL-SR-22": ("cac:TaxRepresentativeParty/cac:PartyName/cbc:Name", ""),
    # the tax representative is the party itself: its cac:PartyTaxScheme/cbc:CompanyID (the artefacts
    # before 2026 read cac:Party/cac:PartyTaxScheme below it, an element UBL does not have there)
    "UBL-SR-23": ("cac:TaxRepresentativeParty/cac:PartyTaxScheme/cbc:CompanyID", ""),
    "UBL-SR-25": ("cac:Delivery/cac:DeliveryParty/cac:PartyName/cbc:Name", ""),
    "UBL-SR-26": ("cac:PaymentMeans/cbc:PaymentID", ""),
    "UBL-SR-27": ("cac:PaymentMeans/cbc:PaymentMeansCode", ""),
    "UBL-SR-28": ("cac:PaymentMeans/cac:PaymentMandate/cbc:ID", ""),
    "UBL-SR-32": (f"{SUB}/cac:TaxCategory/cbc:TaxExemptionReason", ""),
    "UBL-SR-33": ("cac:AdditionalDocumentReference/cbc:DocumentDescription", ""),
    "UBL-SR-35": (f"{L1}/cac:OrderLineReference/cbc:LineID", ""),
    "UBL-SR-36": (f"{L1}/cac:InvoicePeriod", "cbc:StartDate"),
    "UBL-SR-37": (f"{L1}/cac:Price/cac:AllowanceCharge/cbc:Amount", ""),
    "UBL-SR-39": ("cac:ProjectReference/cbc:ID", ""),
    "UBL-SR-40": (f"{BUY}/cac:PartyName/cbc:Name", ""),
    "UBL-SR-45": ("cac:PaymentMeans/cbc:PaymentDueDate", ""),
    "UBL-SR-49": ("cac:InvoicePeriod/cbc:DescriptionCode", ""),
    "UBL-SR-50": (f"{L1}/cac:Item/cbc:Description", ""),
    "UBL-SR-52": (f"{L1}/cac:DocumentReference", "cbc:ID"),
    # BR-66 and BR-67 before the 2026 artefacts
    "UBL-SR-54": ("cac:PaymentMeans/cac:CardAccount", "cbc:PrimaryAccountNumberID"),
    "UBL-SR-55": ("cac:PaymentMeans/cac:PaymentMandate", "cbc:ID"),
    "UBL-SR-56": ("cac:OriginatorDocumentReference/cbc:ID", ""),
}


def once(root: etree._Element, path: str, child: str = "") -> etree._Element:
    """The element at ``path`` (created where missing), with a text in it or in its ``child``."""
    element = ensure(root, path)
    filled = ensure(element, child) if child else element
    if filled.text is None:
        filled.text = "1"
    return element


def twice(root: etree._Element, path: str) -> None:
    """A second copy of the element at ``path``, right after it."""
    element = find(root, path)
    element.addnext(copy.deepcopy(element))


def _payee(root: etree._Element, path: str = "") -> None:
    """A payee with a name of its own (so the payee rules apply), and the element at ``path`` once."""
    set_text(root, "cac:PayeeParty/cac:PartyName/cbc:Name", "Factoring Company")
    if path:
        once(root, f"cac:PayeeParty/{path}")


def _sepa(root: etree._Element, party: str, identifier: str) -> None:
    """A SEPA creditor identifier (cbc:ID schemeID="SEPA") in ``party``'s identification."""
    identification = etree.Element(q("cac:PartyIdentification"))
    find(root, party).insert(0, identification)
    ensure(identification, "cbc:ID").text = identifier
    identification[0].set("schemeID", "SEPA")


def _name_payment_means(root: etree._Element, count: int) -> None:
    for code in root.findall("cac:PaymentMeans/cbc:PaymentMeansCode", PREFIX)[:count]:
        code.set("name", "Credit transfer")


def _second_payment_id(root: etree._Element) -> None:
    """A different payment reference in the example's second payment means (its first has one)."""
    means = root.findall("cac:PaymentMeans", PREFIX)[1]
    find(means, "cbc:PaymentMeansCode").addnext(etree.Element(q("cbc:PaymentID")))
    find(means, "cbc:PaymentID").text = "another reference"


IDR = "cac:BillingReference/cac:InvoiceDocumentReference"
ADR = "cac:AdditionalDocumentReference"

#: rule -> (make the rule apply and hold, break it)
STAGED: dict[str, tuple[Mutation, Mutation]] = {
    rule_id: (lambda r, p=path, c=child: once(r, p, c), lambda r, p=path: twice(r, p))
    for rule_id, (path, child) in TWICE.items()
}
STAGED |= {
    "UBL-SR-04": (
        lambda r: (once(r, f"{ADR}/cbc:ID"), set_text(r, f"{ADR}/cbc:DocumentTypeCode", "130")),
        lambda r: twice(r, f"{ADR}/cbc:ID"),
    ),
    "UBL-SR-07": (
        lambda r: once(r, f"{IDR}/cbc:ID"),
        lambda r: (set_text(r, f"{IDR}/cbc:IssueDate", "2015-01-01"), remove(r, f"{IDR}/cbc:ID")),
    ),
    "UBL-SR-13": (
        lambda r: add_tax_scheme(r, SUP, "4711", "TAX"),
        lambda r: twice(r, f"{SUP}/cac:PartyTaxScheme[2]/cbc:CompanyID"),
    ),
    "UBL-SR-18": (
        lambda r: add_tax_scheme(r, BUY, "NL123456789B01"),
        lambda r: twice(r, f"{BUY}/cac:PartyTaxScheme/cbc:CompanyID"),
    ),
    "UBL-SR-20": (
        lambda r: _payee(r, "cac:PartyIdentification/cbc:ID"),
        lambda r: twice(r, "cac:PayeeParty/cac:PartyIdentification/cbc:ID"),
    ),
    "UBL-SR-21": (
        lambda r: _payee(r, "cac:PartyLegalEntity/cbc:CompanyID"),
        lambda r: twice(r, "cac:PayeeParty/cac:PartyLegalEntity/cbc:CompanyID"),
    ),
    "UBL-SR-29": (
        lambda r: _sepa(r, SUP, "DE98ZZZ09999999999"),
        lambda r: (_payee(r), _sepa(r, "cac:PayeeParty", "NL46ZZZ123456780000")),
    ),
    "UBL-SR-30": (
        lambda r: _add_allowance(r, False),
        lambda r: twice(r, "cac:AllowanceCharge/cbc:AllowanceChargeReason"),
    ),
    "UBL-SR-31": (
        lambda r: _add_allowance(r, True),
        lambda r: twice(r, "cac:AllowanceCharge/cbc:AllowanceChargeReason"),
    ),
    "UBL-SR-42": (
        nothing,
        lambda r: (add_tax_scheme(r, SUP, "4711", "TAX"), add_tax_scheme(r, SUP, "4712", "GST")),
    ),
    "UBL-SR-43": (
        lambda r: once(r, f"{ADR}/cbc:ID"),
        lambda r: set_text(r, f"{ADR}/cbc:DocumentTypeCode", "916"),
    ),
    "UBL-SR-44": (nothing, _second_payment_id),
    "UBL-SR-46": (lambda r: _name_payment_means(r, 1), lambda r: _name_payment_means(r, 2)),
}


@pytest.mark.parametrize(
    ("rule_id", "setup", "mutate"), [(r, *m) for r, m in STAGED.items()], ids=list(STAGED)
)
def test_occurrence_rule_holds_then_fires(rule_id: str, setup: Mutation, mutate: Mutation) -> None:
    root = load()
    setup(root)
    assert rule_id not in fired(root), f"{rule_id} fires where the element occurs as allowed"
    mutate(root)
    assert rule_id in fired(root), f"{rule_id} does not fire on the broken example"
