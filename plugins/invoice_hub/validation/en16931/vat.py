"""EN 16931 VAT category rules: S, Z, E, AE, K, G, O, L (IGIC, BR-AF), M (IPSI, BR-AG) and B (split payment).

The categories share one shape (breakdown present, seller/buyer identifiers, rates on lines,
allowances and charges, taxable and tax amounts, exemption reasons); :data:`CATEGORIES` states how
each one differs, as the official UBL binding does rule by rule. Amounts are compared exactly where
the binding compares exactly, and within the binding's ±1 where it allows that (BR-S-08/09,
BR-AF-08/09, BR-AG-08/09), with XPath's half-up rounding to two decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from lxml import etree

from invoice_hub.validation.en16931.document import (
    Doc,
    category_id,
    charge_indicator,
    dec,
    every,
    exists,
    first,
    is_vat,
    number,
    round2,
    text,
    total,
    within,
)
from invoice_hub.validation.en16931.registry import checks, define

Rate = Literal["zero", "positive", "non-negative", "absent"]
Party = Literal["seller-any", "seller-vat", "seller-any+buyer", "seller-vat+buyer-vat", "none"]


@dataclass(frozen=True)
class Category:
    """How one VAT category's rules read in the official binding."""

    code: str  # UNTDID 5305
    prefix: str  # rule id prefix
    breakdown: Literal["exactly-one", "at-least-one"]
    parties: Party
    rate: Rate
    per_rate: bool  # XX-08/09 per VAT rate with ±1 tolerance, else exact with tax amount 0
    exemption: bool  # XX-10: an exemption reason is required (True) or forbidden (False)


CATEGORIES = (
    Category("S", "BR-S", "at-least-one", "seller-any", "positive", True, False),
    Category("Z", "BR-Z", "exactly-one", "seller-any", "zero", False, False),
    Category("E", "BR-E", "exactly-one", "seller-any", "zero", False, True),
    Category("AE", "BR-AE", "exactly-one", "seller-any+buyer", "zero", False, True),
    Category("K", "BR-IC", "exactly-one", "seller-vat+buyer-vat", "zero", False, True),
    Category("G", "BR-G", "exactly-one", "seller-vat", "zero", False, True),
    Category("O", "BR-O", "exactly-one", "none", "absent", False, True),
    Category("L", "BR-AF", "at-least-one", "seller-any", "non-negative", True, False),
    Category("M", "BR-AG", "at-least-one", "seller-any", "non-negative", True, False),
)


