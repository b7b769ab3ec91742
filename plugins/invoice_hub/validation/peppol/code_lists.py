"""OpenPEPPOL's code list rules (PEPPOL-EN16931-CL*) and the restricted code lists they check against.

The lists are the ones ``PEPPOL-EN16931-UBL.sch`` release 3.0.19 (OpenPEPPOL/peppol-bis-invoice-3,
May 2025) states in its ``<let>`` variables, not the full international lists: PEPPOL allows a subset
(MIME types, UNCL 5189 reasons) or pins a version (UNCL 7161 D.16B, ISO 4217 as of 2025), and a
document valid under EN 16931's lists can still break these. The values are copied as data, one
frozenset per list, so a PEPPOL release that changes a list changes one line here.

Each rule's context and test follow the schematron's, including where it compares without
``normalize-space`` (``@mimeCode``, ``@currencyID``, ``@schemeID`` and the ``ChargeIndicator`` in
the CL002/CL003 contexts are compared exactly).
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.validation.en16931.document import Doc, clark, norm
from invoice_hub.validation.en16931.registry import checks, define

__all__ = [
    "AMOUNT_TAGS",
    "EAS",
    "ISO4217",
    "MIME_CODES",
    "PROFILE_01_CREDIT_NOTE_TYPES",
    "PROFILE_01_INVOICE_TYPES",
    "UNCL2005",
    "UNCL5189",
    "UNCL7161",
]


def _codes(listed: str) -> frozenset[str]:
    """A code list as the schematron writes it: ``tokenize('A B C', '\\s')``."""
    return frozenset(listed.split())


#: ``$MIMECODE``: the attachment types PEPPOL accepts (a subset of IANA's media types).
MIME_CODES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet",
    }
)
#: ``$UNCL2005``: invoicing period description codes (UNCL 2005 D.16B subset: 3, 35, 432).
UNCL2005 = _codes("3 35 432")
#: ``$UNCL5189``: allowance reason codes (UNCL 5189 D.16B subset).
UNCL5189 = _codes("41 42 60 62 63 64 65 66 67 68 70 71 88 95 100 102 103 104 105")
#: ``$UNCL7161``: charge reason codes (UNCL 7161 D.16B).
UNCL7161 = _codes("""
    AA AAA AAC AAD AAE AAF AAH AAI AAS AAT AAV AAY AAZ ABA ABB ABC ABD ABF ABK ABL ABN ABR ABS ABT ABU
    ACF ACG ACH ACI ACJ ACK ACL ACM ACS ADC ADE ADJ ADK ADL ADM ADN ADO ADP ADQ ADR ADT ADW ADY ADZ AEA
    AEB AEC AED AEF AEH AEI AEJ AEK AEL AEM AEN AEO AEP AES AET AEU AEV AEW AEX AEY AEZ AJ AU CA CAB CAD
    CAE CAF CAI CAJ CAK CAL CAM CAN CAO CAP CAQ CAR CAS CAT CAU CAV CAW CAX CAY CAZ CD CG CS CT DAB DAC
    DAD DAF DAG DAH DAI DAJ DAK DAL DAM DAN DAO DAP DAQ DL EG EP ER FAA FAB FAC FC FH FI GAA HAA HD HH
    IAA IAB ID IF IR IS KO L1 LA LAA LAB LF MAE MI ML NAA OA PA PAA PC PL PRV RAB RAC RAD RAF RE RF RH RV
    SA SAA SAD SAE SAI SG SH SM SU TAB TAC TT TV V1 V2 WH XAA YY ZZZ
    """)
#: ``$ISO4217``: currency codes (ISO 4217 as PEPPOL 3.0.19 lists it: SLE, VED, ZWG in; XXX kept).
ISO4217 = _codes("""
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
    KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
    MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU
    UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XDR XOF XPD XPF XPT XSU XTS XUA YER ZAR
    ZMW ZWG XXX
    """)
#: ``$eaid``: the Electronic Address Identifier Scheme codes (EAS) PEPPOL accepts for cbc:EndpointID.
EAS = _codes("""
    0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0151 0177 0183 0184 0188 0190 0191 0192
    0193 0195 0196 0198 0199 0200 0201 0202 0204 0208 0209 0210 0211 0212 0213 0215 0216 0218 0221 0230
    0235 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931 9932 9933
    9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949 9950 9951 9952 9953
    9957 9959 0147 0154 0158 0170 0194 0203 0205 0217 0225 0240
    """)
#: Invoice type codes profile 01 allows (PEPPOL-EN16931-P0100): the UNCL 1001 invoice codes of BIS 3.
PROFILE_01_INVOICE_TYPES = _codes(
    "71 80 82 84 102 218 219 326 331 380 382 383 384 386 388 393 395 553 575 623 780 817 870 875 876 877"
)
#: Credit note type codes profile 01 allows (PEPPOL-EN16931-P0101).
PROFILE_01_CREDIT_NOTE_TYPES = _codes("381 396 81 83 532")
#: The monetary amount elements whose ``@currencyID`` CL007 checks (every cbc:TaxAmount included).
AMOUNT_TAGS = (
    "cbc:Amount",
    "cbc:BaseAmount",
    "cbc:PriceAmount",
    "cbc:TaxAmount",
    "cbc:TaxableAmount",
    "cbc:LineExtensionAmount",
    "cbc:TaxExclusiveAmount",
    "cbc:TaxInclusiveAmount",
    "cbc:AllowanceTotalAmount",
    "cbc:ChargeTotalAmount",
    "cbc:PrepaidAmount",
    "cbc:PayableRoundingAmount",
    "cbc:PayableAmount",
)

define("PEPPOL-EN16931-CL001", "fatal", "Mime code must be according to subset of IANA code list.")
define("PEPPOL-EN16931-CL002", "fatal", "Reason code MUST be according to subset of UNCL 5189 D.16B.")
define("PEPPOL-EN16931-CL003", "fatal", "Reason code MUST be according to UNCL 7161 D.16B.")
define(
    "PEPPOL-EN16931-CL006", "fatal", "Invoice period description code must be according to UNCL 2005 D.16B."
)
define("PEPPOL-EN16931-CL007", "fatal", "Currency code must be according to ISO 4217:2005")
define(
    "PEPPOL-EN16931-CL008",
    "fatal",
    'Electronic address identifier scheme must be from the codelist "Electronic Address Identifier Scheme"',
)


_ALLOWANCE_CHARGE = clark("cac:AllowanceCharge")
_CHARGE_INDICATOR = clark("cbc:ChargeIndicator")
_INVOICE_PERIOD = clark("cac:InvoicePeriod")


def _charge_indicators(allowance_charge: etree._Element) -> set[str]:
    """The raw texts of an allowance/charge's cbc:ChargeIndicator children (``= 'false'`` compares each)."""
    return {child.text or "" for child in allowance_charge if child.tag == _CHARGE_INDICATOR}


