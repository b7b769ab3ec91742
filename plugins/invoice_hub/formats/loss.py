"""Loss findings: what a conversion's output could not hold of the invoice it was given.

A conversion is checked by reading its own output back into the model and comparing that with the
invoice it wrote, term by term: every value the source had that the output does not give back is a
loss, whatever the reason (the target format has no place for it, or a writer forgot it). So a
wrong entry in a bindings table, or a writer bug, cannot hide a loss. A value the read-back has and
the source had not (a total the reader derives) is no loss.

Rule ids (``Finding.rule``):

``LOSS-BT-31``, ``LOSS-BG-13``, ...
    the business term (or group) of EN 16931 the value belongs to, as the bindings table
    (``formats.bindings``) maps the model path to it; a group is named once when the output has
    none of it (the whole buyer, a delivery), a term where a value of the group differs.
``LOSS-EXTENSION``
    a value beyond EN 16931: the hub's own fields (AP Agility custom fields, GL segments, the tax
    scheme), extra columns a reader keeps as custom fields, or an element of a UBL source that the
    model has no place for (``ext:UBLExtensions``, a national addition, or a repeat of an element
    beyond what the model holds: a second ``cbc:IssueDate``, a line's second note): those are found
    by comparing how often each element path occurs in the source with a UBL document written from
    its model (:func:`element_findings`), and located by their path in the source.

The location is the model path of the value (``seller.vat_id``, ``lines[2].tax.rate``), the
message names the term, the source value (invoice data, never a secret; binary content by size
only) and the target format. The severity follows ``transform.on_loss``: ``fatal`` for ``fail``,
``warning`` for ``warn``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree
from pydantic import BaseModel

from invoice_hub.model import as_text
from invoice_hub.validation.findings import Finding, Severity

if TYPE_CHECKING:
    from invoice_hub.formats.bindings import Binding

#: Every loss rule starts so (one prefix to match in scripts and in ``is_loss``).
LOSS_PREFIX = "LOSS-"
EXTENSION_RULE = "LOSS-EXTENSION"
_QUOTED = 120  # characters of a text value a message quotes
_SEARCHED = 32  # lists up to this long are matched item by item, longer ones by position


@dataclass(frozen=True)
class Loss:
    """One value of the source the output does not give back."""

    path: str  # model path: seller.vat_id, lines[2].tax.rate
    term: str | None  # BT-31, BG-13; None: beyond EN 16931
    name: str  # what the term is called: "Seller VAT identifier", else the field path
    source: object  # the source's value (a model, a list, a scalar)
    target: object  # what the output gave back (None: nothing)


# -- which business term a model path holds: the bindings table ------------------------------------

_STEP = re.compile(r"^(\w+)(?:\[([^\]]*)\])?$")
_INDEX = re.compile(r"\[(\d+)\]")


def _pattern(field: str) -> tuple[tuple[str, str | None], ...]:
    """A binding's field path as steps: (name, selection); selection None (no list), '' (every item)
    or ``key=value`` / ``key!=value``."""
    steps = []
    for part in field.split("."):
        match = _STEP.match(part)
        assert match is not None, field
        steps.append((match.group(1), match.group(2)))
    return tuple(steps)


@functools.cache
def _bindings_by_names() -> dict[tuple[str, ...], list[tuple[Binding, tuple[tuple[str, str | None], ...]]]]:
    """The bindings by the field names of their path (selections left out), exact selections first."""
    from invoice_hub.formats.bindings import BINDINGS

    table: dict[tuple[str, ...], list[tuple[Binding, tuple[tuple[str, str | None], ...]]]] = {}
    for binding in BINDINGS:
        if binding.field is not None:
            steps = _pattern(binding.field)
            table.setdefault(tuple(name for name, _ in steps), []).append((binding, steps))
    for candidates in table.values():  # a selection (is_charge=true) before [] before a bare list
        candidates.sort(key=lambda item: -sum(bool(select) for _, select in item[1]))
    return table


def _selected(item: object, select: str) -> bool:
    negate = "!=" in select
    key, value = select.split("!=" if negate else "=", 1)
    actual = getattr(item, key, None)
    text = ("true" if actual else "false") if isinstance(actual, bool) else actual
    return (text != value) if negate else (text == value)


def _matches(
    root: BaseModel, steps: tuple[tuple[str, str | None], ...], path: list[tuple[str, int | None]]
) -> bool:
    """Whether the concrete ``path`` (names and list indexes) is an instance of a binding's ``steps``:
    a binding without ``[]`` (BG-25 ``lines``) stands for every item too, ``[key=value]`` for those
    items whose field has that value."""
    node: object = root
    for (name, select), (_, index) in zip(steps, path, strict=True):
        node = getattr(node, name, None)
        if index is not None:
            if not isinstance(node, list) or index >= len(node):
                return False
            node = node[index]
            if select and not _selected(node, select):
                return False
        elif select is not None:
            return False
    return True


def _is_beyond(root: BaseModel, path: list[tuple[str, int | None]]) -> bool:
    """Whether a field on the path is the hub's own (its docstring starts "Beyond EN 16931")."""
    from invoice_hub.formats.bindings import BEYOND

    node: object = root
    for name, index in path:
        if not isinstance(node, BaseModel) or name not in type(node).model_fields:
            return False
        if (type(node).model_fields[name].description or "").startswith(BEYOND):
            return True
        node = getattr(node, name)
        if index is not None:
            node = node[index] if isinstance(node, list) and index < len(node) else None
    return False