# The official messages, verbatim (including the standard's own inconsistencies of wording).
_MESSAGES: dict[str, str] = {
    "BR-S-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Standard rated" shall contain in the VAT breakdown (BG-23) at least one VAT category code (BT-118) equal with "Standard rated".',
    "BR-S-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Standard rated" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-S-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Standard rated" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-S-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Standard rated" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-S-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Standard rated" the Invoiced item VAT rate (BT-152) shall be greater than zero.',
    "BR-S-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Standard rated" the Document level allowance VAT rate (BT-96) shall be greater than zero.',
    "BR-S-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Standard rated" the Document level charge VAT rate (BT-103) shall be greater than zero.',
    "BR-S-08": 'For each different value of VAT category rate (BT-119) where the VAT category code (BT-118) is "Standard rated", the VAT category taxable amount (BT-116) in a VAT breakdown (BG-23) shall equal the sum of Invoice line net amounts (BT-131) plus the sum of document level charge amounts (BT-99) minus the sum of document level allowance amounts (BT-92) where the VAT category code (BT-151, BT-102, BT-95) is "Standard rated" and the VAT rate (BT-152, BT-103, BT-96) equals the VAT category rate (BT-119).',
    "BR-S-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is "Standard rated" shall equal the VAT category taxable amount (BT-116) multiplied by the VAT category rate (BT-119).',
    "BR-S-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Standard rate" shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).',
    "BR-Z-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Zero rated" shall contain in the VAT breakdown (BG-23) exactly one VAT category code (BT-118) equal with "Zero rated".',
    "BR-Z-02": 'An Invoice that contains an Invoice line where the Invoiced item VAT category code (BT-151) is "Zero rated" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-Z-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Zero rated" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-Z-04": 'An Invoice that contains a Document level charge where the Document level charge VAT category code (BT-102) is "Zero rated" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-Z-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Zero rated" the Invoiced item VAT rate (BT-152) shall be 0 (zero).',
    "BR-Z-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Zero rated" the Document level allowance VAT rate (BT-96) shall be 0 (zero).',
    "BR-Z-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Zero rated" the Document level charge VAT rate (BT-103) shall be 0 (zero).',
    "BR-Z-08": 'In a VAT breakdown (BG-23) where VAT category code (BT-118) is "Zero rated" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amount (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, BT-102) are "Zero rated".',
    "BR-Z-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is "Zero rated" shall equal 0 (zero).',
    "BR-Z-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Zero rated" shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).',
    "BR-E-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Exempt from VAT" shall contain exactly one VAT breakdown (BG-23) with the VAT category code (BT-118) equal to "Exempt from VAT".',
    "BR-E-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Exempt from VAT" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-E-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Exempt from VAT" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-E-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Exempt from VAT" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-E-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Exempt from VAT", the Invoiced item VAT rate (BT-152) shall be 0 (zero).',
    "BR-E-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Exempt from VAT", the Document level allowance VAT rate (BT-96) shall be 0 (zero).',
    "BR-E-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Exempt from VAT", the Document level charge VAT rate (BT-103) shall be 0 (zero).',
    "BR-E-08": 'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Exempt from VAT" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, BT-102) are "Exempt from VAT".',
    "BR-E-09": 'The VAT category tax amount (BT-117) In a VAT breakdown (BG-23) where the VAT category code (BT-118) equals "Exempt from VAT" shall equal 0 (zero).',
    "BR-E-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Exempt from VAT" shall have a VAT exemption reason code (BT-121) or a VAT exemption reason text (BT-120).',
    "BR-AE-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Reverse charge" shall contain in the VAT Breakdown (BG-23) exactly one VAT category code (BT-118) equal with "VAT reverse charge".',
    "BR-AE-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Reverse charge" shall contain the Seller VAT Identifier (BT-31), the Seller Tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48) and/or the Buyer legal registration identifier (BT-47).',
    "BR-AE-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Reverse charge" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48) and/or the Buyer legal registration identifier (BT-47).',
    "BR-AE-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Reverse charge" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48) and/or the Buyer legal registration identifier (BT-47).',
    "BR-AE-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Reverse charge" the Invoiced item VAT rate (BT-152) shall be 0 (zero).',
    "BR-AE-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Reverse charge" the Document level allowance VAT rate (BT-96) shall be 0 (zero).',
    "BR-AE-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Reverse charge" the Document level charge VAT rate (BT-103) shall be 0 (zero).',
    "BR-AE-08": 'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Reverse charge" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, BT-102) are "Reverse charge".',
    "BR-AE-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Reverse charge" shall be 0 (zero).',
    "BR-AE-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Reverse charge" shall have a VAT exemption reason code (BT-121), meaning "Reverse charge" or the VAT exemption reason text (BT-120) "Reverse charge" (or the equivalent standard text in another language).',
    "BR-IC-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Intra-community supply" shall contain in the VAT breakdown (BG-23) exactly one VAT category code (BT-118) equal with "Intra-community supply".',
    "BR-IC-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Intra-community supply" shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48).',
    "BR-IC-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Intra-community supply" shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48).',
    "BR-IC-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Intra-community supply" shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48).',
    "BR-IC-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Intracommunity supply" the Invoiced item VAT rate (BT-152) shall be 0 (zero).',
    "BR-IC-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Intra-community supply" the Document level allowance VAT rate (BT-96) shall be 0 (zero).',
    "BR-IC-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Intra-community supply" the Document level charge VAT rate (BT-103) shall be 0 (zero).',
    "BR-IC-08": 'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Intra-community supply" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, BT-102) are "Intra-community supply".',
    "BR-IC-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Intra-community supply" shall be 0 (zero).',
    "BR-IC-10": 'A VAT breakdown (BG-23) with the VAT Category code (BT-118) "Intra-community supply" shall have a VAT exemption reason code (BT-121), meaning "Intra-community supply" or the VAT exemption reason text (BT-120) "Intra-community supply" (or the equivalent standard text in another language).',
    "BR-IC-11": 'In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Intra-community supply" the Actual delivery date (BT-72) or the Invoicing period (BG-14) shall not be blank.',
    "BR-IC-12": 'In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Intra-community supply" the Deliver to country code (BT-80) shall not be blank.',
    "BR-G-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Export outside the EU" shall contain in the VAT breakdown (BG-23) exactly one VAT category code (BT-118) equal with "Export outside the EU".',
    "BR-G-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Export outside the EU" shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63).',
    "BR-G-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Export outside the EU" shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63).',
    "BR-G-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Export outside the EU" shall contain the Seller VAT Identifier (BT-31) or the Seller tax representative VAT identifier (BT-63).',
    "BR-G-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Export outside the EU" the Invoiced item VAT rate (BT-152) shall be 0 (zero).',
    "BR-G-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Export outside the EU" the Document level allowance VAT rate (BT-96) shall be 0 (zero).',
    "BR-G-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Export outside the EU" the Document level charge VAT rate (BT-103) shall be 0 (zero).',
    "BR-G-08": 'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Export outside the EU" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, BT-102) are "Export outside the EU".',
    "BR-G-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Export outside the EU" shall be 0 (zero).',
    "BR-G-10": 'A VAT breakdown (BG-23) with the VAT Category code (BT-118) "Export outside the EU" shall have a VAT exemption reason code (BT-121), meaning "Export outside the EU" or the VAT exemption reason text (BT-120) "Export outside the EU" (or the equivalent standard text in another language).',
    "BR-O-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "Not subject to VAT" shall contain exactly one VAT breakdown group (BG-23) with the VAT category code (BT-118) equal to "Not subject to VAT".',
    "BR-O-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Not subject to VAT" shall not contain the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) or the Buyer VAT identifier (BT-48).',
    "BR-O-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "Not subject to VAT" shall not contain the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) or the Buyer VAT identifier (BT-48).',
    "BR-O-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "Not subject to VAT" shall not contain the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) or the Buyer VAT identifier (BT-48).',
    "BR-O-05": 'An Invoice line (BG-25) where the VAT category code (BT-151) is "Not subject to VAT" shall not contain an Invoiced item VAT rate (BT-152).',
    "BR-O-06": 'A Document level allowance (BG-20) where VAT category code (BT-95) is "Not subject to VAT" shall not contain a Document level allowance VAT rate (BT-96).',
    "BR-O-07": 'A Document level charge (BG-21) where the VAT category code (BT-102) is "Not subject to VAT" shall not contain a Document level charge VAT rate (BT-103).',
    "BR-O-08": 'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is " Not subject to VAT" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, BT-102) are "Not subject to VAT".',
    "BR-O-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Not subject to VAT" shall be 0 (zero).',
    "BR-O-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) " Not subject to VAT" shall have a VAT exemption reason code (BT-121), meaning " Not subject to VAT" or a VAT exemption reason text (BT-120) " Not subject to VAT" (or the equivalent standard text in another language).',
    "BR-O-11": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not subject to VAT" shall not contain other VAT breakdown groups (BG-23).',
    "BR-O-12": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not subject to VAT" shall not contain an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is not "Not subject to VAT".',
    "BR-O-13": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not subject to VAT" shall not contain Document level allowances (BG-20) where Document level allowance VAT category code (BT-95) is not "Not subject to VAT".',
    "BR-O-14": 'An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) "Not subject to VAT" shall not contain Document level charges (BG-21) where Document level charge VAT category code (BT-102) is not "Not subject to VAT".',
    "BR-AF-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "IGIC" shall contain in the VAT breakdown (BG-23) at least one VAT category code (BT-118) equal with "IGIC".',
    "BR-AF-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "IGIC" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-AF-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "IGIC" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-AF-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "IGIC" shall contain the Seller VAT Identifier (BT-31), the Seller Tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-AF-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "IGIC" the invoiced item VAT rate (BT-152) shall be 0 (zero) or greater than zero.',
    "BR-AF-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "IGIC" the Document level allowance VAT rate (BT-96) shall be 0 (zero) or greater than zero.',
    "BR-AF-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "IGIC" the Document level charge VAT rate (BT-103) shall be 0 (zero) or greater than zero.',
    "BR-AF-08": 'For each different value of VAT category rate (BT-119) where the VAT category code (BT-118) is "IGIC", the VAT category taxable amount (BT-116) in a VAT breakdown (BG-23) shall equal the sum of Invoice line net amounts (BT-131) plus the sum of document level charge amounts (BT-99) minus the sum of document level allowance amounts (BT-92) where the VAT category code (BT-151, BT-102, BT-95) is "IGIC" and the VAT rate (BT-152, BT-103, BT-96) equals the VAT category rate (BT-119).',
    "BR-AF-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is "IGIC" shall equal the VAT category taxable amount (BT-116) multiplied by the VAT category rate (BT-119).',
    "BR-AF-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) "IGIC" shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).',
    "BR-AG-01": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) is "IPSI" shall contain in the VAT breakdown (BG-23) at least one VAT category code (BT-118) equal with "IPSI".',
    "BR-AG-02": 'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "IPSI" shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-AG-03": 'An Invoice that contains a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "IPSI" shall contain the Seller VAT Identifier (BT-31), the Seller Tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-AG-04": 'An Invoice that contains a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "IPSI" shall contain the Seller VAT Identifier (BT-31), the Seller Tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).',
    "BR-AG-05": 'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "IPSI" the Invoiced item VAT rate (BT-152) shall be 0 (zero) or greater than zero.',
    "BR-AG-06": 'In a Document level allowance (BG-20) where the Document level allowance VAT category code (BT-95) is "IPSI" the Document level allowance VAT rate (BT-96) shall be 0 (zero) or greater than zero.',
    "BR-AG-07": 'In a Document level charge (BG-21) where the Document level charge VAT category code (BT-102) is "IPSI" the Document level charge VAT rate (BT-103) shall be 0 (zero) or greater than zero.',
    "BR-AG-08": 'For each different value of VAT category rate (BT-119) where the VAT category code (BT-118) is "IPSI", the VAT category taxable amount (BT-116) in a VAT breakdown (BG-23) shall equal the sum of Invoice line net amounts (BT-131) plus the sum of document level charge amounts (BT-99) minus the sum of document level allowance amounts (BT-92) where the VAT category code (BT-151, BT-102, BT-95) is "IPSI" and the VAT rate (BT-152, BT-103, BT-96) equals the VAT category rate (BT-119).',
    "BR-AG-09": 'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is "IPSI" shall equal the VAT category taxable amount (BT-116) multiplied by the VAT category rate (BT-119).',
    "BR-AG-10": 'A VAT breakdown (BG-23) with VAT Category code (BT-118) "IPSI" shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).',
    "BR-B-01": "An Invoice where the VAT category code (BT-151, BT-95 or BT-102) is “Split payment” shall be a domestic Italian invoice.",
    "BR-B-02": 'An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or a Document level charge (BG-21) where the VAT category code (BT-151, BT-95, BT-118 or BT-102) is “Split payment" shall not contain an invoice line (BG-25), a Document level allowance (BG-20) or  a Document level charge (BG-21) where the VAT category code (BT-151, BT-95, BT-118 or BT-102) is “Standard rated”.',
}
for _id, _message in _MESSAGES.items():
    define(_id, "fatal", _message)


