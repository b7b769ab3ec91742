"""What validation and conversion made of a source file, as the ledger keeps it beside its record.

The findings JSON a failure writes lives in staging (removed by archive) or in the failure folder
(not read back), and a delivered file's warnings were in the task log only: a transaction's history
("validated with 2 warnings, converted to AP Agility") needs them in the ledger. They are kept as
JSON text in ``source_files.validation`` and ``source_files.conversion`` (migration 0011): read per
transaction, never filtered on (``finding_ids`` is the searchable column).

Bounded, because a file's content decides how many findings it has: a hostile (or broken) file with
100,000 findings keeps the first :data:`KEPT_FINDINGS` of them, each message and location cut at a
few hundred characters, and the count of every severity, so the record stays under 100 KB of text
(about 0.5 MB when every character must be escaped in JSON), whatever the file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from invoice_hub.validation.findings import Finding

#: Findings a validation record keeps (in the order validation reported them); the rest are counted.
KEPT_FINDINGS = 100
#: Characters kept of a finding's message and of its location (an XPath, ``row N, column C``).
MESSAGE_CHARS = 500
LOCATION_CHARS = 300


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # later versions may add fields


class Validation(_Record):
    """The outcome of validating one file: the level run, how many findings of each severity, and
    the first of them (all of them unless ``truncated``)."""

    level: str
    at: dt.datetime
    counts: dict[str, int]  # severity -> how many (every finding, not only those kept)
    findings: tuple[Finding, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def truncated(self) -> bool:
        return self.total > len(self.findings)

    @property
    def rule_ids(self) -> list[str]:
        """The distinct rule ids of the kept findings, in their order."""
        return list(dict.fromkeys(f.rule for f in self.findings))


class Conversion(_Record):
    """What a converting transfer wrote of one file: from which format into which, how many files.
    The output names are not repeated here: ``invoice_outputs`` has each invoice's (and deliveries
    each delivered one's)."""

    input: str | None  # the format the file was read as (None: it could not be told)
    output: str
    at: dt.datetime
    outputs: int


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded(finding: Finding) -> Finding:
    """``finding`` with its message and location cut to what a record keeps."""
    if len(finding.message) <= MESSAGE_CHARS and len(finding.location) <= LOCATION_CHARS:
        return finding
    return finding.model_copy(
        update={
            "message": _cut(finding.message, MESSAGE_CHARS),
            "location": _cut(finding.location, LOCATION_CHARS),
        }
    )


def validation_record(level: str, findings: Sequence[Finding], at: dt.datetime) -> Validation:
    """The record of a file validated at ``level`` with ``findings``, bounded as the module says."""
    counts = Counter(f.severity for f in findings)
    return Validation(
        level=level,
        at=at,
        counts={"fatal": counts["fatal"], "warning": counts["warning"]},
        findings=tuple(bounded(f) for f in findings[:KEPT_FINDINGS]),
    )


def read_validation(text: str | None) -> Validation | None:
    return Validation.model_validate_json(text) if text else None


def read_conversion(text: str | None) -> Conversion | None:
    return Conversion.model_validate_json(text) if text else None
