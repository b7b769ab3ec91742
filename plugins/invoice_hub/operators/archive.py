"""archive: apply on_success / on_failure at the source, then close the files' records in the ledger."""

from __future__ import annotations

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from invoice_hub.exchange.archive_run import ArchiveRun, archive_run, problems, summary
from invoice_hub.operators.base import IntegrationOperator, fail_fast


class ArchiveOperator(IntegrationOperator):
    """Keeps, deletes or moves each source file by its outcome; a moved failed file gets its reason beside it
    (the work is :func:`invoice_hub.exchange.archive_run.archive_run`: one file that cannot be archived never
    stops the others).

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
        source = self.integration.file_source
        assert source is not None
        run = ArchiveRun(self.integration.name, source, context["run_id"])
        with self.source_transport() as transport:
            result = archive_run(run, transport, manifest.files, self.ledger)
        self.staging(context).remove()
        self.log.info("%s", summary(manifest.files, result))
        needs_a_person = problems(manifest.files, result)
        if needs_a_person:
            raise AirflowFailException(needs_a_person)
        return {
            "archived": sum(e.status != "held" for e in manifest.files),
            "vanished": [
                {"source_path": e.source_path, "problem": e.archive_problem} for e in result.vanished
            ],
        }
