"""The ledger's operations, each one short transaction, safe when several DAGs run at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select, tuple_, update
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.status import DeliveryStatus, FileStatus
from invoice_hub.ledger.tables import Delivery, SourceFile, utcnow

#: Rows per IN (...) query: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class Claim:
    """The outcome of presenting a fetched file to the ledger."""

    file_id: int
    duplicate_of: str | None = None  # the earlier source path with the same content, if any


class Ledger:
    """Record of every source file and delivery, per integration."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine()

    def seen_versions(
        self, integration: str, versions: Iterable[tuple[str, int, float]]
    ) -> set[tuple[str, int, float]]:
        """Which (path, size, mtime) versions already reached a final status: they are not new."""
        wanted = list(versions)
        found: set[tuple[str, int, float]] = set()
        with Session(self.engine) as session:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                rows = session.execute(
                    select(SourceFile.source_path, SourceFile.size, SourceFile.mtime).where(
                        SourceFile.integration == integration,
                        SourceFile.status.in_(FileStatus.FINAL),
                        tuple_(SourceFile.source_path, SourceFile.size, SourceFile.mtime).in_(chunk),
                    )
                )
                found.update((path, size, mtime) for path, size, mtime in rows)
        return found

    def claim(
        self, integration: str, run_id: str, source_path: str, size: int, mtime: float, sha256: str
    ) -> Claim:
        """Register a fetched file; tells whether its content was already processed by this integration."""
        with Session(self.engine) as session, session.begin():
            earlier = session.scalars(
                select(SourceFile.source_path)
                .where(
                    SourceFile.integration == integration,
                    SourceFile.sha256 == sha256,
                    SourceFile.status == FileStatus.SUCCEEDED,
                    # another version of the same content; this very version may be retried
                    tuple_(SourceFile.source_path, SourceFile.size, SourceFile.mtime)
                    != (source_path, size, mtime),
                )
                .limit(1)
            ).first()
            status = FileStatus.FETCHED  # final statuses (duplicate too) are given by archive
            reason = (
                f"same content (sha256 {sha256[:12]}…) as {earlier}, already processed" if earlier else None
            )
            row = session.scalars(
                select(SourceFile).where(
                    SourceFile.integration == integration,
                    SourceFile.source_path == source_path,
                    SourceFile.size == size,
                    SourceFile.mtime == mtime,
                )
            ).first()
            if row is None:
                row = SourceFile(
                    integration=integration,
                    source_path=source_path,
                    size=size,
                    mtime=mtime,
                    sha256=sha256,
                    status=status,
                    reason=reason,
                    run_id=run_id,
                )
                session.add(row)
            elif row.status != FileStatus.SUCCEEDED:
                row.status, row.reason, row.run_id, row.sha256 = status, reason, run_id, sha256
            session.flush()
            return Claim(file_id=row.id, duplicate_of=earlier)

    def close_files(self, file_ids: list[int], status: str, reasons: dict[int | None, str | None]) -> None:
        """Give files their final status (and reason): they are not picked up again while unchanged."""
        with Session(self.engine) as session, session.begin():
            for file_id in file_ids:
                session.execute(
                    update(SourceFile)
                    .where(SourceFile.id == file_id)
                    .values(status=status, reason=reasons.get(file_id), updated_at=utcnow())
                )

    def final_files(self, integration: str, run_id: str) -> set[int]:
        """Ids of the files this run already gave a final status (what a retried archive must not redo)."""
        with Session(self.engine) as session:
            return set(
                session.scalars(
                    select(SourceFile.id).where(
                        SourceFile.integration == integration,
                        SourceFile.run_id == run_id,
                        SourceFile.status.in_(FileStatus.FINAL),
                    )
                )
            )

    def delivery(self, integration: str, destination: str, output_sha256: str) -> Delivery | None:
        """The delivery of this output to this destination, if one was started or made."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalars(
                select(Delivery).where(
                    Delivery.integration == integration,
                    Delivery.destination == destination,
                    Delivery.output_sha256 == output_sha256,
                )
            ).first()

    def start_delivery(
        self,
        integration: str,
        destination: str,
        output_sha256: str,
        output_name: str,
        remote_path: str,
        run_id: str,
        source_file_id: int | None,
    ) -> None:
        """Note the intended remote path before uploading, so a retry can find an upload that completed."""
        with Session(self.engine) as session, session.begin():
            existing = session.scalars(
                select(Delivery).where(
                    Delivery.integration == integration,
                    Delivery.destination == destination,
                    Delivery.output_sha256 == output_sha256,
                )
            ).first()
            if existing is None:
                session.add(
                    Delivery(
                        integration=integration,
                        destination=destination,
                        output_sha256=output_sha256,
                        output_name=output_name,
                        remote_path=remote_path,
                        status=DeliveryStatus.PENDING,
                        run_id=run_id,
                        source_file_id=source_file_id,
                    )
                )
            elif existing.status == DeliveryStatus.PENDING:
                existing.remote_path, existing.run_id = remote_path, run_id

    def finish_delivery(
        self, integration: str, destination: str, output_sha256: str, remote_path: str
    ) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(Delivery)
                .where(
                    Delivery.integration == integration,
                    Delivery.destination == destination,
                    Delivery.output_sha256 == output_sha256,
                )
                .values(
                    status=DeliveryStatus.DELIVERED,
                    remote_path=remote_path,
                    delivered_at=dt.datetime.now(dt.UTC),
                )
            )
