"""The document the EN 16931 rules look at: the parsed UBL tree, indexed once, and XPath-like helpers.

The official rules are XPath 2.0 assertions. The helpers here give their semantics in Python, so each
check reads like its assertion:

- a missing or unreadable number is ``None``, and any comparison with ``None`` is false, as a
  comparison with an empty sequence is in XPath (a rule that compares a missing amount fails);
- ``round`` is XPath's: halves go up (towards positive infinity), on exact decimals;
- ``normalize-space`` trims and collapses white space.

Every element is indexed by tag in one walk of the tree, so ``//cac:TaxCategory`` is a lookup, not a
scan, whichever rule asks. Paths of child steps (``cac:A/cbc:B``) are compiled once per process: one
step runs on lxml's C child iterator, several as a compiled XPath. Parsing each path with ElementPath
on every call was half the time of the rules.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, NamedTuple, Protocol, cast

from lxml import etree

from invoice_hub.ubl_namespaces import CREDIT_NOTE_NS, NS
from invoice_hub.validation.en16931.registry import RULES
from invoice_hub.validation.findings import Finding
from invoice_hub.validation.structure import xpath

_PREFIXES = {
    "cac": NS["cac"],
    "cbc": NS["cbc"],
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
}
_HUNDRED = Decimal(100)

if TYPE_CHECKING:

    class NodeSetXPath(Protocol):
        """A compiled XPath whose expression selects elements. lxml-stubs type every evaluation as the
        union of all XPath results (boolean, number, string, node-set), whatever the expression."""

        def __call__(
            self, _etree_or_element: etree._Element, /, **_variables: list[etree._Element]
        ) -> list[etree._Element]: ...


@functools.cache
def clark(name: str) -> str:
    """``cac:TaxCategory`` -> ``{urn:...CommonAggregateComponents-2}TaxCategory``."""
    prefix, _, local = name.partition(":")
    return f"{{{_PREFIXES[prefix]}}}{local}"


def norm(text: str | None) -> str:
    """XPath normalize-space."""
    return " ".join(text.split()) if text else ""


def dec(text: str | None) -> Decimal | None:
    """xs:decimal of an element's text, or None when empty or not a decimal number."""
    if text is None:
        return None
    text = text.strip()
    if not text or text.strip("0123456789+-."):  # something left: a character no decimal has
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def xround(value: Decimal | None, places: int = 0) -> Decimal | None:
    """XPath ``round``: to ``places`` decimals, halves up (``round(x * 100) div 100`` is places=2)."""
    if value is None:
        return None
    step = Decimal(1).scaleb(-places)
    return (value / step + Decimal("0.5")).to_integral_value(ROUND_FLOOR) * step


def round2(value: Decimal | None) -> Decimal | None:
    return xround(value, 2)


def decimals_ok(element: etree._Element | None) -> bool:
    """``string-length(substring-after(., '.')) <= 2``: at most two characters after the first dot."""
    text = element.text if element is not None else None
    return text is None or "." not in text or len(text.split(".", 1)[1]) <= 2


class _Path(NamedTuple):
    """A path of child steps, ready to run: one Clark tag, or compiled XPath for several steps."""

    tag: str | None  # a single step: lxml's C child iterator, no ElementPath
    all: NodeSetXPath | None  # several steps: libxml2 walks them in C (2-3x ElementPath or Python loops)
    first: NodeSetXPath | None  # (path)[1]


@functools.cache
def _path(path: str) -> _Path | None:
    """``path`` compiled once per process; None for a path that is more than child steps."""
    steps = path.split("/")
    if not all(step.count(":") == 1 and not set(step) & _XPATH_SYNTAX for step in steps):
        return None
    if len(steps) == 1:
        return _Path(clark(path), None, None)
    return _Path(
        None,
        cast("NodeSetXPath", etree.XPath(path, namespaces=_PREFIXES)),
        cast("NodeSetXPath", etree.XPath(f"({path})[1]", namespaces=_PREFIXES)),
    )


_XPATH_SYNTAX = frozenset("[]()@*.= ")


@functools.cache
def _compiled(expression: str) -> NodeSetXPath:
    """``expression`` compiled once per process (lxml serialises evaluations of one XPath object)."""
    return cast("NodeSetXPath", etree.XPath(expression, namespaces=_PREFIXES))  # Doc.select's: elements


def first(parent: etree._Element | None, path: str) -> etree._Element | None:
    """``path[1]`` below ``parent``: the first match of a path of child steps, in document order."""
    if parent is None:
        return None
    compiled = _path(path)
    if compiled is None:
        return parent.find(path, NS)
    if compiled.first is None:  # a single step: compiled.tag (a path has either tag or all and first)
        return next(parent.iterchildren(compiled.tag), None)
    found = compiled.first(parent)
    return found[0] if found else None