def _vat_ids(party: etree._Element | None) -> bool:
    """The party has a cac:PartyTaxScheme[TaxScheme/ID='VAT']/cbc:CompanyID."""
    return any(is_vat(s) and exists(s, "cbc:CompanyID") for s in every(party, "cac:PartyTaxScheme"))


#: Where the binding's XX-02/03/04 test is not "no trigger, or the trigger and the parties": it reads
#: ``(exists(A) and parties) or not(exists(B))`` and A differs from B. Fires when B exists and A or the
#: parties do not. Default: A = B = the category's code (normalize-space) with the VAT scheme.
#: (rule) -> (B needs the VAT scheme, B's code normalised, A needs the VAT scheme)
_TRIGGERS: dict[str, tuple[bool, bool, bool]] = {
    # not(exists(//cac:ClassifiedTaxCategory[normalize-space(cbc:ID) = 'S'])): any tax scheme
    "BR-S-02": (False, True, True),
    # exists(//cac:AllowanceCharge[...]/cac:TaxCategory[normalize-space(cbc:ID)='G']): any tax scheme
    "BR-G-03": (True, True, False),
    "BR-G-04": (True, True, False),
    # not(exists(//cac:AllowanceCharge[cbc:ChargeIndicator=true()]/cac:TaxCategory[cbc:ID='L'][...])): as written
    "BR-AF-04": (True, False, True),
}
_DEFAULT_TRIGGER = (True, True, True)

