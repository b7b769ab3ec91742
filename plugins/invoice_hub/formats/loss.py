"""Loss findings: what a conversion's output could not hold of the invoice it was given.

A conversion is checked by reading its own output back into the model and comparing that with the
invoice it wrote, term by term: every value the source had that the output does not give back is a
loss, whatever the reason (the target format has no place for it, or a writer forgot it). So a
wrong entry in a bindings table, or a writer bug, cannot hide a loss. A value the read-back has and
the source had not (a total the reader derives) is no loss.

Rule ids (``Finding.rule``):

``LOSS-BT-31``, ``LOSS-BG-13``, ...
    the business term (or group) of EN 16931 the value belongs to, taken from the model field's
    docstring (``\"\"\"BT-31 Seller VAT identifier.\"\"\"``); a group is named once when the output has
    none of it (the whole delivery, a payee), a term where the group is there but a value differs.
``LOSS-EXTENSION``
    a value beyond EN 16931: the hub's own fields (AP Agility custom fields, GL segments), a UBL
    extension or a national element the reader keeps.

The location is the model path of the value (``seller.vat_id``, ``lines[2].tax.rate``), the
message names the term, the source value (invoice data, never a secret; binary content by size
only) and the target format. The severity follows ``transform.on_loss``: ``fatal`` for ``fail``,
``warning`` for ``warn``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel

from invoice_hub.model import as_text
from invoice_hub.validation.findings import Finding, Severity

#: Every loss rule starts so (one prefix to match in scripts and in ``is_loss``).
LOSS_PREFIX = "LOSS-"
EXTENSION_RULE = "LOSS-EXTENSION"
#: The term id at the start of a field's docstring: BT-31, BG-13, BT-29-1 (a scheme identifier).
_TERM = re.compile(r"^\s*((?:BT|BG)-\d+(?:-\d+)?)\b[\s.:,-]*(.*)")
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


def term_of(model: type[BaseModel], field: str) -> tuple[str | None, str]:
    """The business term of ``model.field`` and its name, from the field's docstring (description)."""
    info = model.model_fields.get(field)
    match = _TERM.match(info.description or "") if info is not None else None
    if match is None:
        return None, field
    return match.group(1), match.group(2).strip().rstrip(".") or match.group(1)


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


def _walk(
    source: BaseModel,
    target: BaseModel | None,
    prefix: str,
    inherited: tuple[str | None, str] | None,
    ignored: frozenset[str] = frozenset(),
) -> Iterator[Loss]:
    for field in type(source).model_fields:
        value = getattr(source, field)
        if _empty(value) or f"{prefix}{field}" in ignored:
            continue  # nothing to lose, or the target format states it itself
        back = getattr(target, field, None) if target is not None else None
        term, name = term_of(type(source), field)
        if term is None and inherited is not None and not isinstance(value, BaseModel | list | dict):
            term, name = inherited  # a term's parts (an identifier's value) count as the term
        yield from _compare(value, back, f"{prefix}{field}", (term, name) if term else None)


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


def _compare(value: object, back: object, path: str, term: tuple[str | None, str] | None) -> Iterator[Loss]:
    if isinstance(value, BaseModel):
        if _empty(back) and term is not None and term[0] is not None and term[0].startswith("BG-"):
            yield Loss(path, term[0], term[1], value, None)  # the whole group is missing: say it once
            return
        yield from _walk(value, back if isinstance(back, BaseModel) else None, f"{path}.", term)
        return
    if isinstance(value, list):
        items = back if isinstance(back, list) else []
        if not items and term is not None and value and not isinstance(value[0], BaseModel):
            yield Loss(path, term[0], term[1], value, None)
            return
        for index, (item, back_item) in enumerate(zip(value, _pairs(value, items), strict=True)):
            yield from _compare(item, back_item, f"{path}[{index}]", term)
        return
    if isinstance(value, dict):
        mapping = back if isinstance(back, dict) else {}
        for key, item in value.items():
            if not _empty(item) and not _same(item, mapping.get(key)):
                yield Loss(f"{path}.{key}", None, f"{path}.{key}", item, mapping.get(key))
        return
    if not _same(value, back):
        yield Loss(path, term[0] if term else None, term[1] if term else path, value, back)


def losses(source: BaseModel, target: BaseModel | None, ignored: frozenset[str] = frozenset()) -> list[Loss]:
    """Every value ``source`` has that ``target`` (the output read back) does not give back; the
    model paths in ``ignored`` are those the target format states itself."""
    return list(_walk(source, target, "", None, ignored))


def describe(value: object) -> str:
    """A value as a message quotes it: text shortened, binary content by size, a group by its count."""
    if isinstance(value, bytes):
        return f"{len(value):,} bytes"
    if isinstance(value, BaseModel):
        return f"a {type(value).__name__.lower()}"
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
