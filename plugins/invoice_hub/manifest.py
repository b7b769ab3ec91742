"""What the tasks of a run hand each other through XCom: paths, hashes and ids, never file contents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from invoice_hub.config.models import IfExists
from invoice_hub.reasons import Reason

#: ``held``: left at the source untouched, presented again next run (a snapshot awaiting approval).
EntryStatus = Literal["fetched", "duplicate", "transformed", "delivered", "failed", "held"]


class ManifestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_xcom(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Candidate(ManifestModel):
    """A file found at the source by wait_for_files."""

    path: str
    size: int
    mtime: float


class Output(ManifestModel):
    """One file to deliver, made from a source file (or, in an export, from a ledger invoice)."""

    name: str
    url: str  # staging URL of the bytes (for passthrough, the staged source itself)
    sha256: str
    size: int
    #: Destination ids (``destinations.0``, ``customers.<id>.destinations.0``); None: the integration's.
    targets: list[str] | None = None
    if_exists: IfExists | None = None  # instead of the destination's
    #: What makes a delivery "the same" in the ledger; None: the content (sha256). A deliberate
    #: re-export sets one of its own, so the same content goes out again (once per run).
    delivery_key: str | None = None
    delivered_to: dict[str, str] = {}  # destination id -> where it went (set by deliver)

    @property
    def key(self) -> str:
        return self.delivery_key or self.sha256


class FileEntry(ManifestModel):
    """One source file on its way through the run. Assignments are validated: a reason code set as a
    string becomes a :class:`~invoice_hub.reasons.Reason` (one not in the set raises)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    source_path: str
    size: int
    mtime: float
    file_id: int | None = None  # ledger id
    sha256: str | None = None
    staged_url: str | None = None
    status: EntryStatus
    reason_code: Reason | None = None  # machine-readable, e.g. "duplicate", "deliver.target_exists"
    reason: str | None = None  # for people
    #: Why on_success / on_failure could not be applied (the file vanished, the source refused):
    #: the outcome above stands, this says what archive could not do (in the ledger and the run's log).
    archive_code: Reason | None = None
    archive_problem: str | None = None
    outputs: list[Output] = []
    delivered_to: list[str] = []
    findings_url: str | None = None  # staging URL of the validation findings (JSON) of a rejected file
    invoice_id: int | None = None  # exports: the ledger invoice this entry renders
    customer: str | None = None  # exports: its customer id in the ledger (whose settings apply)

    @property
    def name(self) -> str:
        return self.source_path.rsplit("/", 1)[-1]

    def fail(self, code: Reason, reason: str) -> None:
        self.mark("failed", code, reason)

    def mark(self, status: EntryStatus, code: Reason, reason: str) -> None:
        """Set the outcome with its code (a code string not in :class:`Reason` raises ValueError).

        The reason is redacted here too: HubErrors are clean already, but a reason may quote any
        exception (``transform.error``), and it goes to XCom, the ledger, error.json and mails."""
        from invoice_hub.redaction import redact

        self.status, self.reason_code, self.reason = status, Reason(code), redact(reason)


class CandidateList(ManifestModel):
    candidates: list[Candidate]


class Manifest(ManifestModel):
    files: list[FileEntry]
