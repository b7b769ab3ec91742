"""fetch: copy the new files into the run's staging area and present them to the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import Context

from invoice_hub.manifest import Candidate, CandidateList, FileEntry, Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast, over_channels
from invoice_hub.transports import Transport, TransportError

if TYPE_CHECKING:
    from invoice_hub.staging import Staging


class FetchOperator(IntegrationOperator):
    """Streams each candidate into staging (hashing on the way) over one connection.

    A file whose content this integration already processed is marked ``duplicate`` and not
    processed again. A file that cannot be read is marked ``failed`` with its reason and stays at
    the source; a lost connection fails the task, which retries (the staged copies are rewritten).
    The ledger is told about all fetched files in one transaction.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        listing = CandidateList.model_validate(context["ti"].xcom_pull(task_ids="wait_for_files"))
        staging = self.staging(context)
        with self.source_transport() as transport:
            results = over_channels(
                transport,
                list(enumerate(listing.candidates)),
                lambda channel, item: self._fetch_one(channel, staging, *item),
            )
        entries = [entry for entry in results if entry is not None]
        fetched = [e for e in entries if e.status == "fetched"]
        claims = self.ledger.claim_many(
            self.integration.name,
            context["run_id"],
            [(e.source_path, e.size, e.mtime, e.sha256 or "") for e in fetched],
        )
        for entry, claim in zip(fetched, claims, strict=True):
            entry.file_id = claim.file_id
            if claim.duplicate_of:
                entry.status, entry.reason_code = "duplicate", "duplicate"
                entry.reason = f"same content as {claim.duplicate_of}, which was processed already"
                self.log.info("%s: %s", entry.source_path, entry.reason)
        self.log.info(
            "Fetched %d new file(s), %d duplicate(s), %d unreadable",
            sum(e.status == "fetched" for e in entries),
            sum(e.status == "duplicate" for e in entries),
            sum(e.status == "failed" for e in entries),
        )
        return Manifest(files=entries).to_xcom()

    def _fetch_one(
        self, transport: Transport, staging: Staging, index: int, candidate: Candidate
    ) -> FileEntry | None:
        from invoice_hub.staging import HashingWriter

        entry = FileEntry(
            source_path=candidate.path, size=candidate.size, mtime=candidate.mtime, status="fetched"
        )
        staged = staging.new_path("in", str(index), entry.name)
        try:
            with staging.open_for_writing(staged) as sink:
                writer = HashingWriter(sink)
                transport.download(candidate.path, writer, candidate.size)  # type: ignore[arg-type]
        except TransportError as exc:
            if exc.retryable:
                raise
            self.log.error("Cannot fetch %s: %s", candidate.path, exc)
            entry.fail("fetch.unreadable", str(exc))
            return entry
        if writer.size != candidate.size:
            # Still being written (min_age_seconds guards against most of these): next run.
            self.log.warning(
                "%s changed while being fetched (%d bytes listed, %d read); it stays at the "
                "source for the next run",
                candidate.path,
                candidate.size,
                writer.size,
            )
            staged.unlink()
            return None
        entry.sha256, entry.staged_url = writer.hexdigest(), str(staged)
        return entry
