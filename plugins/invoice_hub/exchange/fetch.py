"""Fetch candidates into a run's staging area and present them to the ledger (see docs/guarantees.md).

Each candidate is copied over the one open connection (as many at once as the transport keeps in
flight), hashed, and registered in one transaction. Nothing at the source changes here (archive
does that after delivery), so a crash anywhere in fetch only means fetching again: the staged copies
are rewritten and the ledger's rows, keyed by (path, size, mtime), are found again, not duplicated.
A file whose content this integration already processed is a ``duplicate``; a file that cannot be
read is ``failed`` with its reason and stays at the source; a lost connection raises (retryable).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from invoice_hub.ledger.store import Ledger
from invoice_hub.manifest import Candidate, FileEntry
from invoice_hub.reasons import Reason
from invoice_hub.staging import Staging
from invoice_hub.transports.base import Transport, TransportError

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

#: Files fetched per round when staging is on an object store (see :func:`fetch_files`).
ROUND = 250


def fetch_files(
    ledger: Ledger,
    transport: Transport,
    staging: Staging,
    candidates: list[Candidate],
    *,
    integration: str,
    run_id: str,
    deduplicate_content: bool = True,
) -> list[FileEntry]:
    """The manifest entries of ``candidates``: fetched (staged, hashed, with their ledger id),
    duplicate or failed. A file that changed while being read is left out (it stays at the source
    for the next run). ``deduplicate_content=False``: the same content under another name or time
    is processed again (an open-AR report identical to an older one is a new snapshot)."""
    staged = [
        staging.new_path("in", str(index), PurePosixPath(c.path).name) for index, c in enumerate(candidates)
    ]
    entries: list[FileEntry] = []
    # On an object store, a round's files go up to staging while the next round comes down: the two
    # wait on different servers. A local staging area is written by the download itself, in one round.
    size = len(candidates) if staging.is_local else ROUND
    rounds = [range(start, min(start + size, len(candidates))) for start in range(0, len(candidates), size)]
    with (
        tempfile.TemporaryDirectory(prefix="invoice-hub-") as scratch,
        ThreadPoolExecutor(1, thread_name_prefix="staging-put") as uploader,
    ):
        putting: tuple[Future[list[str]], list[FileEntry]] | None = None
        for indexes in rounds:
            targets = [
                staging.local_path(staged[i]) if staging.is_local else Path(scratch) / str(i) for i in indexes
            ]
            errors = transport.download_many(
                [(candidates[i].path, target) for i, target in zip(indexes, targets, strict=True)]
            )
            uploads: list[tuple[Path, ObjectStoragePath]] = []
            uploaded: list[FileEntry] = []
            for i, target, error in zip(indexes, targets, errors, strict=True):
                entry = _staged_entry(candidates[i], target, error)
                if entry is None:
                    continue
                if entry.status == "fetched" and staging.is_local:
                    entry.staged_url = str(staged[i])  # downloaded into staging itself
                elif entry.status == "fetched":  # its URL once staged: a small file is a pack's member
                    uploads.append((target, staged[i]))
                    uploaded.append(entry)
                entries.append(entry)
            if putting is not None:
                _staged_at(*putting)  # its error (a lost connection: retryable) fails the task here
            if not staging.is_local:  # the round's files packed, every PUT of the round in flight
                putting = uploader.submit(staging.put_many, uploads), uploaded
        if putting is not None:
            _staged_at(*putting)
    fetched = [e for e in entries if e.status == "fetched"]
    claims = ledger.claim_many(
        integration,
        run_id,
        [(e.source_path, e.size, e.mtime, e.sha256 or "") for e in fetched],
    )
    for entry, claim in zip(fetched, claims, strict=True):
        entry.file_id = claim.file_id
        if claim.duplicate_of and deduplicate_content:
            entry.mark(
                "duplicate",
                Reason.DUPLICATE,
                f"same content as {claim.duplicate_of}, which was processed already",
            )
            log.info("%s: %s", entry.source_path, entry.reason)
    log.info(
        "Fetched %d new file(s), %d duplicate(s), %d unreadable",
        sum(e.status == "fetched" for e in entries),
        sum(e.status == "duplicate" for e in entries),
        sum(e.status == "failed" for e in entries),
    )
    return entries


def _staged_at(putting: Future[list[str]], entries: list[FileEntry]) -> None:
    """The entries at the URLs their round was staged at (a small file is a member of a pack)."""
    for entry, url in zip(entries, putting.result(), strict=True):
        entry.staged_url = url


def _staged_entry(candidate: Candidate, target: Path, error: TransportError | None) -> FileEntry | None:
    """The entry of one downloaded candidate: fetched (hashed), failed, or None when it changed
    while being read (it stays at the source for the next run). A retryable error raises."""
    entry = FileEntry(
        source_path=candidate.path,
        size=candidate.size,
        mtime=candidate.mtime,
        status="fetched",
    )
    if error is not None:
        if error.retryable:
            raise error
        log.error("Cannot fetch %s: %s", candidate.path, error)
        entry.fail(Reason.FETCH_UNREADABLE, str(error))
        return entry
    size = target.stat().st_size
    if size != candidate.size:
        # Still being written (min_age_seconds guards against most of these): next run.
        log.warning(
            "%s changed while being fetched (%d bytes listed, %d read); it stays at the source "
            "for the next run",
            candidate.path,
            candidate.size,
            size,
        )
        target.unlink()
        return None
    with target.open("rb") as content:
        entry.sha256 = hashlib.file_digest(content, "sha256").hexdigest()
    return entry