#: XX-01 of the "at least one" categories reads ``(used and count(A) > 0) or (not used and count(B) =
#: 0)`` over the breakdown's categories, and A is not B for two of them. Fires when the category is
#: used and no A is listed, or unused and some B is. (rule) -> (A: VAT scheme, A: code normalised)
#: (B is always the code normalised with the VAT scheme; the lines and allowances count with the VAT
#: scheme, S's with any).
_LISTED: dict[str, tuple[bool, bool]] = {
    "BR-S-01": (False, True),  # S: the code normalised, any scheme (B too)
    "BR-AF-01": (False, False),  # cac:TaxSubtotal/cac:TaxCategory[cbc:ID = 'L']: as written, any scheme
    "BR-AG-01": (True, False),  # [cbc:ID = 'M'][cac:TaxScheme/... = 'VAT']: as written
}


def _group(
    categories: list[etree._Element], known: dict[etree._Element, tuple[str, bool]]
) -> dict[tuple[str, bool], list[etree._Element]]:
    """(code, VAT only) -> the categories of that normalised cbc:ID (and the VAT scheme): ``_of`` once.

    ``known`` remembers each category's (code, is VAT) across the groups of one document: the same
    cac:TaxCategory is in several of them."""
    groups: dict[tuple[str, bool], list[etree._Element]] = {}
    for category in categories:
        facts = known.get(category)
        if facts is None:
            facts = known[category] = (category_id(category), is_vat(category))
        code, vat = facts
        groups.setdefault((code, False), []).append(category)
        if vat:
            groups.setdefault((code, True), []).append(category)
    return groups


