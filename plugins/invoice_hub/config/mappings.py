"""Mapping files (``include/mappings/*.yaml``): the model, canonical field paths, and loading.

A mapping adapts invoices on their way from the input to the output format, in this order:

1. ``substitutions``: Kofax-style rules on canonical fields, each with a mode: ``always`` (replace
   the value), ``if_missing`` (fill it only when empty), ``never`` (the rule is kept but not applied).
2. ``codes``: translation tables for code fields, e.g. ``lines.unit_code: {STK: EA}``; values not in
   the table pass unchanged.
3. ``fields``: output fields taking their value from a canonical field (``BusinessUnitID:
   buyer_reference``; line-level ones ``LineItem.CostCenter: lines.accounting_cost``).
4. ``constants``: output fields with a fixed value.

Canonical fields are dotted paths into ``invoice_hub.model.Invoice``: ``seller.address.city``,
``seller.ids[0].value``, ``custom_fields.Plant``; ``lines.…`` applies to every line.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from invoice_hub.config.loader import ConfigProblem, parse_yaml, problems_from, read_text
from invoice_hub.config.models import StrictModel
from invoice_hub.model import Invoice, Line

_STEP = re.compile(r"^([a-z_][a-z0-9_]*)(?:\[(\d+)\])?$")
#: Output fields of a line (AP Agility ``LineItem`` elements) are written ``LineItem.<name>``.
LINE_PREFIX = "LineItem."


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


@dataclass(frozen=True)
class FieldPath:
    """A canonical field: ``steps`` are field names, list indexes and (after ``custom_fields``) a key."""

    text: str
    steps: tuple[str | int, ...]
    per_line: bool  # starts with ``lines.``: applies to each line


@cache
def parse_field_path(text: str) -> FieldPath:
    """``text`` checked against the canonical model; ``ValueError`` says what is wrong and what exists."""
    parts = text.split(".")
    per_line = parts[0] == "lines"
    model: type[BaseModel] = Line if per_line else Invoice
    steps: list[str | int] = []
    rest = parts[1:] if per_line else parts
    if not rest:
        raise ValueError(f"{text!r}: name a field of the line, e.g. lines.unit_code")
    for position, part in enumerate(rest):
        match = _STEP.match(part)
        if match is None:
            raise ValueError(f"{text!r}: {part!r} is not a field name (lower case, e.g. seller.name)")
        name, index = match.group(1), match.group(2)
        field = model.model_fields.get(name)
        if field is None:
            known = ", ".join(model.model_fields)
            raise ValueError(f"{text!r}: {model.__name__} has no field {name!r}; its fields: {known}")
        steps.append(name)
        annotation = _unwrap(field.annotation)
        origin = typing.get_origin(annotation)
        if origin is dict:
            if index is not None or position != len(rest) - 2:
                raise ValueError(f"{text!r}: write {name}.<key>, e.g. {name}.Plant")
            steps.append(rest[-1])
            return FieldPath(text, tuple(steps), per_line)
        if origin is list:
            if index is None:
                raise ValueError(f"{text!r}: {name} is a list; pick one with an index, e.g. {name}[0]")
            steps.append(int(index))
            annotation = _unwrap(typing.get_args(annotation)[0])
        elif index is not None:
            raise ValueError(f"{text!r}: {name} is not a list; remove [{index}]")
        last = position == len(rest) - 1
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if last and is_model:
            fields = ", ".join(annotation.model_fields)
            raise ValueError(f"{text!r} is a group of fields; name one of: {fields}")
        if not last and not is_model:
            raise ValueError(f"{text!r}: {name} has no fields below it")
        if is_model:
            model = annotation
    return FieldPath(text, tuple(steps), per_line)


def _valid_path(text: str) -> str:
    parse_field_path(text)
    return text


class MappingModel(StrictModel):
    # not strict: ``value: 12`` and ``{1: A}`` mean the text "12" and "1" in a mapping file
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, coerce_numbers_to_str=True)


class Substitution(MappingModel):
    """A Kofax-style substitution rule on one canonical field."""

    field: str = Field(description="The canonical field, e.g. buyer_reference or lines.unit_code.")
    value: str = Field(description="The value put in the field.")
    mode: Literal["always", "if_missing", "never"] = Field(
        description="always: replace; if_missing: only when empty; never: keep the rule, do not apply it."
    )

    @field_validator("field")
    @classmethod
    def _known_field(cls, field: str) -> str:
        return _valid_path(field)


class Mapping(MappingModel):
    """A mapping file: how invoices are adapted between the input and the output format."""

    version: Literal[1] = Field(default=1, description="Format version of this file.")
    description: str = ""
    substitutions: list[Substitution] = Field(default_factory=list)
    codes: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Canonical field: {value in: value out}."
    )
    fields: dict[str, str] = Field(
        default_factory=dict, description="Output field: the canonical field it takes its value from."
    )
    constants: dict[str, str] = Field(default_factory=dict, description="Output field: a fixed value.")

    @field_validator("codes")
    @classmethod
    def _code_fields(cls, codes: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for path in codes:
            _valid_path(path)
        return codes

    @field_validator("fields")
    @classmethod
    def _field_sources(cls, fields: dict[str, str]) -> dict[str, str]:
        for output, source in fields.items():
            path = parse_field_path(source)
            if path.per_line and not output.startswith(LINE_PREFIX):
                raise ValueError(
                    f"{output}: {source} has a value per line; map it to a line field, "
                    f"e.g. {LINE_PREFIX}{output}"
                )
        return fields

    def output_fields(self) -> list[str]:
        return [*self.fields, *self.constants]


@dataclass
class MappingFile:
    path: Path
    mapping: Mapping | None
    problems: list[ConfigProblem]


@cache
def _load(path: Path, _mtime_ns: int) -> MappingFile:
    text, problems = read_text(path)
    data, lines, yaml_problems = parse_yaml(text, path) if not problems else (None, {}, [])
    problems = [*problems, *yaml_problems]
    if problems:
        return MappingFile(path, None, problems)
    if not isinstance(data, dict):
        return MappingFile(
            path, None, [ConfigProblem(path, (), "expected keys (substitutions:, codes:, ...)")]
        )
    try:
        return MappingFile(path, Mapping.model_validate(data), [])
    except ValidationError as exc:
        found = sorted(problems_from(exc, data, path, lines, Mapping), key=lambda p: p.line or 0)
        return MappingFile(path, None, found)


def load_mapping(path: Path) -> MappingFile:
    """The mapping file at ``path`` (cached while the file is unchanged: many integrations share one)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        return MappingFile(path, None, [ConfigProblem(path, (), f"cannot read the file: {exc}")])
    return _load(path, mtime)


def output_field_problems(mapping: Mapping, output: str) -> list[str]:
    """Why ``mapping``'s output fields cannot be written in ``output`` (empty when they can)."""
    from invoice_hub.formats.ap_agility import LINE_FIELDS, is_element_name

    names = mapping.output_fields()
    if not names:
        return []
    if output in ("ubl", "peppol_bis3"):
        return [
            f"{names[0]}: UBL has no custom fields; set canonical fields with substitutions instead "
            "(fields: and constants: are for ap_agility and open_ar_csv outputs)"
        ]
    problems = []
    for name in names:
        if name.startswith(LINE_PREFIX):
            line_field = name.removeprefix(LINE_PREFIX)
            if output != "ap_agility":
                problems.append(f"{name}: line fields exist only in the ap_agility output")
            elif line_field not in LINE_FIELDS or line_field == "GlSegment":
                problems.append(
                    f"{name}: not an AP Agility LineItem field; they are: "
                    + ", ".join(f for f in LINE_FIELDS if f != "GlSegment")
                )
        elif output == "ap_agility" and not is_element_name(name):
            problems.append(f"{name}: not a valid XML element name for an AP Agility header field")
    return problems
