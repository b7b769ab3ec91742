"""Archive at the source: on_success / on_failure applied to each file, one file never failing the others.

The library function behind the ``archive`` task (tested without Airflow). A file whose archive
action cannot be applied keeps its outcome (it was delivered, or it failed validation) and gets an
archive problem beside it, with a :class:`~invoice_hub.reasons.Reason`:

- ``archive.vanished``: the file is no longer at the source (another integration sharing the source,
  or a person, moved or deleted it). Nothing is lost (it was processed; where it went is not ours to
  know) and retrying cannot bring it back: recorded and logged, not an error of the run.
- ``archive.refused``: the source refuses the move or the delete for good (no permission, a name it
  rejects, a file where the folder should be). The file stays where it is and is *not* closed: its
  reason is recorded, the run fails (without retries) for a person, and once the cause is fixed
  the next run presents the file again and archives it (the ledger knows its deliveries: nothing
  goes out twice). A move that worked but whose reason file was refused is archived, with the
  problem recorded beside the file's reason.
- anything retryable (a lost connection): the file is left unclosed, the others are archived, and
  the task fails so that its retry archives it.

A file delivered with findings (``transform.on_loss: warn``: values its output could not hold) has
them only in staging, which the task removes next: so they are written beside the archived original
(``INV-1.xml.findings.json`` in ``on_success.move_to``) and the ledger's reason of the file says so
and where. With ``on_success: keep`` or ``delete`` there is no archive to write into (a file beside a
kept one would be presented as a new source file): the ledger's reason names the lost terms and the
log has every finding.
"""

from __future__ import annotations

import errno
import json
import logging
import posixpath
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from invoice_hub.config.models import FailureAction, SourceBase, SuccessAction
from invoice_hub.ledger.status import FileStatus
from invoice_hub.manifest import FileEntry
from invoice_hub.naming import name_beside
from invoice_hub.reasons import Reason
from invoice_hub.transports.base import Transport, TransportError

log = logging.getLogger(__name__)

#: Written beside a file moved by on_failure: ``INV-1.xml`` -> ``INV-1.xml.error.json``.
REASON_SUFFIX = ".error.json"
#: Written beside a delivered file moved by on_success when it has findings (losses delivered with
#: a warning): ``INV-1.xml`` -> ``INV-1.xml.findings.json``.
FINDINGS_SUFFIX = ".findings.json"

FINAL_STATUS = {
    "delivered": FileStatus.SUCCEEDED,
    "duplicate": FileStatus.DUPLICATE,
    "failed": FileStatus.FAILED,
}

#: OS errors that retrying cannot fix: permission, read-only, a name the file system rejects, a file
#: where the move_to folder should be.
_PERMANENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENAMETOOLONG,
        errno.EINVAL,
        errno.EILSEQ,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EEXIST,
    }
)


@dataclass
class ArchiveResult:
    """What archive did: file ids to close per final status, and the files it could not archive."""

    closed: dict[str, list[int]] = field(default_factory=dict)
    #: file id -> reason of a file left unclosed at the source (refused): recorded, not final
    unclosed: dict[int, str] = field(default_factory=dict)
    vanished: list[FileEntry] = field(default_factory=list)
    refused: list[FileEntry] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)  # "path: error", left unclosed for the task's retry
    #: file id -> where the findings of a file delivered with some were kept, and which terms
    findings: dict[int, str] = field(default_factory=dict)

    def ledger_reason(self, entry: FileEntry) -> str | None:
        """The reason the ledger keeps: the outcome's, where its findings are, what archive could not do."""
        kept = self.findings.get(entry.file_id) if entry.file_id is not None else None
        return "; ".join(filter(None, [entry.reason, kept, entry.archive_problem])) or None


def archive_files(
    transport: Transport,
    source: SourceBase,
    entries: list[FileEntry],
    reason_of: Callable[[FileEntry], dict],
    done: Collection[int] = (),
    findings_of: Callable[[FileEntry], dict] | None = None,
) -> ArchiveResult:
    """Apply ``on_success`` / ``on_failure`` to each entry at ``transport``; ``reason_of`` gives what is
    written beside a moved failed file, ``findings_of`` what is kept of a delivered file with findings
    (``findings_url``; its ``findings`` list the ledger's reason summarises); ``done`` are file ids an
    earlier try closed already."""
    result = ArchiveResult()
    for entry in entries:
        if entry.file_id is not None and entry.file_id in done:
            continue  # archived by an earlier try of the task
        if entry.status == "held":
            continue  # stays where it is, unclosed: the next run presents it again
        succeeded = entry.status in ("delivered", "duplicate")
        action = source.on_success if succeeded else source.on_failure
        try:
            moved = _apply(transport, action, entry, reason_of)
            if succeeded and entry.findings_url is not None and findings_of is not None:
                _keep_findings(transport, moved, entry, findings_of, result)
        except Exception as exc:  # one file never fails the others: classified and recorded
            if not _classify(transport, entry, exc, result):
                continue
        if entry.file_id is not None and entry.status in FINAL_STATUS:
            result.closed.setdefault(FINAL_STATUS[entry.status], []).append(entry.file_id)
    return result