def term_at(root: BaseModel, path: str, *, exact: bool = False) -> Binding | None:
    """The business term (or group) the value at model ``path`` of ``root`` belongs to: the binding of
    the path, else of its nearest ancestor (an identifier's scheme belongs to the identifier); None
    for the hub's own fields (custom fields, GL segments) and anything the table does not name.
    ``exact``: the binding of the path itself only."""
    steps: list[tuple[str, int | None]] = []
    for part in path.split("."):
        match = _INDEX.search(part)
        steps.append((_INDEX.sub("", part), int(match.group(1)) if match else None))
    if _is_beyond(root, steps):
        return None
    table = _bindings_by_names()
    for length in range(len(steps), len(steps) - 1 if exact else 0, -1):
        prefix = steps[:length]
        for binding, pattern in table.get(tuple(name for name, _ in prefix), []):
            if _matches(root, pattern, prefix):
                return binding
    return None


def _empty(value: object) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, list | dict | tuple):
        return not value
    if isinstance(value, BaseModel):
        return all(_empty(getattr(value, name)) for name in type(value).model_fields)
    return False


def _same(source: object, target: object) -> bool:
    if isinstance(source, Decimal) and isinstance(target, Decimal):
        return source == target  # 100.00 and 100 are the same amount
    return source == target


def _walk(source: BaseModel, target: BaseModel | None, prefix: str, context: _Context) -> Iterator[Loss]:
    for field in type(source).model_fields:
        value = getattr(source, field)
        path = f"{prefix}{field}"
        if _empty(value) or path in context.ignored:
            continue  # nothing to lose, or the target format states it itself
        back = getattr(target, field, None) if target is not None else None
        yield from _compare(value, back, path, context)


@dataclass(frozen=True)
class _Context:
    root: BaseModel  # the source invoice: what term_at resolves paths in
    ignored: frozenset[str]

    def loss(self, path: str, source: object, target: object) -> Loss:
        binding = term_at(self.root, path)
        if binding is None:
            return Loss(path, None, path, source, target)
        return Loss(path, binding.id, binding.name, source, target)


def _likeness(a: object, b: object) -> int:
    """How many fields two models share (the same value): what pairs a source item with its output."""
    if not isinstance(a, BaseModel) or not isinstance(b, BaseModel):
        return int(a == b)
    return sum(getattr(a, name) == getattr(b, name, None) for name in type(a).model_fields)


def _pairs(source: list, target: list) -> list[object]:
    """What the output gives back for each source item: the same place when it is equal there or the
    lists are long (lines: pairing them is quadratic), else the most alike unpaired item (a format
    may order charges or identifiers its own way)."""
    if len(source) > _SEARCHED or len(target) > _SEARCHED or source == target[: len(source)]:
        return [target[i] if i < len(target) else None for i in range(len(source))]
    free = list(range(len(target)))
    paired: list[object] = []
    for item in source:
        if not free:
            paired.append(None)
            continue
        best = max(free, key=lambda i: (_likeness(item, target[i]), -i))
        free.remove(best)
        paired.append(target[best])
    return paired


def _compare(value: object, back: object, path: str, context: _Context) -> Iterator[Loss]:
    if isinstance(value, BaseModel | list | dict) and value == back:
        return  # the common case, a line or a party given back whole: one comparison, no walk
    if isinstance(value, BaseModel):
        if _empty(back):
            binding = term_at(context.root, path, exact=True)
            if binding is not None and binding.is_group:  # none of the group is there: say it once
                yield Loss(path, binding.id, binding.name, value, None)
                return
        yield from _walk(value, back if isinstance(back, BaseModel) else None, f"{path}.", context)
        return
    if isinstance(value, list):
        items = back if isinstance(back, list) else []
        for index, (item, back_item) in enumerate(zip(value, _pairs(value, items), strict=True)):
            yield from _compare(item, back_item, f"{path}[{index}]", context)
        return
    if isinstance(value, dict):  # custom fields (beyond EN 16931), preceding invoice dates (BT-26)
        mapping = back if isinstance(back, dict) else {}
        binding = term_at(context.root, path)
        for key, item in value.items():
            if not _empty(item) and not _same(item, mapping.get(key)):
                where = f"{path}.{key}"
                term, name = (binding.id, binding.name) if binding is not None else (None, where)
                yield Loss(where, term, name, item, mapping.get(key))
        return
    if not _same(value, back):
        yield context.loss(path, value, back)


def losses(source: BaseModel, target: BaseModel | None, ignored: frozenset[str] = frozenset()) -> list[Loss]:
    """Every value ``source`` has that ``target`` (the output read back) does not give back; the
    model paths in ``ignored`` are those the target format states itself."""
    return list(_walk(source, target, "", _Context(source, ignored)))