@checks(
    "PEPPOL-EN16931-CL001",
    "PEPPOL-EN16931-CL002",
    "PEPPOL-EN16931-CL003",
    "PEPPOL-EN16931-CL006",
    "PEPPOL-EN16931-CL007",
    "PEPPOL-EN16931-CL008",
)
def check_code_lists(doc: Doc) -> None:
    """Attachment MIME types, allowance/charge reason codes, period codes, currencies, endpoint schemes."""
    for attachment in doc.all("cbc:EmbeddedDocumentBinaryObject"):
        mime = attachment.get("mimeCode")
        if mime is not None:
            doc.fail_unless(mime in MIME_CODES, "PEPPOL-EN16931-CL001", attachment)
    for reason in doc.all("cbc:AllowanceChargeReasonCode"):
        parent = reason.getparent()
        if parent is None or parent.tag != _ALLOWANCE_CHARGE:
            continue
        indicators = _charge_indicators(parent)
        # A node matches the first rule of the pattern whose context it is in: 'false' before 'true'.
        if "false" in indicators:
            doc.fail_unless(norm(reason.text) in UNCL5189, "PEPPOL-EN16931-CL002", reason)
        elif "true" in indicators:
            doc.fail_unless(norm(reason.text) in UNCL7161, "PEPPOL-EN16931-CL003", reason)
    for code in doc.all("cbc:DescriptionCode"):
        parent = code.getparent()
        if parent is not None and parent.tag == _INVOICE_PERIOD:
            doc.fail_unless(norm(code.text) in UNCL2005, "PEPPOL-EN16931-CL006", code)
    for name in AMOUNT_TAGS:
        for amount in doc.all(name):
            doc.fail_unless(amount.get("currencyID") in ISO4217, "PEPPOL-EN16931-CL007", amount)
    for endpoint in doc.all("cbc:EndpointID"):
        scheme = endpoint.get("schemeID")
        if scheme is not None:
            doc.fail_unless(scheme in EAS, "PEPPOL-EN16931-CL008", endpoint)