class _Facts:
    """What the VAT rules ask of the whole document, computed once (each category then looks it up)."""

    def __init__(self, doc: Doc) -> None:
        root = doc.root
        seller = doc.all("cac:AccountingSupplierParty")
        buyer = doc.all("cac:AccountingCustomerParty")
        self.seller_any = any(exists(p, "cac:Party/cac:PartyTaxScheme/cbc:CompanyID") for p in seller)
        self.seller_vat = any(_vat_ids(first(p, "cac:Party")) for p in seller)
        self.representative_vat = any(_vat_ids(p) for p in doc.all("cac:TaxRepresentativeParty"))
        self.buyer_vat = any(_vat_ids(first(p, "cac:Party")) for p in buyer)
        self.buyer_legal = any(exists(p, "cac:Party/cac:PartyLegalEntity/cbc:CompanyID") for p in buyer)
        self.breakdown = [
            c for s in every(root, "cac:TaxTotal/cac:TaxSubtotal") for c in every(s, "cac:TaxCategory")
        ]
        self.classified = doc.all("cac:ClassifiedTaxCategory")
        all_acs = doc.all("cac:AllowanceCharge")
        # each allowance or charge read once: is it one (xs:boolean), its categories, is it the document's
        acs = [(charge_indicator(ac), every(ac, "cac:TaxCategory"), ac.getparent() is root) for ac in all_acs]
        self.ac_categories = [c for _, categories, _ in acs for c in categories]
        known: dict[etree._Element, tuple[str, bool]] = {}
        self.by_breakdown = _group(self.breakdown, known)
        self.by_classified = _group(self.classified, known)
        self.by_ac = _group(self.ac_categories, known)
        self.by_tax_category = _group(doc.all("cac:TaxCategory"), known)
        # the TaxCategory of each allowance (False) or charge (True), of //AllowanceCharge (document
        # level too: BR-O-03/04 look at the document's own allowances and charges only)
        self.by_kind: dict[tuple[bool, bool], list[etree._Element]] = {}
        self.by_kind_group: dict[tuple[bool, bool], dict[tuple[str, bool], list[etree._Element]]] = {}
        for document_level in (False, True):
            for charge in (False, True):
                categories = [
                    c
                    for kind, ac_categories, own in acs
                    if kind is charge and (own or not document_level)
                    for c in ac_categories
                ]
                self.by_kind[document_level, charge] = categories
                self.by_kind_group[document_level, charge] = _group(categories, known)

    def party_requirement(self, parties: Party) -> bool:
        seller_any = self.seller_any or self.representative_vat
        seller_vat = self.seller_vat or self.representative_vat
        return {
            "seller-any": seller_any,
            "seller-vat": seller_vat,
            "seller-any+buyer": seller_any and (self.buyer_vat or self.buyer_legal),
            "seller-vat+buyer-vat": seller_vat and self.buyer_vat,
            "none": not (self.seller_vat or self.representative_vat or self.buyer_vat),
        }[parties]

    def listed(self, code: str, vat: bool, normalised: bool) -> bool:
        """Some VAT breakdown (BG-23) has category ``code`` (trimmed or as written; VAT scheme or any)."""
        if normalised:
            return bool(self.by_breakdown.get((code, vat)))
        return any((text(c, "cbc:ID") or "") == code and (not vat or is_vat(c)) for c in self.breakdown)

    def uses(self, number_: int, code: str, document_level: bool, vat: bool, normalised: bool = True) -> bool:
        """XX-02 (lines), XX-03 (allowances), XX-04 (charges): a category ``code`` is used there."""
        if number_ == 2:
            categories, groups = self.classified, self.by_classified
        else:
            key = (document_level, number_ == 4)
            categories, groups = self.by_kind[key], self.by_kind_group[key]
        if normalised:
            return bool(groups.get((code, vat)))
        return any((text(c, "cbc:ID") or "") == code and (not vat or is_vat(c)) for c in categories)


