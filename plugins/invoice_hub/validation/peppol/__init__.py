"""PEPPOL BIS Billing 3.0 validation (``validate: peppol``): OpenPEPPOL's UBL rule set, natively in Python.

A document is PEPPOL BIS 3 valid when it passes CEN's EN 16931 rules and OpenPEPPOL's own:
PEPPOL-EN16931-R/P/F (restrictions of the standard), the code list rules (PEPPOL-EN16931-CL),
PEPPOL-COMMON-R and the national rules (DE, DK, GR, IS, IT, NL, NO, SE), each with its official id,
flag and message (``../shared/peppol-bis3-rules/PEPPOL-EN16931-UBL.sch`` is the specification).
:func:`check_peppol` evaluates both rule sets on one index of the document.
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.ubl_namespaces import CREDIT_NOTE_NS, INVOICE_NS
from invoice_hub.validation.en16931 import check_en16931
from invoice_hub.validation.en16931.document import Doc
from invoice_hub.validation.en16931.registry import CHECKS
from invoice_hub.validation.findings import Finding
from invoice_hub.validation.peppol import code_lists, core  # noqa: F401  (their rules register on import)
from invoice_hub.validation.peppol.national import (  # noqa: F401
    denmark,
    germany,
    greece,
    iceland,
    italy,
    netherlands,
    norway,
    sweden,
)

__all__ = ["check_peppol"]

_ROOTS = (f"{{{INVOICE_NS}}}Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote")


def check_peppol(root: etree._Element) -> list[Finding]:
    """The EN 16931 and PEPPOL BIS Billing 3.0 findings of a parsed UBL Invoice or CreditNote."""
    if root.tag not in _ROOTS:  # not UBL: EN 16931's one XML-ROOT finding says so
        return check_en16931(root)
    doc = Doc(root)  # one index for both rule sets: indexing is a tenth of the work
    for check in (*CHECKS["en16931"], *CHECKS["peppol"]):
        check(doc)
    return doc.findings
