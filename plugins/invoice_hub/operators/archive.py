"""archive: apply on_success / on_failure at the source, then close the files' records in the ledger."""

from __future__ import annotations

import datetime as dt
import json

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from invoice_hub.exchange.archive import archive_files
from invoice_hub.ledger.status import FileStatus
from invoice_hub.manifest import FileEntry
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.transports import TransportError


class ArchiveOperator(IntegrationOperator):
    """Keeps, deletes or moves each source file by its outcome; a moved failed file gets its reason beside it
    (see :func:`invoice_hub.exchange.archive.archive_files`: one file that cannot be archived never stops the
    others).

    When any file failed, or the source refused to archive one, the task fails at the end (after
    archiving every other file, without retries) so that the run shows red and ``notify.on_failure``
    is told: it needs a person. A refused file is left unclosed (its reason recorded), so the next
    run, after the cause is fixed, archives it. A file that vanished from the source is logged and recorded, and
    returned in the task's result (XCom), but does not fail the run: retrying cannot help.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        manifest = self.pull_manifest(context, "deliver")
        if self.resend_request(context) is not None:  # a stored document went out again: no source file
            (entry,) = manifest.files
            if entry.status == "failed":
                raise AirflowFailException(
                    f"Resend of {entry.name} failed: [{entry.reason_code}] {entry.reason}"
                )
            self.log.info("Resent %s to %s", entry.name, ", ".join(entry.delivered_to))
            return {"resend": entry.name, "delivered_to": entry.delivered_to}
        source = self.integration.source
        assert source is not None
        done = self.ledger.final_files(self.integration.name, context["run_id"])
        with self.source_transport() as transport:
            result = archive_files(
                transport,
                source,
                manifest.files,
                lambda e: self._reason(e, context["run_id"]),
                done,
                findings_of=lambda e: self._delivered_findings(e, context["run_id"]),
            )
        for status, ids in result.closed.items():
            closing = [e for e in manifest.files if e.file_id in ids]
            reasons = {e.file_id: result.ledger_reason(e) for e in closing}
            codes = {e.file_id: e.reason_code for e in closing}
            self.ledger.close_files(ids, status, reasons, codes)
        if result.unclosed:  # the reason is recorded; the status stays not final: presented again
            self.ledger.close_files(list(result.unclosed), FileStatus.FETCHED, result.unclosed)  # type: ignore[arg-type]
        if result.retry:
            raise TransportError(
                f"{len(result.retry)} file(s) could not be archived and will be retried: "
                + "; ".join(result.retry[:5])
            )
        self.staging(context).remove()
        failed = [e for e in manifest.files if e.status == "failed"]
        held = [e for e in manifest.files if e.status == "held"]
        self.log.info(
            "Archived %d file(s): %d succeeded, %d duplicate(s), %d failed, %d held at the source, "
            "%d vanished from the source, %d the source refused to archive",
            len(manifest.files) - len(held),
            sum(e.status == "delivered" for e in manifest.files),
            sum(e.status == "duplicate" for e in manifest.files),
            len(failed),
            len(held),
            len(result.vanished),
            len(result.refused),
        )
        problems = []
        if failed:
            lines = [f"{e.source_path}: [{e.reason_code}] {e.reason}" for e in failed[:20]]
            problems.append(f"{len(failed)} file(s) failed and went to on_failure:\n" + "\n".join(lines))
        if held:
            lines = [f"{e.source_path}: {e.reason}" for e in held[:20]]
            problems.append(f"{len(held)} file(s) held at the source for a person:\n" + "\n".join(lines))
        if result.refused:
            lines = [f"{e.archive_problem}" for e in result.refused[:20]]
            problems.append(
                f"{len(result.refused)} file(s) could not be archived at the source:\n" + "\n".join(lines)
            )
        if problems:
            raise AirflowFailException("\n".join(problems))
        return {
            "archived": len(manifest.files) - len(held),
            "vanished": [
                {"source_path": e.source_path, "problem": e.archive_problem} for e in result.vanished
            ],
        }

    def _delivered_findings(self, entry: FileEntry, run_id: str) -> dict:
        """What is kept beside a file delivered with findings (losses with ``on_loss: warn``): where it
        went, and every finding with its location, before staging is removed."""
        return {
            "integration": self.integration.name,
            "run_id": run_id,
            "file": entry.name,
            "source_path": entry.source_path,
            "sha256": entry.sha256,
            "delivered_to": entry.delivered_to,
            "outputs": [output.name for output in entry.outputs],
            "findings": _findings(entry),
        }

    def _reason(self, entry: FileEntry, run_id: str) -> dict:
        """What is written beside a failed file: why, and every validation finding with its location."""
        findings = _findings(entry)
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


def _findings(entry: FileEntry) -> list:
    """The findings JSON of ``entry`` in staging (none without one)."""
    if entry.findings_url is None:
        return []
    from airflow.sdk import ObjectStoragePath

    with ObjectStoragePath(entry.findings_url).open("r") as source:
        return json.load(source)
