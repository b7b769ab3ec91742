"""archive: apply on_success / on_failure at the source, then close the files' records in the ledger."""

from __future__ import annotations

import datetime as dt
import json

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from invoice_hub.ledger.status import FileStatus
from invoice_hub.manifest import FileEntry
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.transports import Transport, TransportError

#: Written beside a file moved by on_failure: ``INV-1.xml`` -> ``INV-1.xml.error.json``.
REASON_SUFFIX = ".error.json"

_FINAL_STATUS = {
    "delivered": FileStatus.SUCCEEDED,
    "duplicate": FileStatus.DUPLICATE,
    "failed": FileStatus.FAILED,
}


class ArchiveOperator(IntegrationOperator):
    """Keeps, deletes or moves each source file by its outcome; a moved failed file gets its reason beside it.

    When any file failed, the task fails at the end (after archiving every file, without retries) so
    that the run shows red and ``notify.on_failure`` is told: a rejected invoice needs a person.
    """

    @fail_fast
    def execute(self, context: Context) -> None:
        manifest = self.pull_manifest(context, "deliver")
        source = self.integration.source
        assert source is not None
        done = self.ledger.final_files(self.integration.name, context["run_id"])
        errors: list[str] = []
        by_status: dict[str, list[int]] = {}
        with self.source_transport() as transport:
            for entry in manifest.files:
                if entry.file_id is not None and entry.file_id in done:
                    continue  # archived by an earlier try of this task
                if entry.status == "held":
                    continue  # stays where it is, unclosed: the next run presents it again
                succeeded = entry.status in ("delivered", "duplicate")
                action = source.on_success if succeeded else source.on_failure
                try:
                    self._apply(transport, action, entry, context["run_id"])
                except TransportError as exc:
                    self.log.error("Cannot archive %s: %s", entry.source_path, exc)
                    errors.append(f"{entry.source_path}: {exc}")
                    continue
                if entry.file_id is not None:
                    by_status.setdefault(_FINAL_STATUS[entry.status], []).append(entry.file_id)
        for status, ids in by_status.items():
            reasons = {e.file_id: e.reason for e in manifest.files if e.file_id in ids}
            self.ledger.close_files(ids, status, reasons)
        if errors:
            raise TransportError(f"{len(errors)} file(s) could not be archived: " + "; ".join(errors[:5]))
        self.staging(context).remove()
        failed = [e for e in manifest.files if e.status == "failed"]
        held = [e for e in manifest.files if e.status == "held"]
        self.log.info(
            "Archived %d file(s): %d succeeded, %d duplicate(s), %d failed, %d held at the source",
            len(manifest.files) - len(held),
            sum(e.status == "delivered" for e in manifest.files),
            sum(e.status == "duplicate" for e in manifest.files),
            len(failed),
            len(held),
        )
        problems = []
        if failed:
            lines = [f"{e.source_path}: [{e.reason_code}] {e.reason}" for e in failed[:20]]
            problems.append(f"{len(failed)} file(s) failed and went to on_failure:\n" + "\n".join(lines))
        if held:
            lines = [f"{e.source_path}: {e.reason}" for e in held[:20]]
            problems.append(f"{len(held)} file(s) held at the source for a person:\n" + "\n".join(lines))
        if problems:
            raise AirflowFailException("\n".join(problems))

    def _apply(self, transport: Transport, action: object, entry: FileEntry, run_id: str) -> None:
        if action == "keep":
            return
        if action == "delete":
            transport.delete(entry.source_path)
            self.log.info("Deleted %s", entry.source_path)
            return
        moved = transport.move(entry.source_path, action.move_to)  # type: ignore[attr-defined]
        self.log.info("Moved %s to %s", entry.source_path, moved)
        if entry.status == "failed":
            transport.write_text(moved + REASON_SUFFIX, json.dumps(self._reason(entry, run_id), indent=2))

    def _reason(self, entry: FileEntry, run_id: str) -> dict:
        """What is written beside a failed file: why, and every validation finding with its location."""
        findings = []
        if entry.findings_url is not None:
            from airflow.sdk import ObjectStoragePath

            with ObjectStoragePath(entry.findings_url).open("r") as source:
                findings = json.load(source)
        return {
            "integration": self.integration.name,
            "run_id": run_id,
            "file": entry.name,
            "source_path": entry.source_path,
            "sha256": entry.sha256,
            "reason_code": entry.reason_code,
            "reason": entry.reason,
            "failed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "findings": findings,
        }
