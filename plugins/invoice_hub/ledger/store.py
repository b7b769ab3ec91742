"""The ledger's operations, each one short transaction, safe when several DAGs run at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, Row, bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.outcomes import Conversion, Validation
from invoice_hub.ledger.status import DeliveryStatus, FileStatus
from invoice_hub.ledger.tables import Delivery, SourceFile, utcnow

#: Rows per IN (...) query: well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


@dataclass(frozen=True)
class Claim:
    """The outcome of presenting a fetched file to the ledger."""

    file_id: int
    duplicate_of: str | None = None  # the earlier source path with the same content, if any


@dataclass(frozen=True)
class Planned:
    """A delivery about to start: noted (pending) before the upload or send does."""

    key: str  # the output's delivery key (its sha256 unless a re-export)
    name: str  # the output's file name
    remote_path: str  # where it will be written (for send-only destinations, the name)
    source_file_id: int | None
    delivery_id: str | None = None  # the Message-ID / Idempotency-Key every attempt carries


@dataclass(frozen=True)
class Noted:
    """What ``validate_transform`` notes of one file (see :meth:`Ledger.note_outcomes`)."""

    finding_ids: str | None = None
    validation: Validation | None = None
    conversion: Conversion | None = None


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

    def claim_many(
        self, integration: str, run_id: str, files: list[tuple[str, int, float, str]]
    ) -> list[Claim]:
        """Register fetched files (path, size, mtime, sha256) in one transaction; tells for each whether
        its content was already processed by this integration (then it is a duplicate)."""
        claims: list[Claim] = []
        now = utcnow()
        with self.engine.begin() as connection:  # Core and executemany: this runs for thousands of files
            for start in range(0, len(files), _CHUNK):
                chunk = files[start : start + _CHUNK]
                processed: dict[str, list[tuple[str, int, float]]] = {}
                for sha, path, size, mtime in connection.execute(
                    select(
                        SourceFile.sha256, SourceFile.source_path, SourceFile.size, SourceFile.mtime
                    ).where(
                        SourceFile.integration == integration,
                        SourceFile.status == FileStatus.SUCCEEDED,
                        SourceFile.sha256.in_({sha for *_, sha in chunk}),
                    )
                ):
                    processed.setdefault(sha, []).append((path, size, mtime))
                versions = {
                    (path, size, mtime): (file_id, status)
                    for file_id, path, size, mtime, status in connection.execute(
                        select(
                            SourceFile.id,
                            SourceFile.source_path,
                            SourceFile.size,
                            SourceFile.mtime,
                            SourceFile.status,
                        ).where(
                            SourceFile.integration == integration,
                            tuple_(SourceFile.source_path, SourceFile.size, SourceFile.mtime).in_(
                                [(p, s, m) for p, s, m, _ in chunk]
                            ),
                        )
                    )
                }
                rows, again, earliers = [], [], []
                for path, size, mtime, sha in chunk:
                    # another version with the same content; this very version may be retried
                    others = [p for p, s, m in processed.get(sha, []) if (p, s, m) != (path, size, mtime)]
                    earlier = others[0] if others else None
                    reason = (
                        f"same content (sha256 {sha[:12]}…) as {earlier}, already processed"
                        if earlier
                        else None
                    )
                    earliers.append(earlier)
                    known = versions.get((path, size, mtime))
                    if known is None:
                        rows.append(
                            {
                                "integration": integration,
                                "source_path": path,
                                "size": size,
                                "mtime": mtime,
                                "sha256": sha,
                                "status": FileStatus.FETCHED,
                                "reason": reason,
                                "run_id": run_id,
                                "first_seen_at": now,
                                "updated_at": now,
                            }
                        )
                    elif known[1] != FileStatus.SUCCEEDED:
                        # final statuses (duplicate too) are given by archive
                        again.append({"row_id": known[0], "sha": sha, "why": reason})
                new_ids = iter(
                    connection.execute(
                        insert(SourceFile).returning(SourceFile.id, sort_by_parameter_order=True), rows
                    )
                    .scalars()
                    .all()
                    if rows
                    else []
                )
                if again:
                    connection.execute(
                        update(SourceFile)
                        .where(SourceFile.id == bindparam("row_id"))
                        .values(
                            status=FileStatus.FETCHED,
                            reason=bindparam("why"),
                            run_id=run_id,
                            sha256=bindparam("sha"),
                            updated_at=now,
                        ),
                        again,
                    )
                for (path, size, mtime, _), earlier in zip(chunk, earliers, strict=True):
                    known = versions.get((path, size, mtime))
                    claims.append(Claim(file_id=known[0] if known else next(new_ids), duplicate_of=earlier))
        return claims

    def close_files(
        self,
        file_ids: list[int],
        status: str,
        reasons: dict[int | None, str | None],
        codes: dict[int | None, str | None] | None = None,
    ) -> None:
        """Give files their final status (and reason, and its code): they are not picked up again
        while unchanged."""
        with Session(self.engine) as session, session.begin():
            for file_id in file_ids:
                values: dict = {"status": status, "reason": reasons.get(file_id), "updated_at": utcnow()}
                if codes is not None:
                    values["reason_code"] = codes.get(file_id)
                session.execute(update(SourceFile).where(SourceFile.id == file_id).values(**values))

    def note_outcomes(self, noted: dict[int, Noted]) -> None:
        """Keep, beside each file's record and before archive closes it, the rule ids of the findings
        it was rejected for (or delivered with), its validation outcome and what conversion wrote of
        it: the findings JSON lives in staging, which archive removes, and the dashboard (a
        transaction's history) and the run's notification read them here. One statement for the
        task's files (executemany): a run of thousands of files must not make one per file."""
        if not noted:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(SourceFile)
                .where(SourceFile.id == bindparam("file_id"))
                .values(
                    finding_ids=bindparam("ids"),
                    validation=bindparam("checked"),
                    conversion=bindparam("converted"),
                ),
                [
                    {
                        "file_id": file_id,
                        "ids": n.finding_ids,
                        "checked": n.validation.model_dump_json() if n.validation else None,
                        "converted": n.conversion.model_dump_json() if n.conversion else None,
                    }
                    for file_id, n in noted.items()
                ],
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

    def deliveries(self, integration: str, destination: str, output_sha256s: list[str]) -> dict[str, Row]:
        """The deliveries of these outputs to this destination that were started or made, by output key
        (rows with the columns of ``deliveries`` as attributes). Core, not the ORM: the first ORM query
        of a process configures every mapper, which costs a task far more than this query."""
        found: dict[str, Row] = {}
        table = Delivery.__table__
        with self.engine.connect() as connection:
            for start in range(0, len(output_sha256s), _CHUNK):
                for row in connection.execute(
                    select(table).where(
                        table.c.integration == integration,
                        table.c.destination == destination,
                        table.c.output_sha256.in_(output_sha256s[start : start + _CHUNK]),
                    )
                ):
                    found[row.output_sha256] = row
        return found

    def start_deliveries(
        self, integration: str, destination: str, run_id: str, planned: list[Planned]
    ) -> None:
        """Note deliveries about to start, in one transaction, before any of them starts: a retry then
        finds an upload that completed before its record did, and sends again with the same id."""
        this = (Delivery.integration == integration, Delivery.destination == destination)
        with self.engine.begin() as connection:  # Core, one transaction: this runs for every file
            for start in range(0, len(planned), _CHUNK):
                chunk = planned[start : start + _CHUNK]
                existing = dict(
                    connection.execute(
                        select(Delivery.output_sha256, Delivery.status).where(
                            *this, Delivery.output_sha256.in_([p.key for p in chunk])
                        )
                    ).all()
                )
                new = [
                    {
                        "integration": integration,
                        "destination": destination,
                        "output_sha256": p.key,
                        "output_name": p.name,
                        "remote_path": p.remote_path,
                        "status": DeliveryStatus.PENDING,
                        "run_id": run_id,
                        "source_file_id": p.source_file_id,
                        "delivery_id": p.delivery_id,
                    }
                    for p in chunk
                    if p.key not in existing
                ]
                if new:
                    connection.execute(insert(Delivery), new)  # one executemany, not a statement per file
                again = [
                    {"sha": p.key, "path": p.remote_path, "did": p.delivery_id}
                    for p in chunk
                    if existing.get(p.key) == DeliveryStatus.PENDING
                ]
                if again:
                    connection.execute(
                        update(Delivery)
                        .where(*this, Delivery.output_sha256 == bindparam("sha"))
                        .values(remote_path=bindparam("path"), delivery_id=bindparam("did"), run_id=run_id),
                        again,
                    )

    def start_delivery(
        self,
        integration: str,
        destination: str,
        output_sha256: str,
        output_name: str,
        remote_path: str,
        run_id: str,
        source_file_id: int | None,
        delivery_id: str | None = None,
    ) -> None:
        self.start_deliveries(
            integration,
            destination,
            run_id,
            [Planned(output_sha256, output_name, remote_path, source_file_id, delivery_id)],
        )

    def finish_deliveries(self, integration: str, destination: str, done: list[tuple[str, str]]) -> None:
        """Record (output sha256, remote path) pairs as delivered, in one transaction."""
        if not done:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(Delivery)
                .where(
                    Delivery.integration == integration,
                    Delivery.destination == destination,
                    Delivery.output_sha256 == bindparam("sha"),
                )
                .values(
                    status=DeliveryStatus.DELIVERED,
                    remote_path=bindparam("path"),
                    delivered_at=dt.datetime.now(dt.UTC),
                ),
                [{"sha": sha, "path": path} for sha, path in done],
            )

    def finish_delivery(
        self, integration: str, destination: str, output_sha256: str, remote_path: str
    ) -> None:
        self.finish_deliveries(integration, destination, [(output_sha256, remote_path)])
