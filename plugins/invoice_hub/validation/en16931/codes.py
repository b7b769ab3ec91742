"""EN 16931 code list rules (BR-CL-*): each coded value must be in the standard's code list.

The lists come from :mod:`.code_lists` (pycountry for countries and currencies, data files for the
rest). As in the artefacts, a value is compared after normalize-space and must be one code (no spaces).
"""

from __future__ import annotations

from invoice_hub.validation.en16931.code_lists import code_list, countries, currencies
from invoice_hub.validation.en16931.document import Doc, charge_indicator, clark, first, norm
from invoice_hub.validation.en16931.registry import checks, define

define(
    "BR-CL-01",
    "fatal",
    "The document type code MUST be coded by the invoice and credit note related code lists of UNTDID 1001.",
)
define("BR-CL-03", "fatal", "currencyID MUST be coded using ISO code list 4217 alpha-3")
define("BR-CL-04", "fatal", "Invoice currency code MUST be coded using ISO code list 4217 alpha-3")
define("BR-CL-05", "fatal", "Tax currency code MUST be coded using ISO code list 4217 alpha-3")
define(
    "BR-CL-06", "fatal", "Value added tax point date code MUST be coded using a restriction of UNTDID 2005."
)
define(
    "BR-CL-07",
    "fatal",
    "Object identifier identification scheme identifier MUST be coded using a restriction of UNTDID 1153.",
)
define("BR-CL-08", "fatal", "Invoiced note subject code shall be coded using UNCL4451")
define(
    "BR-CL-10",
    "fatal",
    "Any identifier identification scheme identifier MUST be coded using one of the ISO 6523 ICD list.",
)
define(
    "BR-CL-11",
    "fatal",
    "Any registration identifier identification scheme identifier MUST be coded using one of the ISO 6523 ICD list.",
)
define(
    "BR-CL-13",
    "fatal",
    "Item classification identifier identification scheme identifier MUST be coded using one of the UNTDID 7143 list.",
)
define("BR-CL-14", "fatal", "Country codes in an invoice MUST be coded using ISO code list 3166-1")
define("BR-CL-15", "fatal", "Country codes in an invoice MUST be coded using ISO code list 3166-1")
define("BR-CL-16", "fatal", "Payment means in an invoice MUST be coded using UNCL4461 code list")
define("BR-CL-17", "fatal", "Invoice tax categories MUST be coded using UNCL5305 code list")
define("BR-CL-18", "fatal", "Invoice tax categories MUST be coded using UNCL5305 code list")
define("BR-CL-19", "fatal", "Coded allowance reasons MUST belong to the UNCL 5189 code list")
define("BR-CL-20", "fatal", "Coded charge reasons MUST belong to the UNCL 7161 code list")
define(
    "BR-CL-21",
    "fatal",
    "Item standard identifier scheme identifier MUST belong to the ISO 6523 ICD code list",
)
define(
    "BR-CL-22",
    "fatal",
    "Tax exemption reason code identifier scheme identifier MUST belong to the CEF VATEX code list",
)
define(
    "BR-CL-23",
    "fatal",
    "Unit code MUST be coded according to the UN/ECE Recommendation 20 with Rec 21 extension",
)
define("BR-CL-24", "fatal", "For Mime code in attribute use MIMEMediaType.")
define("BR-CL-25", "fatal", "Endpoint identifier scheme identifier MUST belong to the CEF EAS code list")
define(
    "BR-CL-26",
    "fatal",
    "Delivery location identifier scheme identifier MUST belong to the ISO 6523 ICD code list",
)

_AMOUNTS = (
    "Amount", "BaseAmount", "PriceAmount", "TaxAmount", "TaxableAmount", "LineExtensionAmount", "TaxExclusiveAmount",
    "TaxInclusiveAmount", "AllowanceTotalAmount", "ChargeTotalAmount", "PrepaidAmount", "PayableRoundingAmount", "PayableAmount",
)  # fmt: skip


def _in(value: str | None, codes: frozenset[str]) -> bool:
    value = norm(value)
    return bool(value) and " " not in value and value in codes


def _parent_is(element, name: str) -> bool:
    parent = element.getparent()
    return parent is not None and parent.tag == clark(name)


