"""One open-AR report as a snapshot: its rows keyed by invoice reference, when it was produced, and
what about it needs a person before it may mark invoices paid."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from invoice_hub.amounts import amounts_to_units
from invoice_hub.config.models import Reconcile
from invoice_hub.formats.open_ar_csv import read_open_ar_report
from invoice_hub.validation.findings import Finding

#: A date (and maybe a time) in a file name: 2026-11-20, 20261120T0600, 2026-11-20_06-00-00, ...
_STAMP = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:[T_ .-]?(\d{2})[:.-]?(\d{2})(?:[:.-]?(\d{2}))?)?(?!\d)"
)
_TAIL_BYTES = 64 * 1024
_CURRENCY_CODE = re.compile("[A-Z]{3}")


def produced_at(name: str, mtime: float) -> dt.datetime:
    """When a report was produced: the (UTC) timestamp in its name, else its modification time.

    Exporters stamp the name; the modification time changes when a file is copied or moved.
    """
    start = 0
    while match := _STAMP.search(name, start):
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
        except ValueError:
            start = match.start() + 1  # digits that are not a date (an invoice number): look further
    return dt.datetime.fromtimestamp(mtime, dt.UTC)


def looks_truncated(path: Path) -> bool:
    """An upload cut off mid-row: no line end at the end, and the last row shorter than the header.

    (Many exporters omit the last line end; their last row is complete, so that alone is no sign.)
    """
    with path.open("rb") as file:
        head = file.readline()
        file.seek(0, 2)
        size = file.tell()
        file.seek(max(size - _TAIL_BYTES, 0))
        tail = file.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return False
    last = tail.rsplit(b"\n", 1)[-1]
    if last == head.rstrip(b"\r\n"):
        return False  # the header is the only line
    try:
        dialect = csv.Sniffer().sniff(head.decode("utf-8", "replace"), delimiters=",;\t|")
    except csv.Error:
        return False
    fields = len(next(csv.reader([head.decode("utf-8", "replace")], dialect), []))
    got = len(next(csv.reader([last.decode("utf-8", "replace")], dialect), []))
    return 0 < got < fields or last.count(b'"') % 2 == 1


@dataclass
class Snapshot:
    """A report's rows (``frame``), which of them can change an invoice (``usable``), and why not.

    ``frame`` columns: ``ref``, ``open_amount`` (Decimal or None), ``units`` (the amount in
    :data:`UNITS_PER_AMOUNT`, NaN when unknown), ``currency``, ``customer``, ``customer_name``,
    ``issue_date``, ``due_date``, ``row`` (the spreadsheet row), and the report's other columns.
    """

    source: str
    produced_at: dt.datetime
    frame: pd.DataFrame
    usable: np.ndarray
    extra_columns: list[str]
    findings: list[Finding]
    rejected: str | None = None  # the file cannot be reconciled at all (a missing column, ...)
    holds: list[str] = field(default_factory=list)  # why a person must approve it first

    @property
    def not_applied(self) -> pd.DataFrame:
        """Rows that name an invoice but cannot change it, with why (duplicate, amount, currency)."""
        frame = self.frame[~self.usable & self.frame["ref"].notna()]
        why = np.where(
            frame["duplicate"],
            "the invoice reference is on more than one row",
            np.where(frame["units"].isna(), "no valid open amount", "no valid currency"),
        )
        return pd.DataFrame({"row": frame["row"], "invoice_ref": frame["ref"], "why": why})


_RENAMED = {"invoice_number": "ref", "customer_id": "customer"}
_KNOWN = ("ref", "open_amount", "currency", "customer", "customer_name", "issue_date", "due_date")


def read_snapshot(path: Path, source: str, produced: dt.datetime, options: Reconcile) -> Snapshot:
    """The report at ``path`` as a snapshot; every problem is a finding, never an exception."""
    report = read_open_ar_report(path, source, options.csv_options())
    fatal = [f for f in report.findings if f.severity == "fatal"]
    frame = report.frame.rename(columns=_RENAMED)
    if frame.empty and fatal:  # the file as a whole could not be read as a report
        reason = "; ".join(str(f) for f in fatal[:3])
        return Snapshot(source, produced, frame, np.zeros(0, bool), [], report.findings, rejected=reason)
    extra = [c for c in frame.columns if c not in _KNOWN]  # kept as the receivable's extra fields
    for column in _KNOWN:
        if column not in frame:
            frame[column] = None
    frame["row"] = np.asarray(report.rows, dtype=np.int64)
    amounts = frame["open_amount"].to_numpy(dtype=object)
    present = pd.notna(amounts)
    frame["units"] = amounts_to_units(amounts)
    # A handful of distinct codes: each checked once, not once per row. Missing ones (code -1, the
    # last entry) are good: reports often omit the currency.
    codes, distinct = pd.factorize(frame["currency"].astype(object))
    valid = [isinstance(c, str) and _CURRENCY_CODE.fullmatch(c) is not None for c in distinct]
    good_currency = np.array([*valid, True])[codes]
    refs = frame["ref"]
    named = refs.notna().to_numpy()
    if any(f.rule == "CSV-DUPLICATE" for f in report.findings):
        frame["duplicate"] = refs.duplicated(keep=False).to_numpy() & named
    else:  # the reader found no invoice number twice: spare a million-row hash
        frame["duplicate"] = np.zeros(len(frame), dtype=bool)
    usable = named & ~frame["duplicate"].to_numpy() & present & good_currency

    holds = []
    if frame.empty:
        holds.append("the report has no rows: every open invoice would be marked paid")
    missing_refs = int((~named).sum())
    if missing_refs:
        holds.append(
            f"{missing_refs} row(s) have no invoice reference; they may be invoices that would otherwise "
            "be marked paid"
        )
    if any(f.rule == "CSV-SYNTAX" for f in report.findings):
        holds.append(
            "some rows have more fields than the header (an unquoted delimiter); their invoices cannot be "
            "read and would be marked paid"
        )
    return Snapshot(source, produced, frame, usable, extra, report.findings, holds=holds)
