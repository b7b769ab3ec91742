"""PEPPOL BIS 3 national rules for Germany (DE-R-*): XRechnung's requirements on a domestic invoice.

They apply when both the seller's and the buyer's postal address country (BT-40, BT-55) is ``DE``
(``$supplierCountryIsDE and $customerCountryIsDE``), to an Invoice and a CreditNote alike. Each
assertion is evaluated at the context the schematron gives it (the document, the seller, each postal
address, each payment means, each VAT breakdown) with its test as written: codes compared as strings
where the schematron compares strings, as numbers where it compares with numbers (``= (30, 58)``).
"""

from __future__ import annotations

import re

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, every, exists, first, norm, text
from invoice_hub.validation.en16931.registry import Flag, checks, define
from invoice_hub.validation.peppol.identifiers import xs_number
from invoice_hub.validation.peppol.national import both_german

SUPPLIER, CUSTOMER = "cac:AccountingSupplierParty", "cac:AccountingCustomerParty"

# The official flags and messages (PEPPOL-EN16931-UBL.sch 3.0.19), in the schematron's order.
_RULES: tuple[tuple[str, Flag, str], ...] = (
    ("DE-R-001", "fatal", 'An invoice shall contain information on "PAYMENT INSTRUCTIONS" (BG-16).'),
    ("DE-R-015", "fatal", 'The element "Buyer reference" (BT-10) shall be provided.'),
    ("DE-R-016", "fatal", 'If one of the VAT codes S, Z, E, AE, K, G, L, or M is used, an invoice shall contain at least one of the following elements: "Seller VAT identifier" (BT-31) or "Seller tax registration identifier" (BT-32) or "SELLER TAX REPRESENTATIVE PARTY" (BG-11).'),
    ("DE-R-017", "warning", 'The element "Invoice type code" (BT-3) should only contain the following values from code list UNTDID 1001: 326 (Partial invoice), 380 (Commercial invoice), 384 (Corrected invoice), 389 (Self-billed invoice), 381 (Credit note), 875 (Partial construction invoice), 876 (Partial final construction invoice), 877 (Final construction invoice).'),
    ("DE-R-018", "fatal", 'Information on cash discounts for prompt payment (Skonto) shall be provided within the element "Payment terms" BT-20 in the following way: First segment "SKONTO", second segment amount of days ("TAGE=N"), third segment percentage ("PROZENT=N"). Percentage must be separated by dot with two decimal places. In case the base value of the invoiced amount is not provided in BT-115 but as a partial amount, the base value shall be provided as fourth segment "BASISBETRAG=N" as semantic data type amount. Each entry shall start with a #, the segments must be separated by # and a row shall end with a #. A complete statement on cash discount for prompt payment shall end with a XML-conformant line break. All statements on cash discount for prompt payment shall be given in capital letters. Additional whitespaces (blanks, tabulators or line breaks) are not allowed. Other characters or texts than defined above are not allowed.'),
    ("DE-R-022", "fatal", 'Attached documents provided with an invoice in "ADDITIONAL SUPPORTING DOCUMENTS" (BG-24) shall have a unique filename (non case-sensitive) within the element ″Attached document″ (BT-125).'),
    ("DE-R-026", "warning", 'If "Invoice type code" (BT-3) contains the code 384 (Corrected invoice), "PRECEDING INVOICE REFERENCE" (BG-3) should be provided at least once.'),
    ("DE-R-030", "fatal", 'If the group "DIRECT DEBIT" (BG-19) is delivered, the element "Bank assigned creditor identifier" (BT-90) shall be provided.'),
    ("DE-R-031", "fatal", 'If the group "DIRECT DEBIT" (BG-19) is delivered, the element "Debited account identifier" (BT-91) shall be provided.'),
    ("DE-R-002", "fatal", 'The group "SELLER CONTACT" (BG-6) shall be provided.'),
    ("DE-R-003", "fatal", 'The element "Seller city" (BT-37) shall be provided.'),
    ("DE-R-004", "fatal", 'The element "Seller post code" (BT-38) shall be provided.'),
    ("DE-R-005", "fatal", 'The element "Seller contact point" (BT-41) shall be provided.'),
    ("DE-R-006", "fatal", 'The element "Seller contact telephone number" (BT-42) shall be provided.'),
    ("DE-R-007", "fatal", 'The element "Seller contact email address" (BT-43) shall be provided.'),
    ("DE-R-027", "warning", '"Seller contact telephone number" (BT-42) should contain a valid telephone number. A valid telephone should consist of 3 digits minimum.'),
    ("DE-R-028", "warning", '"Seller contact email address" (BT-43) should contain exactly one @-sign, which should not be framed by a whitespace or a dot but by at least two characters on each side. A dot should not be the first or last character.'),
    ("DE-R-008", "fatal", 'The element "Buyer city" (BT-52) shall be provided.'),
    ("DE-R-009", "fatal", 'The element "Buyer post code" (BT-53) shall be provided.'),
    ("DE-R-010", "fatal", 'The element "Deliver to city" (BT-77) shall be provided if the group "DELIVER TO ADDRESS" (BG-15) is delivered.'),
    ("DE-R-011", "fatal", 'The element "Deliver to post code" (BT-78) shall be provided if the group "DELIVER TO ADDRESS" (BG-15) is delivered.'),
    ("DE-R-019", "warning", 'The element "Payment account identifier" (BT-84) should contain a valid IBAN if code 58 SEPA is provided in "Payment means type code" (BT-81).'),
    ("DE-R-023-1", "fatal", 'If "Payment means type code" (BT-81) contains a code for credit transfer (30, 58), "CREDIT TRANSFER" (BG-17) shall be provided.'),
    ("DE-R-023-2", "fatal", 'If "Payment means type code" (BT-81) contains a code for credit transfer (30, 58), BG-18 and BG-19 shall not be provided.'),
    ("DE-R-024-1", "fatal", 'If "Payment means type code" (BT-81) contains a code for payment card (48, 54, 55), "PAYMENT CARD INFORMATION" (BG-18) shall be provided.'),
    ("DE-R-024-2", "fatal", 'If "Payment means type code" (BT-81) contains a code for payment card (48, 54, 55), BG-17 and BG-19 shall not be provided.'),
    ("DE-R-020", "warning", 'The element "Debited account identifier" (BT-91) should contain a valid IBAN if code 59 SEPA is provided in "Payment means type code" (BT-81).'),
    ("DE-R-025-1", "fatal", 'If "Payment means type code" (BT-81) contains a code for direct debit (59), "DIRECT DEBIT" (BG-19) shall be provided.'),
    ("DE-R-025-2", "fatal", 'If "Payment means type code" (BT-81) contains a code for direct debit (59), BG-17 and BG-18 shall not be provided.'),
    ("DE-R-014", "fatal", 'The element "VAT category rate" (BT-119) shall be provided.'),
)  # fmt: skip
for _id, _flag, _message in _RULES:
    define(_id, _flag, _message)

