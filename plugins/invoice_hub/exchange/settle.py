"""A conversion's place in the run and its outcome on the manifest entry: one way for validate_transform
and for an export's render, so that a failed, lossy or converted file is recorded alike by both."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from invoice_hub.exchange.transform import Target
from invoice_hub.formats.loss import is_loss

if TYPE_CHECKING:
    from invoice_hub.exchange import TaskLog
    from invoice_hub.exchange.transform import Outcome
    from invoice_hub.manifest import FileEntry
    from invoice_hub.staging import Staging


def target_for(entry: FileEntry, staging: Staging, exported_at: dt.datetime) -> Target:
    """Where ``entry``'s outputs go: its own key in the run's staging (the invoice's in an export,
    whose entries share their source file), its name and hash."""
    key = str(entry.file_id) if entry.invoice_id is None else f"invoice{entry.invoice_id}"
    return Target(staging, key, entry.name, entry.sha256 or "", exported_at)


def settle(entry: FileEntry, outcome: Outcome, staging: Staging, log: TaskLog) -> None:
    """``outcome`` on ``entry``: the findings as JSON in staging when there are any a person should
    see (a failure's, or losses delivered with a warning), the outputs, or the failure."""
    if outcome.failed or any(is_loss(f) for f in outcome.findings):
        entry.findings_url = staging.put_findings(str(entry.file_id), entry.name, outcome.findings)
    if outcome.failed:
        assert outcome.reason is not None and outcome.message is not None
        log.error("%s failed [%s]: %s", entry.source_path, outcome.reason, outcome.message)
        entry.fail(outcome.reason, outcome.message)
    else:
        entry.outputs = outcome.outputs
