"""What the PEPPOL BIS 3 rule tests share: the official examples, the verdict, and the coverage convention.

Each ``tests/test_peppol_*.py`` module that tests rules declares ``COVERED_RULES``: the ids of the rules
it has a passing *and* a firing case for (derived from its case tables, never typed twice).
``tests/test_peppol_coverage.py`` unions them and checks them against the registry, so a rule added
without its two cases fails there.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from invoice_hub.validation.peppol import check_peppol
from tests.test_en16931_rules import PREFIX, ensure, find, q, remove, set_text

__all__ = [
    "EXAMPLES",
    "PEPPOL_EXAMPLES",
    "PREFIX",
    "ensure",
    "find",
    "fired",
    "load",
    "q",
    "remove",
    "set_text",
]

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "einvoice-examples"
PEPPOL_EXAMPLES = EXAMPLES / "peppol-bis3"
BASE = PEPPOL_EXAMPLES / "examples_base-example.xml"


def load(path: Path | str = BASE) -> etree._Element:
    """A fresh tree of an official example (a name is looked up in the PEPPOL examples)."""
    path = PEPPOL_EXAMPLES / path if isinstance(path, str) else path
    return etree.parse(str(path)).getroot()


def fired(root: etree._Element) -> set[str]:
    """The ids of every rule (EN 16931 and PEPPOL) that fires on ``root``."""
    return {f.rule for f in check_peppol(root)}
