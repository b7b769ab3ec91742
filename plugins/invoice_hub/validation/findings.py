"""What validation reports: one finding per problem, each pointing at where it is.

A finding is machine-readable (``rule``, ``severity``) for the failure folder's JSON and the CLI's
JSON Lines, and readable (``message``, ``location``) for the person who has to fix the document.
Locations are XPaths (``/Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount``) for XML and
``row N, column NAME`` for CSV, rows counted as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["fatal", "warning"]


class Finding(BaseModel):
    """One problem in a document; ``fatal`` ones make the document invalid."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    severity: Severity
    message: str
    location: str = ""

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"[{self.rule}] {self.severity}: {self.message}{where}"


def csv_location(row: int, column: str | None = None) -> str:
    """``row 12, column Open Amount``: where a spreadsheet user finds the cell (header = row 1)."""
    return f"row {row}, column {column}" if column else f"row {row}"


def is_valid(findings: list[Finding]) -> bool:
    return not any(f.severity == "fatal" for f in findings)
