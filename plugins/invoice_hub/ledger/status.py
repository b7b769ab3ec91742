"""Ledger statuses: plain strings, importable without SQLAlchemy (operators use them at parse time)."""


class FileStatus:
    """What happened to a source file. FINAL statuses are not picked up again while the file is unchanged."""

    FETCHED = "fetched"  # in staging, not finished yet (a crashed run leaves this; the next run retries)
    SUCCEEDED = "succeeded"  # transformed and delivered everywhere
    FAILED = "failed"  # rejected; reason says why
    DUPLICATE = "duplicate"  # same content as a file this integration already processed
    FINAL = (SUCCEEDED, FAILED, DUPLICATE)


class SnapshotStatus:
    """An open-AR snapshot: applied, or held for a person (presented again until approved)."""

    APPLIED = "applied"
    HELD = "held"


class DeliveryStatus:
    PENDING = "pending"  # noted before the upload / send; a retry confirms it by content or sends again
    DELIVERED = "delivered"
