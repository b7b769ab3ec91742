"""What a snapshot changes, against the open invoices the previous ones left: vectorised, so that a
report of a million rows is a few hash joins, never a Python loop per row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from invoice_hub.reconciliation.snapshot import Snapshot

#: The changes, in the order the change files list them.
CHANGES = ("opened", "reopened", "paid", "partially_paid", "amount_changed")


@dataclass
class Comparison:
    """The changes (one row each: ``ref``, ``change``, ``previous_units``, ``position``) and the base."""

    changes: pd.DataFrame
    open_before: int

    @property
    def counts(self) -> dict[str, int]:
        counted = self.changes["change"].value_counts()
        return {change: int(counted.get(change, 0)) for change in CHANGES}

    @property
    def paid_fraction(self) -> float:
        return self.counts["paid"] / self.open_before if self.open_before else 0.0


def compare(
    snapshot: Snapshot, open_state: pd.DataFrame, paid_among: Callable[[Iterable[str]], set[str]]
) -> Comparison:
    """``open_state`` (``ref``, ``units``, ``currency``: the open invoices now) against the snapshot.

    - open now and missing from the snapshot: ``paid``;
    - in both, with a lower open amount: ``partially_paid``; higher, or another currency: ``amount_changed``;
    - only in the snapshot: ``opened``, or ``reopened`` when ``paid_among`` says it was paid before.

    A row that names an invoice but is not usable (a repeated reference, no valid amount or
    currency) changes nothing, and its invoice is not paid either: it is in the report.
    ``position`` is the row's index in ``snapshot.frame`` (-1 for paid invoices, which have no row).
    """
    frame = snapshot.frame
    before = pd.Index(open_state["ref"])  # unique: one receivable per reference
    # One hash join of every row's reference into the open invoices serves both directions.
    found_all = before.get_indexer(frame["ref"].to_numpy(dtype=object))
    gone = np.ones(len(before), dtype=bool)
    gone[found_all[found_all >= 0]] = False
    paid = pd.DataFrame(
        {
            "ref": open_state["ref"].to_numpy()[gone],
            "change": "paid",
            "previous_units": open_state["units"].to_numpy()[gone],
            "position": -1,
        }
    )

    usable = np.flatnonzero(snapshot.usable)
    refs = frame["ref"].to_numpy()[usable]
    units = frame["units"].to_numpy()[usable]
    found = found_all[usable]
    known = found >= 0
    previous = _take(open_state["units"].to_numpy(), found, np.nan)
    # Currencies as codes of one factorisation (-1: none): comparing a million of them is integer work.
    before_currency = open_state["currency"].to_numpy(dtype=object)
    codes, _ = pd.factorize(
        np.concatenate([before_currency, frame["currency"].to_numpy(dtype=object)[usable]])
    )
    old_currency = _take(codes[: len(before_currency)], found, -1)
    currency = codes[len(before_currency) :]
    change = np.full(len(usable), None, dtype=object)
    with np.errstate(invalid="ignore"):  # NaN (unknown) compares False; wide amounts are exact ints
        change[known & (units < previous)] = "partially_paid"
        moved = known & ((units > previous) | ((units == previous) & _differs(currency, old_currency)))
    change[moved] = "amount_changed"
    new = ~known
    if new.any():
        was_paid = paid_among(refs[new].tolist())
        change[new] = np.where(pd.Index(refs[new]).isin(list(was_paid)), "reopened", "opened")
    changed = change != None  # noqa: E711 - elementwise on an object array
    rows = pd.DataFrame(
        {
            "ref": refs[changed],
            "change": change[changed],
            "previous_units": previous[changed],
            "position": usable[changed],
        }
    )
    changes = pd.concat([rows, paid], ignore_index=True) if len(paid) else rows
    return Comparison(changes, len(open_state))


def _take(values: np.ndarray, positions: np.ndarray, missing: object) -> np.ndarray:
    """``values[positions]``, with ``missing`` where the position is -1 (not found)."""
    taken = np.full(len(positions), missing, dtype=values.dtype)
    found = positions >= 0
    taken[found] = values[positions[found]]
    return taken


def _differs(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """A currency (code) changed; a missing one (-1) on either side is no change (reports often omit it)."""
    return (now >= 0) & (before >= 0) & (now != before)
