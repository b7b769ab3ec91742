"""The XML namespaces of UBL 2.1 Invoice and CreditNote documents.

A leaf module: the readers and writers of ``formats`` and the checks of ``validation`` both need
them, and neither package may import the other's way round (``formats`` runs ``validation``).
"""

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#: The prefixes UBL documents use, for XPath and ``find``.
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