#: ``$XR-SKONTO-REGEX``, ``$XR-EMAIL-REGEX``: XPath's ``matches`` searches, and ``$`` is the string's end.
_SKONTO = re.compile(r"#(SKONTO)#TAGE=([0-9]+#PROZENT=[0-9]+\.[0-9]{2})(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#\Z")
_EMAIL_CHARS = r"[a-zA-Z0-9!#$%&\"*+/=?^_`{|}~-]+"
_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?"
_EMAIL = re.compile(rf"^{_EMAIL_CHARS}(\.{_EMAIL_CHARS})*@({_LABEL}\.)+{_LABEL}\Z")
#: ``tokenize(., '(\r?\n)')`` and ``tokenize(., '#.+#')``; XPath's ``.`` matches neither CR nor LF.
_LINE_BREAK = re.compile(r"\r?\n")
_SEGMENTS = re.compile(r"#[^\r\n]+#")
#: ``'^\s*\n'``: what follows the last cash discount row starts with a line break (XPath's ``\s``).
_ENDS_ROW = re.compile(r"[ \t\r\n]*\n")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{0,30}")
_XPATH_SPACE = re.compile(r"[ \t\r\n]")

_VAT_CODES = {"S", "Z", "E", "AE", "K", "G", "L", "M"}
_TYPE_CODES = {"326", "380", "384", "389", "381", "875", "876", "877"}
_CREDIT_TRANSFER = {30, 58}
_PAYMENT_CARD = {48, 54, 55}


