"""fetch: copy the new files into the run's staging area and present each to the ledger."""

from __future__ import annotations

from airflow.sdk import Context

from invoice_hub.manifest import CandidateList, FileEntry, Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.transports import TransportError


class FetchOperator(IntegrationOperator):
    """Streams each candidate into staging (hashing on the way) over one connection.

    A file whose content this integration already processed is marked ``duplicate`` and not
    processed again. A file that cannot be read is marked ``failed`` with its reason and stays at
    the source; a lost connection fails the task, which retries (the staged copies are rewritten).
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.staging import HashingWriter

        listing = CandidateList.model_validate(context["ti"].xcom_pull(task_ids="wait_for_files"))
        staging = self.staging(context)
        name, run_id = self.integration.name, context["run_id"]
        entries: list[FileEntry] = []
        with self.source_transport() as transport:
            for index, candidate in enumerate(listing.candidates):
                entry = FileEntry(
                    source_path=candidate.path, size=candidate.size, mtime=candidate.mtime, status="fetched"
                )
                staged = staging.new_path("in", str(index), entry.name)
                try:
                    with staged.open("wb") as sink:
                        writer = HashingWriter(sink)
                        transport.download(candidate.path, writer)  # type: ignore[arg-type]
                except TransportError as exc:
                    if exc.retryable:
                        raise
                    self.log.error("Cannot fetch %s: %s", candidate.path, exc)
                    entry.fail("fetch.unreadable", str(exc))
                    entries.append(entry)
                    continue
                if writer.size != candidate.size:
                    # Still being written (min_age_seconds guards against most of these): next run.
                    self.log.warning(
                        "%s changed while being fetched (%d bytes listed, %d read); it stays "
                        "at the source for the next run",
                        candidate.path,
                        candidate.size,
                        writer.size,
                    )
                    staged.unlink()
                    continue
                entry.sha256, entry.staged_url = writer.hexdigest(), str(staged)
                claim = self.ledger.claim(
                    name, run_id, candidate.path, candidate.size, candidate.mtime, entry.sha256
                )
                entry.file_id = claim.file_id
                if claim.duplicate_of:
                    entry.status, entry.reason_code = "duplicate", "duplicate"
                    entry.reason = f"same content as {claim.duplicate_of}, which was processed already"
                    self.log.info("%s: %s", candidate.path, entry.reason)
                entries.append(entry)
        fetched = sum(e.status == "fetched" for e in entries)
        self.log.info(
            "Fetched %d new file(s), %d duplicate(s), %d unreadable",
            fetched,
            sum(e.status == "duplicate" for e in entries),
            sum(e.status == "failed" for e in entries),
        )
        return Manifest(files=entries).to_xcom()