def _of(categories: list[etree._Element], code: str, vat_only: bool = True) -> list[etree._Element]:
    return [c for c in categories if category_id(c) == code and (not vat_only or is_vat(c))]


def _rate_ok(category: etree._Element, rate: Rate) -> bool:
    percents = [dec(p.text) for p in every(category, "cbc:Percent")]
    if rate == "absent":
        return not percents
    if rate == "zero":
        return len(percents) >= 1 and percents[0] == 0
    if rate == "positive":
        return any(p is not None and p > 0 for p in percents)
    return any(p is not None and p >= 0 for p in percents)


class _Taxed(NamedTuple):
    """What XX-08 reads of a line, allowance or charge: its categories' codes and rates, its amount."""

    codes: frozenset[str]  # normalize-space(cbc:ID) of each category
    rates: tuple[Decimal | None, ...]  # xs:decimal(cbc:Percent) of each category
    amount: Decimal | None  # the line's cbc:LineExtensionAmount, the allowance's or charge's cbc:Amount
    charge: bool | None  # allowance (False) or charge (True); None for a line

    def has(self, code: str, rate: Decimal | None = None) -> bool:
        """``[.../normalize-space(cbc:ID) = code][.../xs:decimal(cbc:Percent) = $rate]``: two predicates,
        each satisfied by any of the categories."""
        return code in self.codes and (rate is None or rate in self.rates)


def _taxed(element: etree._Element, categories: str, amount: str, charge: bool | None) -> _Taxed:
    found = every(element, categories)
    return _Taxed(
        frozenset(category_id(c) for c in found),
        tuple(number(c, "cbc:Percent") for c in found),
        number(element, amount),
        charge,
    )


class _Amounts:
    """The lines (per line tag) and the document's allowances and charges, read once for XX-08."""

    def __init__(self, doc: Doc) -> None:
        root = doc.root
        self.lines = {
            tag: [
                _taxed(line, "cac:Item/cac:ClassifiedTaxCategory", "cbc:LineExtensionAmount", None)
                for line in every(root, tag)
            ]
            for tag in ("cac:InvoiceLine", "cac:CreditNoteLine")
        }
        self.present = {tag: bool(doc.all(tag)) for tag in self.lines}  # exists(//cac:InvoiceLine)
        self.document_acs = [
            _taxed(ac, "cac:TaxCategory", "cbc:Amount", charge_indicator(ac))
            for ac in every(root, "cac:AllowanceCharge")
        ]
        self.any_acs = [
            _taxed(ac, "cac:TaxCategory", "cbc:Amount", None) for ac in doc.all("cac:AllowanceCharge")
        ]
        self.any_lines = {  # //cac:InvoiceLine: the root's lines unless some are nested elsewhere
            tag: lines
            if len(doc.all(tag)) == len(lines)
            else [
                _taxed(line, "cac:Item/cac:ClassifiedTaxCategory", "cbc:LineExtensionAmount", None)
                for line in doc.all(tag)
            ]
            for tag, lines in self.lines.items()
        }

    def basis(self, line_tag: str, code: str, rate: Decimal | None = None) -> Decimal:
        """Σ line net amounts + Σ document charges - Σ document allowances of that category (and rate)."""
        lines = total(line.amount for line in self.lines[line_tag] if line.has(code, rate))
        acs = [ac for ac in self.document_acs if ac.has(code, rate)]
        charges = total(ac.amount for ac in acs if ac.charge is True)
        allowances = total(ac.amount for ac in acs if ac.charge is False)
        return lines + charges - allowances


