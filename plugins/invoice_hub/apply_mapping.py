"""Applying a mapping (``config.mappings``) to an invoice, between reading and writing.

The invoice is adapted as plain data (``model_dump``) and validated once at the end, so a value of the
wrong type (``abc`` for a quantity) is reported with the mapping file and the rule that wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from invoice_hub.config.mappings import LINE_PREFIX, FieldPath, Mapping, parse_field_path
from invoice_hub.errors import HubError
from invoice_hub.model import Invoice, as_text


class MappingError(HubError):
    """A mapping rule that cannot be applied to a document; names the mapping file and the rule."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _get(data: Any, steps: tuple[str | int, ...]) -> Any:
    for step in steps:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
        if data is None:
            return None
    return data


def _set(data: dict[str, Any], steps: tuple[str | int, ...], value: Any) -> None:
    """Set the value at ``steps``, creating the groups and list items on the way."""
    node: Any = data  # a dict at a str step, a list at an int step
    for position, step in enumerate(steps[:-1]):
        following = steps[position + 1]
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(step, int):
            while len(node) <= step:
                node.append({})
            if node[step] is None:
                node[step] = empty
        elif node.get(step) is None:
            node[step] = empty
        node = node[step]
    last = steps[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


class _Rules:
    """Applies one mapping to invoice data, remembering which rule wrote each path (for errors)."""

    def __init__(self, mapping: Mapping, mapping_path: Path) -> None:
        self.mapping, self.mapping_path = mapping, mapping_path
        self.written: dict[str, str] = {}

    def _each(self, data: dict[str, Any], path: FieldPath) -> list[dict[str, Any]]:
        return data.get("lines") or [] if path.per_line else [data]

    def _update(self, data: dict[str, Any], path: FieldPath, rule: str, change: Callable[[Any], Any]) -> None:
        for target in self._each(data, path):
            before = _get(target, path.steps)
            after = change(before)
            if after is not before:
                _set(target, path.steps, after)
                self.written[path.text] = rule

    def apply(self, data: dict[str, Any]) -> None:
        m = self.mapping
        for index, rule in enumerate(m.substitutions):
            if rule.mode == "never":
                continue
            path = parse_field_path(rule.field)
            value, if_missing = rule.value, rule.mode == "if_missing"

            def substitute(current: Any, value: str = value, if_missing: bool = if_missing) -> Any:
                return value if not (if_missing and not _empty(current)) else current

            self._update(data, path, f"substitutions[{index}] ({rule.field})", substitute)
        for field, table in m.codes.items():

            def translate(current: Any, table: dict[str, str] = table) -> Any:
                return table.get(current, current) if isinstance(current, str) else current

            self._update(data, parse_field_path(field), f"codes.{field}", translate)
        lines = data.get("lines") or []
        for output, source in m.fields.items():
            path = parse_field_path(source)
            if output.startswith(LINE_PREFIX):
                name = output.removeprefix(LINE_PREFIX)
                for line in lines:
                    value = _get(line if path.per_line else data, path.steps)
                    line.setdefault("custom_fields", {})[name] = as_text(value)
            else:
                data.setdefault("custom_fields", {})[output] = as_text(_get(data, path.steps))
        for output, value in m.constants.items():
            if output.startswith(LINE_PREFIX):
                for line in lines:
                    line.setdefault("custom_fields", {})[output.removeprefix(LINE_PREFIX)] = value
            else:
                data.setdefault("custom_fields", {})[output] = value

    def error(self, exc: ValidationError, invoice_number: str) -> MappingError:
        detail = exc.errors(include_url=False)[0]
        text = ""
        for position, part in enumerate(detail["loc"]):
            if isinstance(part, int):
                text += "" if position == 1 and text == "lines" else f"[{part}]"
            else:
                text += f".{part}" if text else str(part)
        rule = self.written.get(text, f"the rule writing {text}")
        return MappingError(
            f"{self.mapping_path}: {rule}: invoice {invoice_number}: {detail['msg']}, got {detail['input']!r}"
        )


def apply_mapping(mapping: Mapping, mapping_path: Path, invoice: Invoice) -> Invoice:
    """``invoice`` adapted by ``mapping`` (read from ``mapping_path``, named in errors)."""
    data = invoice.model_dump()
    rules = _Rules(mapping, mapping_path)
    rules.apply(data)
    try:
        return Invoice.model_validate(data)
    except ValidationError as exc:
        raise rules.error(exc, invoice.number) from None
