"""How to read a partner's open-AR report where detection is not enough: the CSV reader's options.

A leaf module, like ``report_columns``: the CSV reader (``formats``) takes these options and the
integration file (``config``) has them as its ``transform.csv`` block (``reconcile:`` extends it),
so neither package imports the other for them, and parsing a DAG file loads no reader.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from invoice_hub.report_columns import COLUMNS, normalise_header


class CsvOptions(BaseModel):
    """How to read a partner's report, where detection is not enough (``transform.csv`` in the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=False)

    delimiter: str | None = None
    encoding: str | None = None
    decimal: Literal[".", ","] | None = None
    date_format: str | None = None
    columns: dict[str, str] = {}

    @field_validator("delimiter", mode="before")
    @classmethod
    def _one_character(cls, value: object) -> object:
        if isinstance(value, str) and value.lower() in ("\\t", "tab"):
            return "\t"  # YAML users write "\t" in single quotes, or the word
        if isinstance(value, str) and (len(value) != 1 or value in '"\r\n' or value.isalnum()):
            raise ValueError(f"{value!r} cannot be a delimiter: use one character such as , ; | or tab")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}; e.g. utf-8, cp1252, latin-1, utf-16") from None
        return value

    @field_validator("date_format")
    @classmethod
    def _strptime_format(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f"{value!r} is not a strptime format; write e.g. %d.%m.%Y or %m/%d/%Y")
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        return check_columns(value, COLUMNS)


def check_columns(value: dict[str, str], known: Iterable[str]) -> dict[str, str]:
    """``columns:`` names known fields, each a different, non-empty header."""
    known = tuple(known)
    for column, header in value.items():
        if column not in known:
            raise ValueError(f"unknown column {column!r}; known: {', '.join(known)}")
        if not header.strip():
            raise ValueError(f"columns.{column}: name the header in the file, not an empty string")
    headers = [normalise_header(h) for h in value.values()]
    if len(set(headers)) != len(headers):
        raise ValueError("columns: two fields name the same header")
    return value