def _taxable_ok(amounts: _Amounts, category: Category, breakdown: etree._Element) -> bool:
    """XX-08: the breakdown's taxable amount against the lines, allowances and charges of its category."""
    subtotal = breakdown.getparent()
    taxable = number(subtotal, "cbc:TaxableAmount")
    line_tags = [t for t, present in amounts.present.items() if present]
    if not category.per_rate:
        return any(taxable is not None and taxable == amounts.basis(t, category.code) for t in line_tags)
    if not exists(breakdown, "cbc:Percent"):
        return True  # every $rate in () satisfies ...
    rate = number(breakdown, "cbc:Percent")
    if rate is None:
        return False
    if category.code == "S":
        # BR-S-08 guards each branch (invoice lines, credit note lines) with exists(//cac:InvoiceLine[S at
        # $rate]) or exists(//cac:AllowanceCharge[S at $rate]), not with exists(//cac:InvoiceLine): an
        # allowance or charge at the rate opens the credit note branch of an invoice too, where the
        # lines sum to nothing
        at_rate = any(ac.has("S", rate) for ac in amounts.any_acs)
        line_tags = [
            t
            for t, lines in amounts.any_lines.items()
            if at_rate or any(line.has("S", rate) for line in lines)
        ]
    return any(within(taxable, amounts.basis(tag, category.code, rate)) for tag in line_tags)


def _tax_ok(category: Category, breakdown: etree._Element) -> bool:
    """XX-09: zero tax, or taxable x rate rounded to two decimals within ±1."""
    subtotal = breakdown.getparent()
    tax = number(subtotal, "cbc:TaxAmount")
    if not category.per_rate:
        return tax is not None and tax == 0
    taxable, percent = number(subtotal, "cbc:TaxableAmount"), number(breakdown, "cbc:Percent")
    if tax is None or taxable is None or percent is None:
        return False
    return within(abs(tax), round2(abs(taxable) * percent / 100))


@checks(*(f"{c.prefix}-{n:02d}" for c in CATEGORIES for n in range(1, 11)))
def check_categories(doc: Doc) -> None:
    facts = _Facts(doc)
    amounts: _Amounts | None = None  # read when a breakdown needs it
    root = doc.root
    # a category no cac:TaxCategory or cac:ClassifiedTaxCategory has (whatever its scheme) triggers none
    # of its rules: each one's test starts from such an element
    categorised = {code for groups in (facts.by_tax_category, facts.by_classified) for code, _ in groups}
    for category in CATEGORIES:
        code, p = category.code, category.prefix
        if code not in categorised:
            continue
        # XX-01: the category in lines, allowances or charges <=> (exactly) one breakdown of it
        if category.breakdown == "exactly-one":
            used = bool(facts.by_tax_category.get((code, True)) or facts.by_classified.get((code, True)))
            breakdowns: Sequence[etree._Element] = facts.by_breakdown.get((code, True), [])
            doc.fail_unless(not used or len(breakdowns) == 1, f"{p}-01", root)
        else:
            vat_only = code != "S"
            used = bool(facts.by_ac.get((code, vat_only)) or facts.by_classified.get((code, vat_only)))
            if used:
                doc.fail_unless(facts.listed(code, *_LISTED[f"{p}-01"]), f"{p}-01", root)
            else:
                doc.fail_unless(not facts.by_breakdown.get((code, vat_only)), f"{p}-01", root)
        # XX-02/03/04: the parties' identifiers a line, allowance or charge of the category needs
        requirement = facts.party_requirement(category.parties)
        document_level = category.code == "O"  # BR-O-03/04 look at document level allowances and charges only
        for number_ in (2, 3, 4):
            rule_id = f"{p}-{number_:02d}"
            trigger_vat, trigger_normalised, present_vat = _TRIGGERS.get(rule_id, _DEFAULT_TRIGGER)
            if facts.uses(number_, code, document_level, trigger_vat, trigger_normalised):
                present = facts.uses(number_, code, document_level, present_vat)
                doc.fail_unless(present and requirement, rule_id, root)
        # XX-05/06/07: the rate on lines, allowances and charges of the category
        for line_category in facts.by_classified.get((code, True), ()):
            parent = line_category.getparent()
            if (
                parent is not None
                and (grandparent := parent.getparent()) is not None
                and grandparent.tag in _LINES
            ):
                doc.fail_unless(_rate_ok(line_category, category.rate), f"{p}-05", line_category)
        for charge in (False, True):
            for ac_category in facts.by_kind_group[False, charge].get((code, True), ()):
                doc.fail_unless(
                    _rate_ok(ac_category, category.rate), f"{p}-{7 if charge else 6:02d}", ac_category
                )
        # XX-08/09/10: each breakdown of the category
        breakdowns = facts.by_breakdown.get((code, True), ())
        if breakdowns and amounts is None:
            amounts = _Amounts(doc)
        for breakdown in breakdowns:
            assert amounts is not None  # read above, as there are breakdowns
            doc.fail_unless(_taxable_ok(amounts, category, breakdown), f"{p}-08", breakdown)
            doc.fail_unless(_tax_ok(category, breakdown), f"{p}-09", breakdown)
            reason = exists(breakdown, "cbc:TaxExemptionReason") or exists(
                breakdown, "cbc:TaxExemptionReasonCode"
            )
            doc.fail_unless(reason == category.exemption, f"{p}-10", breakdown)