def _apply(
    transport: Transport,
    action: SuccessAction | FailureAction,
    entry: FileEntry,
    reason_of: Callable[[FileEntry], dict],
) -> str | None:
    """Apply ``action``; where the file is now when it was moved."""
    if action == "keep":
        return None
    if action == "delete":
        transport.delete(entry.source_path)
        log.info("Deleted %s", entry.source_path)
        return None
    moved = transport.move(entry.source_path, action.move_to)
    log.info("Moved %s to %s", entry.source_path, moved)
    if entry.status == "failed":
        folder, name = posixpath.split(moved)
        beside = posixpath.join(folder, name_beside(name, REASON_SUFFIX))
        try:
            transport.write_text(beside, json.dumps(reason_of(entry), indent=2))
        except TransportError as exc:
            # moved: the file is archived; its reason stays in the ledger and the log
            _note(
                entry,
                Reason.ARCHIVE_REFUSED,
                f"moved to {moved}, but the reason file could not be written: {exc}",
            )
            log.error("%s", entry.archive_problem)
    return moved


def _keep_findings(
    transport: Transport,
    moved: str | None,
    entry: FileEntry,
    findings_of: Callable[[FileEntry], dict],
    result: ArchiveResult,
) -> None:
    """Write a delivered file's findings beside its archived original (``moved``), and note in the
    ledger's reason where they are and which terms it was delivered without. Never raises: the file
    is archived already."""
    try:
        payload = findings_of(entry)
    except Exception as exc:  # staging unreadable: the log of validate_transform still has each one
        log.error("%s: its findings cannot be read from %s: %s", entry.source_path, entry.findings_url, exc)
        payload = {"findings": []}
    findings = payload.get("findings", [])
    rules = ", ".join(dict.fromkeys(str(f.get("rule", "")).removeprefix("LOSS-") for f in findings))
    what = f"delivered with {len(findings)} finding(s) ({rules})"
    if moved is None:
        where = "on_success keeps or deletes it, so they are in the validate_transform log only"
    else:
        folder, name = posixpath.split(moved)
        beside = posixpath.join(folder, name_beside(name, FINDINGS_SUFFIX))
        try:
            transport.write_text(beside, json.dumps(payload, indent=2))
            where = f"findings in {beside}"
        except TransportError as exc:  # archived all the same: the terms stay in the ledger and the log
            _note(
                entry,
                Reason.ARCHIVE_REFUSED,
                f"moved to {moved}, but its findings could not be written: {exc}",
            )
            log.error("%s", entry.archive_problem)
            where = "they are in the validate_transform log only"
    if entry.file_id is not None:
        result.findings[entry.file_id] = f"{what}; {where}"
    log.warning("%s: %s; %s", entry.source_path, what, where)


def _classify(transport: Transport, entry: FileEntry, exc: Exception, result: ArchiveResult) -> bool:
    """Record why ``entry`` could not be archived; whether it is closed in the ledger all the same
    (only a vanished one: it cannot be presented again)."""
    if _vanished(transport, entry.source_path):
        _note(
            entry,
            Reason.ARCHIVE_VANISHED,
            f"{entry.source_path} was no longer at the source when archive came to it (another "
            "integration sharing the source, or a person, took it): nothing to keep, delete or move",
        )
        log.warning("%s", entry.archive_problem)
        result.vanished.append(entry)
        return True
    if _retryable(exc):
        log.error("Cannot archive %s (will retry): %s", entry.source_path, exc)
        result.retry.append(f"{entry.source_path}: {exc}")
        return False
    detail = str(exc) if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
    _note(
        entry,
        Reason.ARCHIVE_REFUSED,
        f"the source refused to archive {entry.source_path}: {detail}; it stays where it is, and "
        "the next run archives it once the source's permissions or on_success / on_failure are fixed",
    )
    log.error("%s", entry.archive_problem)
    result.refused.append(entry)
    if entry.file_id is not None:
        result.unclosed[entry.file_id] = result.ledger_reason(entry) or ""
    return False


def _note(entry: FileEntry, code: Reason, problem: str) -> None:
    entry.archive_code, entry.archive_problem = code, f"[{code}] {problem}"


def _vanished(transport: Transport, path: str) -> bool:
    try:
        return transport.exists(path) is None
    except Exception:  # cannot even look: not known to be gone
        return False


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TransportError):
        return exc.retryable
    if isinstance(exc, OSError):
        return exc.errno not in _PERMANENT_ERRNOS
    return False  # a bug or a surprise: retrying the same code on the same file does the same
