"""fetch: copy the new files into the run's staging area and present them to the ledger."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from airflow.sdk import Context

from invoice_hub.manifest import CandidateList, FileEntry, Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast


class FetchOperator(IntegrationOperator):
    """Copies each candidate into staging over one connection (as many at once as the transport can
    keep in flight), then hashes it.

    A file whose content this integration already processed is marked ``duplicate`` and not
    processed again. A file that cannot be read is marked ``failed`` with its reason and stays at
    the source; a lost connection fails the task, which retries (the staged copies are rewritten).
    The ledger is told about all fetched files in one transaction.

    ``deduplicate_content=False`` fetches a file again under another name or time even when its
    content was processed: an open-AR report identical to an older one is a new snapshot.
    """

    def __init__(self, *, deduplicate_content: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deduplicate_content = deduplicate_content

    @fail_fast
    def execute(self, context: Context) -> dict:
        listing = CandidateList.model_validate(context["ti"].xcom_pull(task_ids="wait_for_files"))
        staging = self.staging(context)
        candidates = listing.candidates
        staged = [
            staging.new_path("in", str(index), PurePosixPath(c.path).name)
            for index, c in enumerate(candidates)
        ]
        entries: list[FileEntry] = []
        with (
            self.source_transport() as transport,
            tempfile.TemporaryDirectory(prefix="invoice-hub-") as scratch,
        ):
            targets = [
                staging.local_path(path) if staging.is_local else Path(scratch) / str(index)
                for index, path in enumerate(staged)
            ]
            errors = transport.download_many(
                [(c.path, target) for c, target in zip(candidates, targets, strict=True)]
            )
            for candidate, path, target, error in zip(candidates, staged, targets, errors, strict=True):
                entry = FileEntry(
                    source_path=candidate.path, size=candidate.size, mtime=candidate.mtime, status="fetched"
                )
                if error is not None:
                    if error.retryable:
                        raise error
                    self.log.error("Cannot fetch %s: %s", candidate.path, error)
                    entry.fail("fetch.unreadable", str(error))
                    entries.append(entry)
                    continue
                size = target.stat().st_size
                if size != candidate.size:
                    # Still being written (min_age_seconds guards against most of these): next run.
                    self.log.warning(
                        "%s changed while being fetched (%d bytes listed, %d read); it stays at the "
                        "source for the next run",
                        candidate.path,
                        candidate.size,
                        size,
                    )
                    target.unlink()
                    continue
                with target.open("rb") as content:
                    entry.sha256 = hashlib.file_digest(content, "sha256").hexdigest()
                if not staging.is_local:
                    staging.put(target, path)
                entry.staged_url = str(path)
                entries.append(entry)
        fetched = [e for e in entries if e.status == "fetched"]
        claims = self.ledger.claim_many(
            self.integration.name,
            context["run_id"],
            [(e.source_path, e.size, e.mtime, e.sha256 or "") for e in fetched],
        )
        for entry, claim in zip(fetched, claims, strict=True):
            entry.file_id = claim.file_id
            if claim.duplicate_of and self.deduplicate_content:
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
