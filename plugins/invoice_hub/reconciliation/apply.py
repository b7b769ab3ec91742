"""One snapshot file: applied, recognised as applied already, held for a person, or rejected."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from invoice_hub.config.models import Reconcile
from invoice_hub.ledger.receivables import Receivables
from invoice_hub.ledger.status import SnapshotStatus
from invoice_hub.ledger.tables import as_utc
from invoice_hub.reconciliation.compare import Comparison, compare
from invoice_hub.reconciliation.snapshot import Snapshot, looks_truncated, read_snapshot

Status = Literal["applied", "already_applied", "held", "rejected"]


@dataclass
class Outcome:
    status: Status
    reason: str | None = None
    snapshot: Snapshot | None = None
    comparison: Comparison | None = None
    snapshot_id: int | None = None
    table: pd.DataFrame | None = field(default=None, repr=False)  # the changes as text, built once


def reconcile_file(
    receivables: Receivables,
    integration: str,
    options: Reconcile,
    path: Path,
    *,
    source: str,
    sha256: str,
    produced_at: dt.datetime,
    run_id: str,
    approved_by: str | None = None,
) -> Outcome:
    """Compare the report at ``path`` with the integration's state and apply it, unless a person
    must look first: then it is held (recorded with why), and applied when ``approved_by`` is given.

    Held: an empty report, a file cut off mid-row, rows without an invoice reference or with more
    fields than the header, a report produced before the newest applied one, or one that would
    mark more than ``max_paid_fraction`` of the open invoices paid.
    """
    known = receivables.snapshot(integration, sha256, produced_at)
    if known is not None and known.status == SnapshotStatus.APPLIED:
        when = as_utc(known.applied_at or known.recorded_at).isoformat(timespec="seconds")
        return Outcome("already_applied", f"this snapshot was applied on {when} (run {known.run_id})")
    truncated = looks_truncated(path)
    snapshot = read_snapshot(path, source, produced_at, options)
    if snapshot.rejected is not None:
        cut = " (the file looks cut off mid-row: upload it again)" if truncated else ""
        return Outcome(
            "rejected", f"not an open-AR report that can be reconciled{cut}: {snapshot.rejected}", snapshot
        )
    holds = list(snapshot.holds)
    if truncated:
        holds.insert(0, "the file ends in the middle of a row: the upload looks cut off")
    latest = receivables.latest_applied(integration)
    if latest is not None and produced_at < as_utc(latest.produced_at):
        holds.append(
            f"it was produced at {produced_at:%Y-%m-%d %H:%M:%S} UTC, before {latest.source_path} "
            f"({as_utc(latest.produced_at):%Y-%m-%d %H:%M:%S} UTC), which is applied already; applying "
            "it now would undo that one's changes"
        )
    comparison = compare(
        snapshot, receivables.open_state(integration), functools.partial(receivables.paid_among, integration)
    )
    counts = comparison.counts
    if comparison.paid_fraction > options.max_paid_fraction:
        holds.append(
            f"it would mark {counts['paid']:,} of {comparison.open_before:,} open invoices paid "
            f"({comparison.paid_fraction:.1%}, more than max_paid_fraction {options.max_paid_fraction:.0%})"
        )
    reason = "; ".join(holds) or None
    record = {
        "source_path": source,
        "sha256": sha256,
        "produced_at": produced_at,
        "rows": len(snapshot.frame),
        "open_before": comparison.open_before,
        **counts,
        "run_id": run_id,
        "reason": reason,
        "approved_by": approved_by if holds else None,
    }
    if holds and approved_by is None:
        receivables.hold(integration, record)
        return Outcome("held", reason, snapshot, comparison)
    snapshot_id = receivables.apply(
        integration, record, comparison.changes, snapshot.frame, snapshot.extra_columns
    )
    return Outcome("applied", reason, snapshot, comparison, snapshot_id)
