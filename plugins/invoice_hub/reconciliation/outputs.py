"""The status changes of an applied snapshot, as the files the integration's destinations receive:
CSV for people and spreadsheets (formula cells neutralised, see ``invoice_hub.spreadsheet``), JSON
for systems (with the counts, the rows not applied and the report's findings; values as reported)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from invoice_hub.amounts import units_to_amount
from invoice_hub.reconciliation.apply import Outcome
from invoice_hub.spreadsheet import people_csv_text

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

CHANGE_COLUMNS = (
    "invoice_ref",
    "change",
    "previous_open_amount",
    "open_amount",
    "currency",
    "customer",
    "customer_name",
    "due_date",
    "needs_review",
    "detected_at",
)
_CENT = Decimal("0.01")


def amount_text(value: Decimal | None) -> str:
    """``12.5000`` -> ``12.50``: at least cents, no trailing zeros beyond them."""
    if value is None:
        return ""
    value = value.normalize()
    # exponent is a str ("n", "N", "F") only for NaN and Infinity; the amounts here are finite (a
    # report's are digits, the ledger refuses others)
    if value.as_tuple().exponent > -2:  # type: ignore[operator]  # see above
        value = value.quantize(_CENT)
    return format(value, "f")


def change_table(outcome: Outcome) -> pd.DataFrame:
    """One row per change, every cell text, in :data:`CHANGE_COLUMNS` order (built once per outcome:
    the CSV and the JSON both need it)."""
    if outcome.table is None:
        outcome.table = _change_table(outcome)
    return outcome.table


def _change_table(outcome: Outcome) -> pd.DataFrame:
    assert outcome.snapshot is not None and outcome.comparison is not None
    changes, frame = outcome.comparison.changes, outcome.snapshot.frame
    positions = changes["position"].to_numpy()
    has_row = positions >= 0

    def column(name: str) -> np.ndarray:
        values = np.full(len(changes), None, dtype=object)
        values[has_row] = frame[name].to_numpy(dtype=object)[positions[has_row]]
        return values

    kinds = changes["change"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "invoice_ref": changes["ref"].to_numpy(dtype=object),
            "change": kinds,
            "previous_open_amount": [amount_text(units_to_amount(u)) for u in changes["previous_units"]],
            "open_amount": [amount_text(a) for a in column("open_amount")],
            "currency": column("currency"),
            "customer": column("customer"),
            "customer_name": column("customer_name"),
            "due_date": [d.isoformat() if d is not None else None for d in column("due_date")],
            "needs_review": np.where(kinds == "reopened", "true", "false"),
            "detected_at": outcome.snapshot.produced_at.isoformat(),
        },
        columns=list(CHANGE_COLUMNS),
    )


def write_changes_csv(outcome: Outcome, sink: SupportsWrite[bytes]) -> None:
    """The changes for people: a partner's ``=HYPERLINK(...)`` customer name arrives inert."""
    sink.write(people_csv_text(change_table(outcome)).encode())


def changes_document(outcome: Outcome, integration: str) -> dict[str, Any]:
    assert outcome.snapshot is not None and outcome.comparison is not None
    snapshot, comparison = outcome.snapshot, outcome.comparison
    table = change_table(outcome).replace({np.nan: None})
    return {
        "integration": integration,
        "snapshot": snapshot.source,
        "produced_at": snapshot.produced_at.isoformat(),
        "rows": len(snapshot.frame),
        "open_before": comparison.open_before,
        "counts": comparison.counts,
        "held_for": outcome.reason,  # why a person had to approve it (None: applied without a hold)
        "not_applied": snapshot.not_applied.to_dict("records"),
        "findings": [f.model_dump() for f in snapshot.findings],
        "changes": table.to_dict("records"),
    }


def write_changes_json(outcome: Outcome, integration: str, sink: SupportsWrite[bytes]) -> None:
    # No indent: json's C encoder only runs without one (three times faster for a million changes).
    sink.write(json.dumps(changes_document(outcome, integration), default=int).encode())