def every(parent: etree._Element | None, path: str) -> list[etree._Element]:
    """Every match of ``path`` below ``parent``, in document order (``findall``, faster for child steps)."""
    if parent is None:
        return []
    compiled = _path(path)
    if compiled is None:
        return parent.findall(path, NS)
    if compiled.all is None:  # a single step: compiled.tag (a path has either tag or all and first)
        return list(parent.iterchildren(compiled.tag))
    return compiled.all(parent)


def text(parent: etree._Element | None, path: str) -> str | None:
    found = first(parent, path)
    return found.text if found is not None else None


def number(parent: etree._Element | None, path: str) -> Decimal | None:
    return dec(text(parent, path))


def exists(parent: etree._Element | None, path: str) -> bool:
    return first(parent, path) is not None


def total(values: Iterable[Decimal | None]) -> Decimal:
    """XPath ``sum`` of decimals (an unreadable value counts as nothing; the rule on it reports it)."""
    return sum((v for v in values if v is not None), Decimal(0))


def charge_indicator(element: etree._Element | None) -> bool | None:
    """``cbc:ChargeIndicator`` as xs:boolean (true/1, false/0), None when absent or not a boolean."""
    value = norm(text(element, "cbc:ChargeIndicator"))
    return {"true": True, "1": True, "false": False, "0": False}.get(value)


def is_vat(category: etree._Element) -> bool:
    """``[cac:TaxScheme/normalize-space(upper-case(cbc:ID))='VAT']``."""
    return any(norm(e.text).upper() == "VAT" for e in every(category, "cac:TaxScheme/cbc:ID"))


def category_id(category: etree._Element) -> str:
    return norm(text(category, "cbc:ID"))


def within(a: Decimal | None, b: Decimal | None, tolerance: Decimal = Decimal(1)) -> bool:
    """``a - 1 < b and a + 1 > b``; false when either is missing."""
    return a is not None and b is not None and a - tolerance < b < a + tolerance


def is_finite(value: Decimal | None) -> bool:
    return value is not None and math.isfinite(value)


class Doc:
    """One UBL Invoice or CreditNote under validation, and the findings its rules raise."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.credit_note = etree.QName(root).namespace == CREDIT_NOTE_NS
        self.line_tag = "cac:CreditNoteLine" if self.credit_note else "cac:InvoiceLine"
        self.findings: list[Finding] = []
        self._fired: set[str] = set()
        self.by_tag: dict[str, list[etree._Element]] = defaultdict(list)
        elements = root.iter(etree.Element)  # elements only (no comments or PIs), in document order
        next(elements)  # the root itself: no rule asks for //Invoice
        for element in elements:  # one pass, driven by lxml's C iterator
            self.by_tag[element.tag].append(element)

    @functools.cached_property
    def walk(self) -> list[tuple[etree._Element, tuple[str, ...]]]:
        """Every element below the root with its path of tags, in document order (built when asked)."""
        walk: list[tuple[etree._Element, tuple[str, ...]]] = []

        def visit(element: etree._Element, path: tuple[str, ...]) -> None:
            for child in element.iterchildren(etree.Element):
                child_path = (*path, child.tag)
                walk.append((child, child_path))
                if len(child):
                    visit(child, child_path)

        visit(self.root, ())
        return walk

    def select(self, expression: str, **variables: list[etree._Element]) -> list[etree._Element]:
        """What an XPath 1.0 ``expression`` (prefixes cac, cbc, ext; ``$name`` for ``variables``) selects.

        For a rule over many elements of which few break it: ``$lines[count(cbc:Note) > 1]`` with
        ``lines=doc.all(...)`` has libxml2 test the predicate in C and return only the offenders,
        instead of a Python lookup per element (and without a ``//`` scan of the whole tree)."""
        return _compiled(expression)(self.root, **variables)

    def all(self, name: str) -> list[etree._Element]:
        """``//name``: every element of that name, in document order."""
        return self.by_tag.get(clark(name), [])

    @property
    def lines(self) -> list[etree._Element]:
        """The document's invoice (credit note) lines: its root's children of the line tag."""
        return every(self.root, self.line_tag)

    def allowance_charges(self, charge: bool) -> list[etree._Element]:
        """Document level allowances (``charge=False``) or charges: the root's cac:AllowanceCharge."""
        return [ac for ac in every(self.root, "cac:AllowanceCharge") if charge_indicator(ac) is charge]

    def fail(self, rule_id: str, where: etree._Element | str, *, once: bool = False) -> None:
        """Record that ``rule_id`` does not hold at ``where`` (an element, or an XPath for what is missing)."""
        if once and rule_id in self._fired:
            return
        self._fired.add(rule_id)
        rule = RULES[rule_id]
        location = where if isinstance(where, str) else xpath(where)
        self.findings.append(
            Finding(rule=rule_id, severity=rule.flag, message=rule.message, location=location)
        )

    def fail_unless(self, condition: bool, rule_id: str, where: etree._Element | str) -> None:
        if not condition:
            self.fail(rule_id, where)


def iter_elements(doc: Doc, names: Iterable[str]) -> Iterator[etree._Element]:
    """Every element of any of ``names``, grouped by name."""
    for name in names:
        yield from doc.all(name)