def _given(parent: etree._Element | None, path: str) -> bool:
    """``path[boolean(normalize-space(.))]``: an element at ``path`` with more than white space."""
    return any(norm(e.text) for e in every(parent, path))


def _iban_ok(account: str | None) -> bool:
    """The schematron's IBAN test: white space removed, ``^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{0,30}$``, and
    the ISO 13616 check (first four characters moved to the end, a letter as its code point - 55,
    a digit as its value) leaving 1 modulo 97. Lower-case letters count as their code point - 55 too,
    as the schematron computes them."""
    iban = _XPATH_SPACE.sub("", account or "")
    if not _IBAN.fullmatch(iban):
        return False
    moved = iban[4:] + iban[:2].upper() + iban[2:4]
    digits = "".join(str(ord(c) - 55) if ord(c) > 64 else str(ord(c) - 48) for c in moved)
    return int(digits) % 97 == 1


def _skonto_ok(root: etree._Element) -> bool:
    """DE-R-018 on the first note of each payment terms: every row that starts with ``#`` is a
    well-formed cash discount row, and the text after the last ``#...#`` starts with a line break.

    The schematron passes the tails of all notes to one ``matches``, a dynamic error when there are
    two; here each of them must then start with a line break."""
    notes = [
        n.text or "" for n in (first(t, "cbc:Note") for t in every(root, "cac:PaymentTerms")) if n is not None
    ]
    rows = [row for note in notes for row in _LINE_BREAK.split(note) if norm(row).startswith("#")]
    if not rows:
        return True  # ``every`` over no row
    tails = [_SEGMENTS.split(note)[-1] for note in notes if note]  # tokenize("") is the empty sequence
    return (
        all(_SKONTO.search(norm(row)) for row in rows)
        and bool(tails)
        and all(_ENDS_ROW.match(tail) for tail in tails)
    )