def _leaves(value: object) -> Iterator[object]:
    """The non-empty scalar values inside a model, depth first (what a group's finding quotes)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        yield from (item for item in value.values() if not _empty(item))
    elif not _empty(value) and not isinstance(value, bool):
        yield value


def describe(value: object) -> str:
    """A value as a message quotes it: text shortened, binary content by size, a group by its count."""
    if isinstance(value, bytes):
        return f"{len(value):,} bytes"
    if isinstance(value, BaseModel):
        leaves = list(_leaves(value))
        shown = ", ".join(describe(leaf) for leaf in leaves[:3])
        return shown + (f" and {len(leaves) - 3} more value(s)" if len(leaves) > 3 else "")
    if isinstance(value, list):
        return ", ".join(describe(v) for v in value[:3]) + (
            f" (+{len(value) - 3} more)" if len(value) > 3 else ""
        )
    text = as_text(value)
    return repr(text if len(text) <= _QUOTED else text[:_QUOTED] + "…")


def finding(loss: Loss, target_format: str, severity: Severity) -> Finding:
    """The finding of one loss: its term, the source value, the target format."""
    what = f"{loss.term} {loss.name}" if loss.term else loss.name
    if loss.target is None or _empty(loss.target):
        message = (
            f"{what} ({describe(loss.source)}) cannot be carried in {target_format}; it is not in the output"
        )
    else:
        message = (
            f"{what} is {describe(loss.source)} in the source but {describe(loss.target)} in the "
            f"{target_format} output"
        )
    rule = f"{LOSS_PREFIX}{loss.term}" if loss.term else EXTENSION_RULE
    return Finding(rule=rule, severity=severity, message=message, location=loss.path)


def loss_findings(
    source: BaseModel,
    target: BaseModel | None,
    target_format: str,
    severity: Severity,
    ignored: frozenset[str] = frozenset(),
) -> list[Finding]:
    """The findings of every loss between ``source`` and its ``target_format`` output read back."""
    return [finding(loss, target_format, severity) for loss in losses(source, target, ignored)]


def is_loss(finding_: Finding) -> bool:
    return finding_.rule.startswith(LOSS_PREFIX)


# -- elements the model has no place for (UBL extensions, national additions) -----------------------

_PREFIXES = {
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2": "cac",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2": "cbc",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext",
    # the document's own namespace: its root and elements are written bare, as XPaths here are
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "",
}
#: What a reader of the model would call an element of the extension namespace.
_EXTENSION_PREFIX = "ext"


def _name(tag: str) -> str:
    qname = etree.QName(tag)
    prefix = _PREFIXES.get(qname.namespace or "")
    if prefix is not None:
        return f"{prefix}:{qname.localname}" if prefix else qname.localname
    return qname.localname if qname.namespace is None else f"{{{qname.namespace}}}{qname.localname}"


#: How many elements a document has at each path without positions
#: (``/Invoice/cac:InvoiceLine/cbc:Note``: the notes of all its lines).
ElementCounts = Counter[str]


def element_counts(root: etree._Element) -> ElementCounts:
    """Every element path of a document without positions, with how often it occurs: what a UBL
    document holds, to compare with what a document written from its model holds. Counted, not
    only present: a second ``cbc:IssueDate``, or a second note of a line (UBL allows several,
    EN 16931 one), is content the model has no place for."""
    counts: ElementCounts = Counter()
    stack: list[tuple[etree._Element, str]] = [(root, "/" + _name(root.tag))]
    while stack:
        element, path = stack.pop()
        counts[path] += 1
        stack.extend((child, f"{path}/{_name(child.tag)}") for child in element if isinstance(child.tag, str))
    return counts


def element_findings(
    source: ElementCounts, carried: ElementCounts, target_format: str, severity: Severity
) -> list[Finding]:
    """A ``LOSS-EXTENSION`` finding for each element of the source the model does not carry (the
    topmost of each missing branch): a UBL extension, a national element, anything beyond EN 16931
    that a document written from the model does not have (``carried``: its element counts), and
    repeats of an element beyond what the model holds."""
    findings = []
    for path in sorted(source):
        have, kept = source[path], carried[path]
        if kept >= have:
            continue
        parent = path.rsplit("/", 1)[0]
        if parent in source and carried[parent] < source[parent]:
            continue  # its ancestor is named already
        element = path.rsplit("/", 1)[1]
        if kept:
            message = (
                f"{element} occurs {have} times, the hub's model holds {kept} (EN 16931 has no place "
                f"for more): the others are not carried, so the {target_format} output has {kept}"
            )
        else:
            what = (
                "a UBL extension"
                if element.startswith(f"{_EXTENSION_PREFIX}:")
                else "an element beyond EN 16931"
            )
            message = (
                f"{element} ({what}) is not carried: the hub's model has no place for it, so the "
                f"{target_format} output does not have it"
            )
        findings.append(Finding(rule=EXTENSION_RULE, severity=severity, message=message, location=path))
    return findings
