"""The machine-readable reason codes of a file's outcome: one typed set, used wherever a code is set.

The strings are part of the product: they are written into ``.error.json`` files beside failed files,
the ledger (``source_files.reason``'s entries, XCom manifests) and the failure mails, and people's
scripts match on them. Never change or reuse one; add new ones here.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a file ended as it did (``FileEntry.reason_code``)."""

    # fetch
    DUPLICATE = "duplicate"  # same content as a file this integration processed already
    FETCH_UNREADABLE = "fetch.unreadable"  # the source would not give the file (vanished, no permission)
    # validate_transform
    FORMAT_UNREADABLE = "format.unreadable"  # not the input format at all (not XML, wrong encoding)
    VALIDATE_STRUCTURE = "validate.structure"
    VALIDATE_EN16931 = "validate.en16931"
    VALIDATE_PEPPOL = "validate.peppol"
    TRANSFORM_MAPPING = "transform.mapping"  # the mapping does not fit this document
    TRANSFORM_OUTPUT = "transform.output"  # valid input the output format cannot express
    TRANSFORM_ERROR = "transform.error"  # anything else while converting: a bug or a surprise
    TRANSFORM_LOSS = "transform.loss"  # the output cannot hold a business term the input had (on_loss: fail)
    TRANSFORM_INVALID_OUTPUT = "transform.invalid_output"  # the output fails the rules the input passed
    # deliver
    DELIVER_TARGET_EXISTS = "deliver.target_exists"  # if_exists: fail and the name is taken
    DELIVER_REFUSED = "deliver.refused"  # the destination refuses it for good (permission, name)
    # archive: the file's outcome stands; only on_success / on_failure could not be applied
    ARCHIVE_VANISHED = "archive.vanished"  # no longer at the source (another integration or a person)
    ARCHIVE_REFUSED = "archive.refused"  # the source refused the move, delete or reason file
    # export
    EXPORT_EXPORTED_BEFORE = "export.exported_before"
    EXPORT_UNMAPPABLE = "export.unmappable"  # an accounting system's record the canonical model cannot hold
    # open_ar_reconciliation
    RECONCILE_WAITING = "reconcile.waiting"  # held behind an earlier snapshot that is held
    RECONCILE_HELD = "reconcile.held"  # a change too large to apply without a person's approval
    RECONCILE_REJECTED = "reconcile.rejected"
    RECONCILE_APPLIED_BEFORE = "reconcile.applied_before"

    @classmethod
    def for_validation(cls, level: str) -> Reason:
        """The code of a file rejected by validation at ``level`` (structure, en16931, peppol)."""
        return cls(f"validate.{level}")