@checks("BR-IC-11", "BR-IC-12")
def check_intra_community(doc: Doc) -> None:
    root = doc.root
    breakdown = [c for c in every(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory") if is_vat(c)]
    if not _of(breakdown, "K"):
        return
    delivery_date = len(text(root, "cac:Delivery/cbc:ActualDeliveryDate") or "") > 1
    period = any(len(p) for p in every(root, "cac:InvoicePeriod"))
    doc.fail_unless(delivery_date or period, "BR-IC-11", root)
    country = (
        text(root, "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") or ""
    )
    doc.fail_unless(len(country) > 1, "BR-IC-12", root)


@checks("BR-O-11", "BR-O-12", "BR-O-13", "BR-O-14")
def check_not_subject(doc: Doc) -> None:
    root = doc.root
    breakdown = [c for c in every(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory") if is_vat(c)]
    if not _of(breakdown, "O"):
        return
    doc.fail_unless(all(category_id(c) == "O" for c in breakdown), "BR-O-11", root)
    others = [c for c in doc.all("cac:ClassifiedTaxCategory") if is_vat(c) and category_id(c) != "O"]
    doc.fail_unless(not others, "BR-O-12", root)
    for rule_id, charge in (("BR-O-13", False), ("BR-O-14", True)):
        acs = [ac for ac in doc.all("cac:AllowanceCharge") if charge_indicator(ac) is charge]
        other = [c for ac in acs for c in every(ac, "cac:TaxCategory") if is_vat(c) and category_id(c) != "O"]
        doc.fail_unless(not other, rule_id, root)


def ids(elements) -> set[str]:
    """The cbc:ID values of tax categories, as written (the split payment rules compare them unnormalised)."""
    return {text(e, "cbc:ID") or "" for e in elements}


@checks("BR-B-01", "BR-B-02")
def check_split_payment(doc: Doc) -> None:
    """Split payment (B), tested as the binding does: plain cbc:ID comparisons, no VAT-scheme filter."""
    root = doc.root
    anywhere = ids(doc.all("cac:TaxCategory")) | ids(doc.all("cac:ClassifiedTaxCategory"))
    if "B" not in anywhere:
        return
    countries = [e.text or "" for e in doc.all("cbc:IdentificationCode")]
    doc.fail_unless(all(c == "IT" for c in countries), "BR-B-01", root)
    document_ac = ids(c for ac in every(root, "cac:AllowanceCharge") for c in every(ac, "cac:TaxCategory"))
    breakdown = ids(every(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"))
    classified = ids(doc.all("cac:ClassifiedTaxCategory"))
    used = breakdown | document_ac | classified
    if "B" in used:
        # the same three places for B and for S: the VAT breakdown (BT-118) counts, since the 2026 artefacts
        doc.fail_unless("S" not in used, "BR-B-02", root)


_LINES = frozenset(
    {
        "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}InvoiceLine",
        "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}CreditNoteLine",
    }
)
