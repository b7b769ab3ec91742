"""The archive task's run, without Airflow: each file archived at the source (:func:`archive_files`),
its record closed in the ledger, and what needs a person said in one message.

Closing happens here, after every file was tried, and only for the files whose action was applied
(or that vanished): a file left at the source for a retry, or refused by the source, keeps a status
that is not final, so that the next try (or run) presents it again; the ledger knows its deliveries,
so nothing goes out twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from invoice_hub.exchange.archive import ArchiveResult, archive_files
from invoice_hub.ledger.status import FileStatus
from invoice_hub.staging import open_staged
from invoice_hub.transports.base import TransportError

if TYPE_CHECKING:
    from invoice_hub.config.models import SourceBase
    from invoice_hub.ledger.store import Ledger
    from invoice_hub.manifest import FileEntry
    from invoice_hub.transports.base import Transport

#: How many files a message lists by name; the rest are counted (the ledger and the log have all).
LISTED = 20


@dataclass(frozen=True)
class ArchiveRun:
    """One archive task: the integration's name and its source, and the run's id."""

    integration: str
    source: SourceBase
    run_id: str

    def _file(self, entry: FileEntry) -> dict:
        """Which file of which run: what a person finds beside it, next to the file itself."""
        return {
            "integration": self.integration,
            "run_id": self.run_id,
            "file": entry.name,
            "source_path": entry.source_path,
            "sha256": entry.sha256,
        }

    def failure_reason(self, entry: FileEntry) -> dict:
        """What is written beside a failed file moved by on_failure: why, and every validation
        finding with its location (staging, where they are now, is removed after archive)."""
        return {
            **self._file(entry),
            "reason_code": entry.reason_code,
            "reason": entry.reason,
            "failed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "findings": staged_findings(entry),
        }

    def delivered_findings(self, entry: FileEntry) -> dict:
        """What is kept beside a file delivered with findings (losses with ``on_loss: warn``): where
        it went, and every finding with its location."""
        return {
            **self._file(entry),
            "delivered_to": entry.delivered_to,
            "outputs": [output.name for output in entry.outputs],
            "findings": staged_findings(entry),
        }


def archive_run(
    run: ArchiveRun, transport: Transport, entries: list[FileEntry], ledger: Ledger
) -> ArchiveResult:
    """Archive ``entries`` at ``transport`` and close their records; raises a retryable
    :class:`TransportError` when a file could not be archived for a reason a retry can cure (after
    archiving and closing every other file; a retry skips the ones this try closed)."""
    done = ledger.final_files(run.integration, run.run_id)
    result = archive_files(
        transport, run.source, entries, run.failure_reason, done, findings_of=run.delivered_findings
    )
    for status, ids in result.closed.items():
        closing = [e for e in entries if e.file_id in ids]
        reasons = {e.file_id: result.ledger_reason(e) for e in closing}
        codes: dict[int | None, str | None] = {e.file_id: e.reason_code for e in closing}
        ledger.close_files(ids, status, reasons, codes)
    if result.unclosed:  # the reason is recorded; the status stays not final: presented again
        # close_files takes reasons keyed int | None (FileEntry.file_id); a dict's key type is invariant,
        # so these int keys are refused though close_files only reads them
        ledger.close_files(
            list(result.unclosed),
            FileStatus.FETCHED,
            result.unclosed,  # type: ignore[arg-type]  # see above
        )
    if result.retry:
        raise TransportError(
            f"{len(result.retry)} file(s) could not be archived and will be retried: "
            + "; ".join(result.retry[:5])
        )
    return result


def summary(entries: list[FileEntry], result: ArchiveResult) -> str:
    """One log line of what the run's archive did, file by outcome."""
    held = sum(e.status == "held" for e in entries)
    return (
        f"Archived {len(entries) - held} file(s): {sum(e.status == 'delivered' for e in entries)} "
        f"succeeded, {sum(e.status == 'duplicate' for e in entries)} duplicate(s), "
        f"{sum(e.status == 'failed' for e in entries)} failed, {held} held at the source, "
        f"{len(result.vanished)} vanished from the source, {len(result.refused)} the source refused "
        "to archive"
    )


def problems(entries: list[FileEntry], result: ArchiveResult) -> str | None:
    """What needs a person (None: nothing): failed files, files held at the source, files the source
    refused to archive, each listed with its path and reason. A vanished file is not one: retrying or
    a person cannot bring it back, and it was processed."""
    failed = [e for e in entries if e.status == "failed"]
    held = [e for e in entries if e.status == "held"]
    parts = []
    if failed:
        parts.append(f"{len(failed)} file(s) failed and went to on_failure:\n" + listed_failures(failed))
    if held:
        lines = [f"{e.source_path}: {e.reason}" for e in held[:LISTED]]
        parts.append(f"{len(held)} file(s) held at the source for a person:\n" + "\n".join(lines))
    if result.refused:
        lines = [f"{e.archive_problem}" for e in result.refused[:LISTED]]
        parts.append(
            f"{len(result.refused)} file(s) could not be archived at the source:\n" + "\n".join(lines)
        )
    return "\n".join(parts) or None


def listed_failures(failed: list[FileEntry]) -> str:
    """The first LISTED failed entries, a line each with its path, reason code and reason."""
    return "\n".join(f"{e.source_path}: [{e.reason_code}] {e.reason}" for e in failed[:LISTED])


def staged_findings(entry: FileEntry) -> list:
    """The findings of ``entry`` that validate_transform put in staging as JSON (none without)."""
    if entry.findings_url is None:
        return []
    with open_staged(entry.findings_url) as source:
        return json.load(source)