def _vat_codes_used(doc: Doc) -> bool:
    """DE-R-016's condition: a document level allowance or charge (BT-95, BT-102) or a line (BT-151)
    has one of the categories S, Z, E, AE, K, G, L, M (``$BT-95-UBL-Inv`` adds nothing to
    ``$BT-95-UBL-CN``: it is the same set narrowed to VAT, so the pair reads as BT-95 alone)."""
    for charge in every(doc.root, "cac:AllowanceCharge"):
        if any(e.text in ("false", "true") for e in every(charge, "cbc:ChargeIndicator")) and any(
            e.text in _VAT_CODES for e in every(charge, "cac:TaxCategory/cbc:ID")
        ):
            return True
    return any(
        e.text in _VAT_CODES
        for line in doc.lines
        for e in every(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID")
    )


def _document(doc: Doc) -> None:
    root = doc.root
    doc.fail_unless(exists(root, "cac:PaymentMeans"), "DE-R-001", root)
    doc.fail_unless(_given(root, "cbc:BuyerReference"), "DE-R-015", root)
    seller_tax_id = _given(root, f"{SUPPLIER}/cac:Party/cac:PartyTaxScheme/cbc:CompanyID")
    doc.fail_unless(
        not _vat_codes_used(doc) or exists(root, "cac:TaxRepresentativeParty") or seller_tax_id,
        "DE-R-016",
        root,
    )
    type_codes = every(root, "cbc:InvoiceTypeCode") + every(root, "cbc:CreditNoteTypeCode")
    doc.fail_unless(any(e.text in _TYPE_CODES for e in type_codes), "DE-R-017", root)
    doc.fail_unless(_skonto_ok(root), "DE-R-018", root)
    filenames: set[str] = set()
    for reference in every(root, "cac:AdditionalDocumentReference"):
        names = {
            name
            for e in every(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
            if (name := e.get("filename")) is not None
        }
        if names & filenames:  # equal, as XPath compares strings, to one of a preceding reference
            doc.fail("DE-R-022", reference, once=True)
        filenames |= names
    corrected = any(xs_number(e.text or "") == 384 for e in type_codes)  # ``= 384``: a numeric comparison
    doc.fail_unless(
        not corrected or exists(root, "cac:BillingReference/cac:InvoiceDocumentReference"), "DE-R-026", root
    )
    if exists(root, "cac:PaymentMeans/cac:PaymentMandate"):
        creditor_ids = every(root, f"{SUPPLIER}/cac:Party/cac:PartyIdentification/cbc:ID") + every(
            root, "cac:PayeeParty/cac:PartyIdentification/cbc:ID"
        )
        doc.fail_unless(any(e.get("schemeID") == "SEPA" for e in creditor_ids), "DE-R-030", root)
        doc.fail_unless(
            exists(root, "cac:PaymentMeans/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"),
            "DE-R-031",
            root,
        )


def _parties(doc: Doc) -> None:
    root = doc.root
    for seller in every(root, SUPPLIER):
        doc.fail_unless(exists(seller, "cac:Party/cac:Contact"), "DE-R-002", seller)
    for address in every(root, f"{SUPPLIER}/cac:Party/cac:PostalAddress"):
        doc.fail_unless(_given(address, "cbc:CityName"), "DE-R-003", address)
        doc.fail_unless(_given(address, "cbc:PostalZone"), "DE-R-004", address)
    for contact in every(root, f"{SUPPLIER}/cac:Party/cac:Contact"):
        doc.fail_unless(_given(contact, "cbc:Name"), "DE-R-005", contact)
        doc.fail_unless(_given(contact, "cbc:Telephone"), "DE-R-006", contact)
        doc.fail_unless(_given(contact, "cbc:ElectronicMail"), "DE-R-007", contact)
        telephone = norm(text(contact, "cbc:Telephone"))
        doc.fail_unless(sum(c in "0123456789" for c in telephone) >= 3, "DE-R-027", contact)
        doc.fail_unless(bool(_EMAIL.search(norm(text(contact, "cbc:ElectronicMail")))), "DE-R-028", contact)
    for address in every(root, f"{CUSTOMER}/cac:Party/cac:PostalAddress"):
        doc.fail_unless(_given(address, "cbc:CityName"), "DE-R-008", address)
        doc.fail_unless(_given(address, "cbc:PostalZone"), "DE-R-009", address)
    for address in every(root, "cac:Delivery/cac:DeliveryLocation/cac:Address"):
        doc.fail_unless(_given(address, "cbc:CityName"), "DE-R-010", address)
        doc.fail_unless(_given(address, "cbc:PostalZone"), "DE-R-011", address)


def _payment_means(doc: Doc) -> None:
    """The three payment means rules: the first whose code matches (as a number) is the one applied."""
    for means in every(doc.root, "cac:PaymentMeans"):
        codes = every(means, "cbc:PaymentMeansCode")
        numbers = {xs_number(e.text or "") for e in codes}  # a code that is no number: NaN, in no set
        named = {e.text for e in codes}  # ``cbc:PaymentMeansCode = '58'``: a string comparison
        card, mandate, transfer = (
            exists(means, "cac:CardAccount"),
            exists(means, "cac:PaymentMandate"),
            exists(means, "cac:PayeeFinancialAccount"),
        )
        if numbers & _CREDIT_TRANSFER:
            account = text(means, "cac:PayeeFinancialAccount/cbc:ID")
            doc.fail_unless("58" not in named or _iban_ok(account), "DE-R-019", means)
            doc.fail_unless(transfer, "DE-R-023-1", means)
            doc.fail_unless(not card and not mandate, "DE-R-023-2", means)
        elif numbers & _PAYMENT_CARD:
            doc.fail_unless(card, "DE-R-024-1", means)
            doc.fail_unless(not transfer and not mandate, "DE-R-024-2", means)
        elif 59 in numbers:
            account = text(means, "cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID")
            doc.fail_unless("59" not in named or _iban_ok(account), "DE-R-020", means)
            doc.fail_unless(mandate, "DE-R-025-1", means)
            doc.fail_unless(not transfer and not card, "DE-R-025-2", means)


@checks(*(rule_id for rule_id, _, _ in _RULES))
def _germany(doc: Doc) -> None:
    """Every DE-R rule, on a document whose seller and buyer are both in Germany."""
    if not both_german(doc):
        return
    _document(doc)
    _parties(doc)
    _payment_means(doc)
    for subtotal in every(doc.root, "cac:TaxTotal/cac:TaxSubtotal"):
        doc.fail_unless(_given(subtotal, "cac:TaxCategory/cbc:Percent"), "DE-R-014", subtotal)
