"""UBL syntax rules of the EN 16931 binding: UBL-CR-* (elements EN 16931 does not use), UBL-SR-*
(how often an element may occur) and UBL-DT-* (data types and attributes).

The ~680 UBL-CR rules are data (``codelists/ubl-cr.txt``: id, flag, path, message): one walk of the
document checks every element's path against all of them at once, instead of one XPath per rule.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, NamedTuple, Protocol, cast

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, clark, decimals_ok, every, exists, first, norm, text
from invoice_hub.validation.en16931.registry import Flag, checks, define

_WHOLE, _TAIL = "=", "A UBL invoice should not include the "
_SPECIAL_CR = ("UBL-CR-002", "UBL-CR-412", "UBL-CR-665", "UBL-CR-666", "UBL-CR-673")

if TYPE_CHECKING:

    class _AttributeValue(Protocol):
        """What ``//*/@*`` selects: lxml's smart string of an attribute's value. Its name is a str and
        its element is always there (lxml-stubs allow str, bytes or None, and no element)."""

        attrname: str

        def getparent(self) -> etree._Element: ...


class _Restriction(NamedTuple):
    rule_id: str
    attribute: str | None


class _CrTable(NamedTuple):
    anchored: dict[tuple[str, ...], list[_Restriction]]  # path below the root -> rules
    anywhere: dict[
        int, dict[tuple[str, ...], list[_Restriction]]
    ]  # "//a/b": suffix length -> suffix -> rules
    attributes: dict[str, str]  # "//@name" -> rule


def _load_cr() -> list[tuple[str, Flag, str, str]]:
    data = files("invoice_hub.validation.en16931").joinpath("codelists", "ubl-cr.txt").read_text("utf-8")
    flags: dict[str, Flag] = {"w": "warning", "f": "fatal"}
    rows = []
    for line in data.splitlines():
        if line.startswith("UBL-CR-"):
            rule_id, flag, path, message = line.split("|", 3)
            message = message[1:] if message.startswith(_WHOLE) else _TAIL + message
            rows.append((rule_id, flags[flag], path, message))
    return rows


_CR_ROWS = _load_cr()
for _id, _flag, _path, _message in _CR_ROWS:
    define(_id, _flag, _message)


@cache
def _cr_table() -> _CrTable:
    table = _CrTable({}, defaultdict(dict), {})
    for rule_id, _, path, _ in _CR_ROWS:
        if path.startswith("*"):
            continue
        descendant = path.startswith("//")
        steps = path.removeprefix("//").split("/")
        attribute = steps.pop()[1:] if steps[-1].startswith("@") else None
        if not steps:
            assert attribute is not None  # the one step left was "@name"
            table.attributes[attribute] = rule_id
            continue
        variants: list[list[str]] = [[]]
        for step in steps:
            names = ("cac:InvoiceLine", "cac:CreditNoteLine") if step == "LINE" else (step,)
            variants = [[*v, clark(n)] for v in variants for n in names]
        for variant in variants:
            key = tuple(variant)
            target = table.anywhere[len(key)] if descendant else table.anchored
            target.setdefault(key, []).append(_Restriction(rule_id, attribute))
    return table


# -- UBL-DT ----------------------------------------------------------------------------------------
define("UBL-DT-01", "fatal", "Amounts shall be decimal up to two fraction digits")
define("UBL-DT-06", "fatal", "Binary object elements shall contain the mime code attribute")
define("UBL-DT-07", "fatal", "Binary object elements shall contain the file name attribute")
_DT_ATTRIBUTES = {
    "schemeName": ("UBL-DT-08", "Scheme name attribute should not be present"),
    "schemeAgencyName": ("UBL-DT-09", "Scheme agency name attribute should not be present"),
    "schemeDataURI": ("UBL-DT-10", "Scheme data uri attribute should not be present"),
    "schemeURI": ("UBL-DT-11", "Scheme uri attribute should not be present"),
    "format": ("UBL-DT-12", "Format attribute should not be present"),
    "unitCodeListIdentifier": ("UBL-DT-13", "Unit code list identifier attribute should not be present"),
    "unitCodeListAgencyIdentifier": (
        "UBL-DT-14",
        "Unit code list agency identifier attribute should not be present",
    ),
    "unitCodeListAgencyName": ("UBL-DT-15", "Unit code list agency name attribute should not be present"),
    "listAgencyName": ("UBL-DT-16", "List agency name attribute should not be present"),
    "listName": ("UBL-DT-17", "List name attribute should not be present"),
    "name": ("UBL-DT-18", "Name attribute should not be present"),
    "languageID": ("UBL-DT-19", "Language identifier attribute should not be present"),
    "listURI": ("UBL-DT-20", "List uri attribute should not be present"),
    "listSchemeURI": ("UBL-DT-21", "List scheme uri attribute should not be present"),
    "languageLocaleID": ("UBL-DT-22", "Language local identifier attribute should not be present"),
    "uri": ("UBL-DT-23", "Uri attribute should not be present"),
    "currencyCodeListVersionID": ("UBL-DT-24", "Currency code list version id should not be present"),
    "characterSetCode": ("UBL-DT-25", "CharacterSetCode attribute should not be present"),
    "encodingCode": ("UBL-DT-26", "EncodingCode attribute should not be present"),
    "schemeAgencyID": ("UBL-DT-27", "Scheme Agency ID attribute should not be present"),
    "listAgencyID": ("UBL-DT-28", "List Agency ID attribute should not be present"),
}
for _id, _message in sorted(_DT_ATTRIBUTES.values()):
    define(_id, "warning", _message)


def _amount_in_price_allowance(element: etree._Element) -> bool:
    """``ancestor::cac:Price/cac:AllowanceCharge``: inside a Price that has an allowance (gross price)."""
    price, allowance = clark("cac:Price"), clark("cac:AllowanceCharge")
    return any(a.tag == price and a.find(allowance) is not None for a in element.iterancestors())


class _Plan:
    """What :func:`check_elements` does at one path of tags, worked out the first time the path is seen.

    The plans form a tree (a path's children by tag), shared by every document the process validates:
    the rule tables are looked up once per distinct path, not once per element.
    """

    __slots__ = ("amount", "binary", "children", "hits", "in_price", "path")

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path
        self.children: dict[str, _Plan] = {}
        table = _cr_table()
        hits = list(table.anchored.get(path, ()))
        for length in sorted(table.anywhere):
            if len(path) >= length:
                hits.extend(table.anywhere[length].get(path[-length:], ()))
        self.hits = tuple(hits)
        local = path[-1].rpartition("}")[2] if path else ""
        self.amount = local.endswith("Amount") and not local.endswith("PriceAmount")
        self.in_price = _PRICE in path[:-1]  # only then can an ancestor be a cac:Price
        self.binary = local.endswith("BinaryObject")

    def child(self, tag: str) -> _Plan:
        global _PLANS
        plan = self.children.get(tag)
        if plan is None:
            _PLANS += 1
            if _PLANS > _MAX_PLANS:  # documents of ever new tags: start over rather than grow forever
                _ROOT_PLAN.children.clear()
                _PLANS = 0
            plan = self.children[tag] = _Plan((*self.path, tag))
        return plan


_PRICE = clark("cac:Price")
_PAYMENT_MEANS_CODE = clark("cbc:PaymentMeansCode")
_MAX_PLANS = 20_000
_PLANS = 0
_ROOT_PLAN = _Plan(())


@checks(
    *(r[0] for r in _CR_ROWS if r[0] not in _SPECIAL_CR),
    "UBL-DT-01",
    "UBL-DT-06",
    "UBL-DT-07",
    *(v[0] for v in _DT_ATTRIBUTES.values()),
)
def check_elements(doc: Doc) -> None:
    """One walk over every element: UBL-CR paths, UBL-DT amounts, binary objects and attributes."""
    attributes = _cr_table().attributes

    def visit(element: etree._Element, plan: _Plan) -> None:
        for child in element.iterchildren(etree.Element):
            tag = child.tag
            here = plan.children.get(tag) or plan.child(tag)
            for rule_id, attribute in here.hits:
                if attribute is None:
                    doc.fail(rule_id, child, once=True)
                elif child.get(attribute) is not None:
                    doc.fail(rule_id, f"{_location(child)}/@{attribute}", once=True)
            if here.amount:
                if not (here.in_price and _amount_in_price_allowance(child)):
                    doc.fail_unless(decimals_ok(child), "UBL-DT-01", child)
            elif here.binary:
                doc.fail_unless(child.get("mimeCode") is not None, "UBL-DT-06", child)
                doc.fail_unless(child.get("filename") is not None, "UBL-DT-07", child)
            if len(child):
                visit(child, here)

    visit(doc.root, _ROOT_PLAN)
    # every attribute of the document in one C-level XPath (most elements have none; asking each
    # element for its attributes costs more than the whole walk)
    for value in cast("list[_AttributeValue]", doc.select("//*/@*")):
        attribute = value.attrname
        rule_id = attributes.get(attribute)
        dt = _DT_ATTRIBUTES.get(attribute)
        if rule_id is None and dt is None:
            continue
        element = value.getparent()
        if rule_id is not None:
            doc.fail(rule_id, f"{_location(element)}/@{attribute}", once=True)
        if dt and not (attribute == "name" and element.tag == _PAYMENT_MEANS_CODE):
            doc.fail(dt[0], f"{_location(element)}/@{attribute}", once=True)


def _location(element: etree._Element) -> str:
    from invoice_hub.validation.structure import xpath

    return xpath(element)


@checks(*_SPECIAL_CR)
def check_special_restrictions(doc: Doc) -> None:
    """The UBL-CR rules whose test is more than "this element does not exist"."""
    root = doc.root
    for version in every(root, "cbc:UBLVersionID"):
        doc.fail_unless(version.text == "2.1", "UBL-CR-002", version)
    if not doc.credit_note:
        for due in every(root, "cac:PaymentMeans/cbc:PaymentDueDate"):
            doc.fail("UBL-CR-412", due, once=True)
    for reference in doc.all("cac:AdditionalDocumentReference"):
        codes = [c.text for c in every(reference, "cbc:DocumentTypeCode")]
        identifier = first(reference, "cbc:ID")
        not_object = not codes or any(c != "130" for c in codes)
        if not_object and identifier is not None and identifier.get("schemeID") is not None:
            doc.fail("UBL-CR-665", f"{_location(identifier)}/@schemeID", once=True)
        if "130" in codes:
            if exists(reference, "cac:Attachment"):
                doc.fail("UBL-CR-666", reference, once=True)
            if exists(reference, "cbc:DocumentDescription"):
                doc.fail("UBL-CR-673", reference, once=True)


# -- UBL-SR ----------------------------------------------------------------------------------------
_SR = {
    "UBL-SR-01": "Contract identifier shall occur maximum once.",
    "UBL-SR-02": "Receive advice identifier shall occur maximum once",
    "UBL-SR-03": "Despatch advice identifier shall occur maximum once",
    "UBL-SR-04": "Invoice object identifier shall occur maximum once",
    "UBL-SR-05": "Payment terms shall occur maximum once",
    "UBL-SR-06": "Preceding invoice reference shall occur maximum once",
    "UBL-SR-07": "If there is a preceding invoice reference, the preceding invoice number shall be present",
    "UBL-SR-08": "Invoice period shall occur maximum once",
    "UBL-SR-09": "Seller name shall occur maximum once",
    "UBL-SR-10": "Seller trader name shall occur maximum once",
    "UBL-SR-11": "Seller legal registration identifier shall occur maximum once",
    "UBL-SR-12": "Seller VAT identifier shall occur maximum once",
    "UBL-SR-13": "Seller tax registration shall occur maximum once",
    "UBL-SR-14": "Seller additional legal information shall occur maximum once",
    "UBL-SR-15": "Buyer name shall occur maximum once",
    "UBL-SR-16": "Buyer identifier shall occur maximum once",
    "UBL-SR-17": "Buyer legal registration identifier shall occur maximum once",
    "UBL-SR-18": "Buyer VAT identifier shall occur maximum once",
    "UBL-SR-19": "Payee name shall occur maximum once, if the Payee is different from the Seller",
    "UBL-SR-20": "Payee identifier shall occur maximum once, if the Payee is different from the Seller",
    "UBL-SR-21": "Payee legal registration identifier shall occur maximum once, if the Payee is different from the Seller",
    "UBL-SR-22": "Seller tax representative name shall occur maximum once, if the Seller has a tax representative",
    "UBL-SR-23": "Seller tax representative VAT identifier shall occur maximum once, if the Seller has a tax representative",
    "UBL-SR-24": "Deliver to information shall occur maximum once",
    "UBL-SR-25": "Deliver to party name shall occur maximum once",
    "UBL-SR-26": "Payment reference shall occur maximum once",
    "UBL-SR-27": "Payment means text shall occur maximum once",
    "UBL-SR-28": "Mandate reference identifier shall occur maximum once",
    "UBL-SR-29": "Bank creditor reference shall occur maximum once",
    "UBL-SR-30": "Document level allowance reason shall occur maximum once",
    "UBL-SR-31": "Document level charge reason shall occur maximum once",
    "UBL-SR-32": "VAT exemption reason text shall occur maximum once",
    "UBL-SR-33": "Supporting document description shall occur maximum once",
    "UBL-SR-34": "Invoice line note shall occur maximum once",
    "UBL-SR-35": "Referenced purchase order line identifier shall occur maximum once",
    "UBL-SR-36": "Invoice line period shall occur maximum once",
    "UBL-SR-37": "Item price discount shall occur maximum once",
    "UBL-SR-39": "Project reference shall occur maximum once.",
    "UBL-SR-40": "Buyer trade name shall occur maximum once",
    "UBL-SR-42": "Party tax scheme shall occur maximum twice in accounting supplier party",
    "UBL-SR-43": "Scheme identifier shall only be used for invoiced object (document type code with value 130 or 50)",
    "UBL-SR-44": "An Invoice may only have one unique PaymentID, but the PaymentID may be used for multiple PaymentMeans",
    "UBL-SR-45": "Due Date shall occur maximum once",
    "UBL-SR-46": "Payment means text shall occur maximum once",
    "UBL-SR-47": "When there are more than one payment means code, they shall be equal",
    "UBL-SR-48": "Invoice lines shall have one and only one classified tax category.",
    "UBL-SR-49": "Value tax point date shall occur maximum once",
    "UBL-SR-50": "Item description shall occur maximum once",
    "UBL-SR-51": "An address can only have one third line.",
    "UBL-SR-52": "Document reference shall occur maximum once",
    "UBL-SR-53": "CompanyID (VAT Identifier) must be stated when providing the PartyTaxScheme/TaxScheme/ID.",
    "UBL-SR-54": "An Invoice shall contain maximum one Payment Card account (BG-18).",
    "UBL-SR-55": "An Invoice shall contain maximum one Payment Mandate (BG-19).",
    "UBL-SR-56": "An Invoice shall contain maximum one Originator document reference identifier (BT-17).",
}
for _id, _message in _SR.items():
    define(_id, "fatal", _message)

_AT_MOST_ONCE_IN_INVOICE = {
    "UBL-SR-01": "cac:ContractDocumentReference/cbc:ID",
    "UBL-SR-02": "cac:ReceiptDocumentReference/cbc:ID",
    "UBL-SR-03": "cac:DespatchDocumentReference/cbc:ID",
    "UBL-SR-05": "cac:PaymentTerms/cbc:Note",
    "UBL-SR-08": "cac:InvoicePeriod",
    "UBL-SR-09": "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
    "UBL-SR-10": "cac:AccountingSupplierParty/cac:Party/cac:PartyName/cbc:Name",
    "UBL-SR-11": "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    "UBL-SR-14": "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyLegalForm",
    "UBL-SR-15": "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
    "UBL-SR-16": "cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID",
    "UBL-SR-17": "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    "UBL-SR-24": "cac:Delivery",
    "UBL-SR-39": "cac:ProjectReference/cbc:ID",
    "UBL-SR-40": "cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name",
    "UBL-SR-45": "cac:PaymentMeans/cbc:PaymentDueDate",
    "UBL-SR-49": "cac:InvoicePeriod/cbc:DescriptionCode",
    "UBL-SR-54": "cac:PaymentMeans/cac:CardAccount",  # BR-66 before the 2026 artefacts
    "UBL-SR-55": "cac:PaymentMeans/cac:PaymentMandate",  # BR-67 before the 2026 artefacts
    "UBL-SR-56": "cac:OriginatorDocumentReference/cbc:ID",
}


def _line_rule(rule_id: str, condition: str) -> tuple[str, str]:
    """(rule, the XPath of the lines that break it): ``condition`` is what makes a line an offender."""
    return rule_id, f"$lines[{condition}]"


_LINE_RULES = (
    _line_rule("UBL-SR-34", "count(cbc:Note) > 1"),
    _line_rule("UBL-SR-35", "count(cac:OrderLineReference/cbc:LineID) > 1"),
    _line_rule("UBL-SR-36", "count(cac:InvoicePeriod) > 1"),
    _line_rule("UBL-SR-37", "count(cac:Price/cac:AllowanceCharge/cbc:Amount) > 1"),
    _line_rule("UBL-SR-50", "count(cac:Item/cbc:Description) > 1"),
    _line_rule("UBL-SR-52", "count(cac:DocumentReference) > 1"),
    _line_rule("UBL-SR-48", "count(cac:Item/cac:ClassifiedTaxCategory) != 1"),
)


def _scheme_ids(scheme: etree._Element) -> list[str]:
    """``cac:TaxScheme/upper-case(cbc:ID)``: one value per TaxScheme, "" for one without an ID (not trimmed)."""
    return [(text(s, "cbc:ID") or "").upper() for s in every(scheme, "cac:TaxScheme")]


@checks(*_SR)
def check_occurrences(doc: Doc) -> None:
    root = doc.root
    for rule_id, path in _AT_MOST_ONCE_IN_INVOICE.items():
        doc.fail_unless(len(every(root, path)) <= 1, rule_id, root)
    objects = [
        r
        for r in every(root, "cac:AdditionalDocumentReference")
        if any(c.text == "130" for c in every(r, "cbc:DocumentTypeCode"))
    ]
    doc.fail_unless(sum(len(every(r, "cbc:ID")) for r in objects) <= 1, "UBL-SR-04", root)
    for rule_id, party_path, vat in (
        ("UBL-SR-12", "cac:AccountingSupplierParty", True),
        ("UBL-SR-13", "cac:AccountingSupplierParty", False),
        ("UBL-SR-18", "cac:AccountingCustomerParty", True),
    ):
        schemes = every(root, f"{party_path}/cac:Party/cac:PartyTaxScheme")
        # [cac:TaxScheme/upper-case(cbc:ID) = 'VAT'] (UBL-SR-12/18) and [... != 'VAT'] (UBL-SR-13) are
        # general comparisons: some TaxScheme equals (differs from) VAT; neither holds without a TaxScheme
        chosen = [s for s in schemes if any((value == "VAT") == vat for value in _scheme_ids(s))]
        doc.fail_unless(sum(len(every(s, "cbc:CompanyID")) for s in chosen) <= 1, rule_id, root)
    sepa = [
        i
        for i in doc.all("cbc:ID")
        if (i.get("schemeID") or "").upper() == "SEPA"
        and (parent := i.getparent()) is not None  # always: doc.all() has no root
        and parent.tag == clark("cac:PartyIdentification")
    ]
    doc.fail_unless(len(sepa) <= 1, "UBL-SR-29", root)
    doc.fail_unless(len({e.text for e in doc.all("cbc:PaymentID")}) <= 1, "UBL-SR-44", root)
    doc.fail_unless(
        len([c for c in every(root, "cac:PaymentMeans/cbc:PaymentMeansCode") if c.get("name") is not None])
        <= 1,
        "UBL-SR-46",
        root,
    )
    doc.fail_unless(len({e.text for e in doc.all("cbc:PaymentMeansCode")}) <= 1, "UBL-SR-47", root)
    for reference in doc.all("cac:BillingReference"):
        doc.fail_unless(len(every(reference, "cac:InvoiceDocumentReference")) <= 1, "UBL-SR-06", reference)
        doc.fail_unless(exists(reference, "cac:InvoiceDocumentReference/cbc:ID"), "UBL-SR-07", reference)
    seller_names = {
        e.text
        for e in every(
            root, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
        )
    }
    for payee in doc.all("cac:PayeeParty"):
        names = [e.text for e in every(payee, "cac:PartyName/cbc:Name")]
        differs = any(n != s for n in names for s in seller_names)  # XPath general comparison "!="
        doc.fail_unless(len(names) <= 1 and differs, "UBL-SR-19", payee)
        other_ids = [
            i
            for i in every(payee, "cac:PartyIdentification/cbc:ID")
            if (i.get("schemeID") or "").upper() != "SEPA"
        ]
        doc.fail_unless(len(other_ids) <= 1 and differs, "UBL-SR-20", payee)
        doc.fail_unless(
            len(every(payee, "cac:PartyLegalEntity/cbc:CompanyID")) <= 1 and differs, "UBL-SR-21", payee
        )
    for representative in doc.all("cac:TaxRepresentativeParty"):
        doc.fail_unless(
            len(every(representative, "cac:PartyName/cbc:Name")) <= 1, "UBL-SR-22", representative
        )
        doc.fail_unless(
            len(every(representative, "cac:PartyTaxScheme/cbc:CompanyID")) <= 1,  # the party is the context
            "UBL-SR-23",
            representative,
        )
    for delivery in doc.all("cac:Delivery"):
        doc.fail_unless(
            len(every(delivery, "cac:DeliveryParty/cac:PartyName/cbc:Name")) <= 1, "UBL-SR-25", delivery
        )
    for means in doc.all("cac:PaymentMeans"):
        for rule_id, path in (
            ("UBL-SR-26", "cbc:PaymentID"),
            ("UBL-SR-27", "cbc:PaymentMeansCode"),
            ("UBL-SR-28", "cac:PaymentMandate/cbc:ID"),
        ):
            doc.fail_unless(len(every(means, path)) <= 1, rule_id, means)
    for ac in doc.all("cac:AllowanceCharge"):
        value = norm(text(ac, "cbc:ChargeIndicator"))
        rule = {"false": "UBL-SR-30", "0": "UBL-SR-30", "true": "UBL-SR-31", "1": "UBL-SR-31"}.get(value)
        if rule:
            doc.fail_unless(len(every(ac, "cbc:AllowanceChargeReason")) <= 1, rule, ac)
    for subtotal in doc.all("cac:TaxSubtotal"):
        doc.fail_unless(
            len(every(subtotal, "cac:TaxCategory/cbc:TaxExemptionReason")) <= 1, "UBL-SR-32", subtotal
        )
    for reference in doc.all("cac:AdditionalDocumentReference"):
        doc.fail_unless(len(every(reference, "cbc:DocumentDescription")) <= 1, "UBL-SR-33", reference)
        codes = [c.text for c in every(reference, "cbc:DocumentTypeCode")]
        identifier = first(reference, "cbc:ID")
        ok = (
            "130" in codes
            or (doc.credit_note and "50" in codes)
            or ((identifier is None or identifier.get("schemeID") is None) and not codes)
        )
        doc.fail_unless(ok, "UBL-SR-43", reference)
    # per line (cac:InvoiceLine | cac:CreditNoteLine, anywhere), one XPath each: only the offenders
    lines = doc.all("cac:InvoiceLine") + doc.all("cac:CreditNoteLine")
    for rule_id, offending in _LINE_RULES if lines else ():
        for line in doc.select(offending, lines=lines):
            doc.fail(rule_id, line)
    for party in every(root, "cac:AccountingSupplierParty/cac:Party"):
        doc.fail_unless(len(every(party, "cac:PartyTaxScheme")) <= 2, "UBL-SR-42", party)
    addresses = doc.all("cac:PostalAddress") + doc.all("cac:Address")
    for address in doc.select("$addresses[count(cac:AddressLine) > 1]", addresses=addresses):
        doc.fail("UBL-SR-51", address)
    schemes = doc.all("cac:PartyTaxScheme")
    for scheme in doc.select("$schemes[not(cac:TaxScheme/cbc:ID) or not(cbc:CompanyID)]", schemes=schemes):
        doc.fail("UBL-SR-53", scheme)
