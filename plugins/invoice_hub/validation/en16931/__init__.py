"""EN 16931 validation (``validate: en16931``): the CEN rule set for UBL, natively in Python.

:func:`check_en16931` evaluates every rule of the registry on a parsed UBL Invoice or CreditNote and
returns one :class:`~invoice_hub.validation.findings.Finding` per failed assertion, with the rule's
official id, flag and message and the XPath of the element it concerns. Each rule is evaluated on its
own: a document missing most elements still gets a verdict on every rule, never an exception.
"""

from __future__ import annotations

from lxml import etree

from invoice_hub.ubl_namespaces import CREDIT_NOTE_NS, INVOICE_NS
from invoice_hub.validation.en16931 import codes, core, syntax, vat  # noqa: F401  (they register the rules)
from invoice_hub.validation.en16931.document import Doc
from invoice_hub.validation.en16931.registry import CHECKS, RULES, Rule
from invoice_hub.validation.findings import Finding
from invoice_hub.validation.structure import xpath

__all__ = ["RULES", "Rule", "check_en16931"]

_ROOTS = (f"{{{INVOICE_NS}}}Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote")


def check_en16931(root: etree._Element) -> list[Finding]:
    """The EN 16931 findings of a parsed UBL 2.1 Invoice or CreditNote (fatal ones make it invalid)."""
    if root.tag not in _ROOTS:
        message = f"EN 16931 applies to a UBL 2.1 Invoice ({INVOICE_NS}) or CreditNote ({CREDIT_NOTE_NS}); the root element is {root.tag}"
        return [Finding(rule="XML-ROOT", severity="fatal", message=message, location=xpath(root))]
    doc = Doc(root)
    for check in CHECKS["en16931"]:
        check(doc)
    return doc.findings
