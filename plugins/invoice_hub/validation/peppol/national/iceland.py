"""PEPPOL BIS 3 national rules for Iceland (IS-R-*): kennitala, addresses, bank claims and the EINDAGI.

The seller rules (IS-R-001 … -003, -006 … -010) apply when the seller's postal address country code
is ``IS`` as written (``$SupplierCountry``); the buyer rules (IS-R-004, -005) when the buyer's is too.
The messages are the official ones without their ``[IS-R-0NN]-`` prefix. The due date of the claim
(*eindagi*) is an additional document reference whose description is ``EINDAGI`` and whose id is the
date; IS-R-010 compares it with the due date as XPath compares two untyped values: as strings.
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, exists, first, norm, text
from invoice_hub.validation.en16931.registry import Flag, checks, define
from invoice_hub.validation.peppol.national import written_country
from invoice_hub.xsdtypes import xs_date

SUPPLIER, CUSTOMER = "cac:AccountingSupplierParty", "cac:AccountingCustomerParty"

# The official flags and messages (PEPPOL-EN16931-UBL.sch 3.0.19), in the schematron's order.
_RULES: tuple[tuple[str, Flag, str], ...] = (
    ("IS-R-001", "warning", "If seller is icelandic then invoice type should be 380 or 381 — Ef seljandi er íslenskur þá ætti gerð reiknings (BT-3) að vera sölureikningur (380) eða kreditreikningur (381)."),
    ("IS-R-002", "fatal", "If seller is icelandic then it shall contain sellers legal id — Ef seljandi er íslenskur þá skal reikningur innihalda íslenska kennitölu seljanda (BT-30)."),
    ("IS-R-003", "fatal", "If seller is icelandic then it shall contain his address with street name and zip code — Ef seljandi er íslenskur þá skal heimilisfang seljanda innihalda götuheiti og póstnúmer (BT-35 og BT-38)."),
    ("IS-R-006", "fatal", "If seller is icelandic and payment means code is 9 then a 12 digit account id must exist — Ef seljandi er íslenskur og greiðslumáti (BT-81) er krafa (kóti 9) þá skal koma fram 12 stafa númer (bankanúmer, höfuðbók 66 og reikningsnúmer) (BT-84)"),
    ("IS-R-007", "fatal", "If seller is icelandic and payment means code is 42 then a 12 digit account id must exist — Ef seljandi er íslenskur og greiðslumáti (BT-81) er millifærsla (kóti 42) þá skal koma fram 12 stafa reikningnúmer (BT-84)"),
    ("IS-R-008", "fatal", "If seller is icelandic and invoice contains supporting description EINDAGI then the id form must be YYYY-MM-DD — Ef seljandi er íslenskur þá skal eindagi (BT-122, DocumentDescription = EINDAGI) vera á forminu YYYY-MM-DD."),
    ("IS-R-009", "fatal", "If seller is icelandic and invoice contains supporting description EINDAGI invoice must have due date — Ef seljandi er íslenskur þá skal reikningur sem inniheldur eindaga (BT-122, DocumentDescription = EINDAGI) einnig hafa gjalddaga (BT-9)."),
    ("IS-R-010", "fatal", "If seller is icelandic and invoice contains supporting description EINDAGI the id date must be same or later than due date — Ef seljandi er íslenskur þá skal eindagi (BT-122, DocumentDescription = EINDAGI) skal vera sami eða síðar en gjalddagi (BT-9) ef eindagi er til staðar."),
    ("IS-R-004", "fatal", "If seller and buyer are icelandic then the invoice shall contain the buyers icelandic legal identifier — Ef seljandi og kaupandi eru íslenskir þá skal reikningurinn innihalda íslenska kennitölu kaupanda (BT-47)."),
    ("IS-R-005", "fatal", "If seller and buyer are icelandic then the invoice shall contain the buyers address with street name and zip code — Ef seljandi og kaupandi eru íslenskir þá skal heimilisfang kaupanda innihalda götuheiti og póstnúmer (BT-50 og BT-53)"),
)  # fmt: skip
for _id, _flag, _message in _RULES:
    define(_id, _flag, _message)

_KENNITALA = "0196"  # ICD of the Icelandic national registry number


def _has_kennitala(party: etree._Element | None) -> bool:
    """``exists(cac:PartyLegalEntity/cbc:CompanyID) and cac:PartyLegalEntity/cbc:CompanyID/@schemeID = '0196'``."""
    return any(e.get("schemeID") == _KENNITALA for e in every(party, "cac:PartyLegalEntity/cbc:CompanyID"))


def _street_and_zip(party: etree._Element | None) -> bool:
    return exists(party, "cac:PostalAddress/cbc:StreetName") and exists(
        party, "cac:PostalAddress/cbc:PostalZone"
    )


def _type_code_ok(root: etree._Element) -> bool:
    """IS-R-001: the (first) invoice or credit note type code, trimmed, is 380 or 381."""
    return any(
        norm(text(root, name)) in ("380", "381") for name in ("cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode")
    )


def _account_ok(root: etree._Element, code: str) -> bool:
    """IS-R-006/-007: payment means with ``code`` name an account whose (first) id is 12 characters."""
    means = [
        m
        for m in every(root, "cac:PaymentMeans")
        if any(e.text == code for e in every(m, "cbc:PaymentMeansCode"))
    ]
    accounts = [a for m in means for a in every(m, "cac:PayeeFinancialAccount/cbc:ID")]
    return not means or (bool(accounts) and len(norm(accounts[0].text)) == 12)


def _seller(doc: Doc) -> None:
    root = doc.root
    seller = first(root, f"{SUPPLIER}/cac:Party")
    doc.fail_unless(_type_code_ok(root), "IS-R-001", root)
    doc.fail_unless(_has_kennitala(seller), "IS-R-002", root)
    doc.fail_unless(_street_and_zip(seller), "IS-R-003", root)
    doc.fail_unless(_account_ok(root, "9"), "IS-R-006", root)
    doc.fail_unless(_account_ok(root, "42"), "IS-R-007", root)
    eindagi = [
        reference
        for reference in every(root, "cac:AdditionalDocumentReference")
        if any(e.text == "EINDAGI" for e in every(reference, "cbc:DocumentDescription"))
    ]
    if not eindagi:
        return
    dates = [e.text or "" for reference in eindagi for e in every(reference, "cbc:ID")]
    first_date = dates[0] if dates else ""
    doc.fail_unless(len(first_date) == 10 and xs_date(first_date) is not None, "IS-R-008", eindagi[0])
    due = [e.text or "" for e in every(root, "cbc:DueDate")]
    doc.fail_unless(bool(due), "IS-R-009", root)
    doc.fail_unless(any(d <= date for d in due for date in dates), "IS-R-010", eindagi[0])


@checks(*(rule_id for rule_id, _, _ in _RULES))
def _iceland(doc: Doc) -> None:
    """Every IS-R rule: the seller's when the seller is Icelandic, the buyer's when both are."""
    if written_country(doc, SUPPLIER) != "IS":
        return
    _seller(doc)
    if written_country(doc, CUSTOMER) == "IS":
        for buyer in every(doc.root, CUSTOMER):
            party = first(buyer, "cac:Party")
            doc.fail_unless(_has_kennitala(party), "IS-R-004", buyer)
            doc.fail_unless(_street_and_zip(party), "IS-R-005", buyer)