@checks(
    "BR-CL-01",
    "BR-CL-03",
    "BR-CL-04",
    "BR-CL-05",
    "BR-CL-06",
    "BR-CL-08",
    "BR-CL-16",
    "BR-CL-22",
    "BR-CL-23",
    "BR-CL-24",
)
def check_document_codes(doc: Doc) -> None:
    """Codes in element values or attributes whose context is the element itself."""
    for code in doc.all("cbc:InvoiceTypeCode"):
        doc.fail_unless(_in(code.text, code_list("untdid1001-invoice")), "BR-CL-01", code)
    for code in doc.all("cbc:CreditNoteTypeCode"):
        doc.fail_unless(_in(code.text, code_list("untdid1001-credit-note")), "BR-CL-01", code)
    for name in _AMOUNTS:
        for amount in doc.all(f"cbc:{name}"):
            doc.fail_unless(_in(amount.get("currencyID"), currencies()), "BR-CL-03", amount)
    for rule_id, name in (("BR-CL-04", "cbc:DocumentCurrencyCode"), ("BR-CL-05", "cbc:TaxCurrencyCode")):
        for code in doc.all(name):
            doc.fail_unless(_in(code.text, currencies()), rule_id, code)
    for code in doc.all("cbc:DescriptionCode"):
        if _parent_is(code, "cac:InvoicePeriod"):
            doc.fail_unless(_in(code.text, code_list("untdid2005")), "BR-CL-06", code)
    for note in doc.all("cbc:Note"):
        if note.getparent() is doc.root:
            value = note.text or ""
            subject = value.split("#")[1] if value.count("#") >= 2 else None
            ok = subject is None or len(subject) != 3 or subject in code_list("untdid4451")
            doc.fail_unless(ok, "BR-CL-08", note)
    for code in doc.all("cbc:PaymentMeansCode"):
        if _parent_is(code, "cac:PaymentMeans"):
            doc.fail_unless(_in(code.text, code_list("untdid4461")), "BR-CL-16", code)
    for code in doc.all("cbc:TaxExemptionReasonCode"):
        doc.fail_unless(_in((code.text or "").upper(), code_list("vatex")), "BR-CL-22", code)
    for name in ("cbc:InvoicedQuantity", "cbc:BaseQuantity", "cbc:CreditedQuantity"):
        for quantity in doc.all(name):
            if quantity.get("unitCode") is not None:
                doc.fail_unless(
                    _in(quantity.get("unitCode"), code_list("unece-rec20-rec21")), "BR-CL-23", quantity
                )
    for binary in doc.all("cbc:EmbeddedDocumentBinaryObject"):
        mime = binary.get("mimeCode")
        if mime is not None:
            doc.fail_unless(mime in code_list("mime"), "BR-CL-24", binary)


@checks("BR-CL-07", "BR-CL-10", "BR-CL-11", "BR-CL-13", "BR-CL-21", "BR-CL-25", "BR-CL-26")
def check_scheme_codes(doc: Doc) -> None:
    """Identification schemes (@schemeID, @listID) of identifiers."""
    icd = code_list("iso6523-icd")
    for reference in doc.all("cac:AdditionalDocumentReference") + doc.all("cac:DocumentReference"):
        if any(
            norm(c.text) == "130" or c.text == "130" for c in reference.findall(clark("cbc:DocumentTypeCode"))
        ):
            identifier = first(reference, "cbc:ID")
            if identifier is not None and identifier.get("schemeID") is not None:
                doc.fail_unless(
                    _in(identifier.get("schemeID"), code_list("untdid1153")), "BR-CL-07", identifier
                )
    for rule_id, parent, name, attribute, codes in (
        ("BR-CL-10", "cac:PartyIdentification", "cbc:ID", "schemeID", icd),
        ("BR-CL-11", "cac:PartyLegalEntity", "cbc:CompanyID", "schemeID", icd),
        (
            "BR-CL-13",
            "cac:CommodityClassification",
            "cbc:ItemClassificationCode",
            "listID",
            code_list("untdid7143"),
        ),
        ("BR-CL-21", "cac:StandardItemIdentification", "cbc:ID", "schemeID", icd),
        ("BR-CL-26", "cac:DeliveryLocation", "cbc:ID", "schemeID", icd),
    ):
        for element in doc.all(name):
            value = element.get(attribute)
            if value is None or not _parent_is(element, parent):
                continue
            ok = _in(value, codes)
            if rule_id == "BR-CL-10" and not ok and norm(value) == "SEPA":
                ok = any(
                    a.tag in (clark("cac:AccountingSupplierParty"), clark("cac:PayeeParty"))
                    for a in element.iterancestors()
                )
            doc.fail_unless(ok, rule_id, element)
    for endpoint in doc.all("cbc:EndpointID"):
        if endpoint.get("schemeID") is not None:
            doc.fail_unless(_in(endpoint.get("schemeID"), code_list("cef-eas")), "BR-CL-25", endpoint)


@checks("BR-CL-14", "BR-CL-15", "BR-CL-17", "BR-CL-18", "BR-CL-19", "BR-CL-20")
def check_codes_by_parent(doc: Doc) -> None:
    """Country, VAT category and allowance/charge reason codes, by the element they belong to."""
    for code in doc.all("cbc:IdentificationCode"):
        if _parent_is(code, "cac:Country"):
            doc.fail_unless(_in(code.text, countries()), "BR-CL-14", code)
        elif _parent_is(code, "cac:OriginCountry"):
            doc.fail_unless(_in(code.text, countries()), "BR-CL-15", code)
    for identifier in doc.all("cbc:ID"):
        if _parent_is(identifier, "cac:TaxCategory"):
            doc.fail_unless(_in(identifier.text, code_list("untdid5305")), "BR-CL-17", identifier)
        elif _parent_is(identifier, "cac:ClassifiedTaxCategory"):
            doc.fail_unless(_in(identifier.text, code_list("untdid5305")), "BR-CL-18", identifier)
    for code in doc.all("cbc:AllowanceChargeReasonCode"):
        charge = charge_indicator(code.getparent())
        if charge is False:
            doc.fail_unless(_in(code.text, code_list("untdid5189")), "BR-CL-19", code)
        elif charge is True:
            doc.fail_unless(_in(code.text, code_list("untdid7161")), "BR-CL-20", code)
