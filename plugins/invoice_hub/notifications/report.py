"""What a run's notification says, gathered from the ledger: the files it rejected (with their reasons
and finding ids), those it left unfinished, and its counts.

The ledger, not the run's XCom, is the source: it is what the dashboard shows, it outlives the
staging area archive removes, and it holds the outcome of a file whatever task ended the run.
Free of Airflow imports, so that it is tested against a ledger alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from invoice_hub.ledger.status import DeliveryStatus, FileStatus
from invoice_hub.ledger.tables import Delivery, InvoiceExport, InvoiceRecord, SourceFile

#: Reason codes that mean validation or conversion rejected the file (the document-level negative
#: notification), as opposed to a delivery or a transport that failed.
REJECTION_PREFIXES = ("format.", "validate.", "transform.")
REJECTION_CODES = frozenset({"reconcile.rejected"})


def is_rejection(reason_code: str | None) -> bool:
    if not reason_code:
        return False
    return reason_code in REJECTION_CODES or reason_code.startswith(REJECTION_PREFIXES)


@dataclass(frozen=True)
class FailedFile:
    """A file the run gave up on: where it was, why (code and text) and the rules it broke."""

    source_path: str
    reason_code: str | None
    reason: str | None
    finding_ids: tuple[str, ...] = ()

    @property
    def rejected(self) -> bool:
        return is_rejection(self.reason_code)


@dataclass
class RunReport:
    """One run of one integration, as its notification tells it."""

    integration: str
    run_id: str
    failed: bool  # the run failed (a task failed after its retries)
    failed_task: str | None = None
    error: str | None = None  # the failed task's error, redacted
    log_url: str | None = None  # the failed task's log (or the run's page) in the Airflow UI
    files: dict[str, int] = field(default_factory=dict)  # ledger file status -> count
    failed_files: list[FailedFile] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # fetched, not closed: taken again next run
    invoices: int = 0  # received (recorded) by this run
    deliveries: dict[str, int] = field(default_factory=dict)  # destination -> outputs delivered
    #: Why the ledger could not be read (the message goes out without its files and counts then:
    #: a run that failed because its ledger was down must still be told).
    ledger_problem: str | None = None

    @property
    def rejected(self) -> list[FailedFile]:
        return [f for f in self.failed_files if f.rejected]


def run_report(engine: Engine, integration: str, run_id: str, *, failed: bool) -> RunReport:
    """The ledger's account of ``run_id``: files by status, each failed and unfinished one, the
    invoices it received and what it delivered (or exported) per destination."""
    report = RunReport(integration, run_id, failed)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                SourceFile.source_path,
                SourceFile.status,
                SourceFile.reason_code,
                SourceFile.reason,
                SourceFile.finding_ids,
            )
            .where(SourceFile.integration == integration, SourceFile.run_id == run_id)
            .order_by(SourceFile.source_path)
        ).all()
        report.files = dict(Counter(row.status for row in rows))
        for row in rows:
            if row.status == FileStatus.FAILED:
                ids = tuple((row.finding_ids or "").split())
                report.failed_files.append(FailedFile(row.source_path, row.reason_code, row.reason, ids))
            elif row.status == FileStatus.FETCHED:
                report.unfinished.append(row.source_path)
        report.invoices = connection.execute(
            select(func.count())
            .select_from(InvoiceRecord)
            .where(InvoiceRecord.integration == integration, InvoiceRecord.run_id == run_id)
        ).scalar_one()
        for table in (Delivery, InvoiceExport):
            for destination, count in connection.execute(
                select(table.destination, func.count())
                .where(
                    table.integration == integration,
                    table.run_id == run_id,
                    table.status == DeliveryStatus.DELIVERED,
                )
                .group_by(table.destination)
            ):
                report.deliveries[destination] = report.deliveries.get(destination, 0) + count
    return report
