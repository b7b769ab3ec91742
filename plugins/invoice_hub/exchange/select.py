"""What an export run selects: its data interval, or what a person chose in the Trigger form, and
which customers are activated; and the selection itself (:func:`select_entries`), the select task's
work. Library functions: the select task, the CLI's ``find-invoices`` and the tests use them
without Airflow's Context."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from invoice_hub.errors import HubError
from invoice_hub.manifest import FileEntry

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from invoice_hub.config.models import Integration
    from invoice_hub.exchange import TaskLog
    from invoice_hub.ledger.invoices import Criteria
    from invoice_hub.ledger.tables import InvoiceRecord

_log = logging.getLogger(__name__)


#: The Trigger form's fields of an export DAG: a person's own selection instead of the interval.
EXPORT_PARAMS = ("invoice_numbers", "customer", "date_from", "date_to")


def run_interval(
    integration: Integration,
    start: dt.datetime | None,
    end: dt.datetime | None,
    run_after: dt.datetime | None,
) -> tuple[dt.datetime, dt.datetime]:
    """The data interval a run without a person's selection exports.

    A scheduled run, a backfill and a run triggered with a logical date (the UI's default form)
    have one. A run triggered without a logical date (``airflow dags trigger``, the REST API) has
    none: it gets the interval Airflow would have given it with one, the last complete interval of
    the schedule before it was triggered (a daily export: the previous day), not every invoice ever.
    """
    if not integration.schedule:
        raise HubError(
            f"{integration.name} has no schedule, so a run has no interval to export: choose "
            "invoice_numbers, customer or date_from/date_to in the Trigger form (or in --conf)",
            retryable=False,
        )
    if start is not None and end is not None:
        return start, end
    import pendulum
    from airflow.timetables.interval import CronDataIntervalTimetable

    # Airflow's own rule for manual runs (what the Trigger form's logical date gets); the DAG's
    # timetable is a CronDataIntervalTimetable of this schedule in UTC (dag_factory._timetable).
    moment = pendulum.instance(run_after or dt.datetime.now(dt.UTC))
    interval = CronDataIntervalTimetable(integration.schedule, "UTC").infer_manual_data_interval(
        run_after=moment
    )
    return interval.start, interval.end


def manual_selection(params: Mapping[str, Any]) -> dict[str, Any]:
    """What a person chose in the Trigger form: the export params that are set (empty: none)."""
    return {key: params[key] for key in EXPORT_PARAMS if params.get(key)}


def activated(integration: Integration, customer: str | None) -> bool:
    """Whether an export exports this customer's invoices (``select.customers`` and ``active``)."""
    chosen = integration.select.customers
    if chosen != "all" and customer not in chosen:
        return False
    return all(c.active for c in integration.customers if c.id == customer)


def criteria_for(
    integration: Integration, start: dt.datetime | None, end: dt.datetime | None, **manual: Any
) -> Criteria:
    """What a run selects: its interval, or what a person asked for (numbers, customer, dates)."""
    from invoice_hub.ledger.invoices import Criteria

    select = integration.select
    numbers = tuple(n for n in manual.get("invoice_numbers") or () if n)
    customer = manual.get("customer") or None
    date_from, date_to = manual.get("date_from") or None, manual.get("date_to") or None
    if numbers or customer or date_from or date_to:  # a manual export: the interval does not apply
        start = _day(date_from) if date_from else None
        end = _day(date_to) + dt.timedelta(days=1) if date_to else None
    elif select.period == "all":
        start = end = None
    return Criteria(
        date_field=select.date_field,
        start=start,
        end=end,
        customers=[customer] if customer else (None if select.customers == "all" else list(select.customers)),
        types=tuple(select.types),
        statuses=tuple(select.statuses),
        # an export reading an accounting system takes the invoices it read there, nobody else's
        sources=(integration.name,) if integration.accounting_source else tuple(select.sources),
        numbers=numbers,
    )


def _day(text: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        raise HubError(f"{text!r} is not a date: write YYYY-MM-DD", retryable=False) from None


@dataclass(frozen=True)
class Selection:
    """What an export run takes: the received invoices to render (``fetched`` entries), the records
    of its accounting source that cannot be exported (``failed`` entries, named in the run's
    failure), and how many invoices found were of customers not activated."""

    chosen: list[FileEntry]
    failed: list[FileEntry]
    not_activated: int

    @property
    def entries(self) -> list[FileEntry]:
        """The run's manifest: every chosen invoice, then every failed record."""
        return self.chosen + self.failed


def select_entries(
    integration: Integration, criteria: Criteria, run_id: str, engine: Engine, log: TaskLog = _log
) -> Selection:
    """The received invoices ``criteria`` selects, of activated customers, as manifest entries. An
    export reading an accounting system reads the range into the ledger first; an invoice whose
    record failed there (its PDF would not come, say) is not sent without it."""
    from invoice_hub.ledger.invoices import Invoices

    failed = _read_source(integration, criteria, run_id, engine, log)
    unfinished = {entry.source_path for entry in failed}
    found = Invoices(engine).select(criteria)
    chosen = [
        entry
        for entry in map(entry_of, found)
        if activated(integration, entry.customer) and entry.source_path not in unfinished
    ]
    return Selection(chosen, failed, len(found) - len(chosen))


def entry_of(record: InvoiceRecord) -> FileEntry:
    """A received invoice as the manifest entry an export renders: its stored document, its source."""
    return FileEntry(
        source_path=f"{record.source_path}#{record.number}",
        size=0,
        mtime=record.received_at.timestamp(),
        file_id=record.source_file_id,
        sha256=record.source_sha256,
        staged_url=record.document_url,
        status="fetched",
        invoice_id=record.id,
        customer=record.customer,
    )


def _read_source(
    integration: Integration, criteria: Criteria, run_id: str, engine: Engine, log: TaskLog
) -> list[FileEntry]:
    """The accounting source's range read into the ledger; the records it cannot export as failed
    entries (the others go on)."""
    source = integration.accounting_source
    if source is None:
        return []
    from invoice_hub.exchange.accounting_read import read_into_ledger, source_path

    read = read_into_ledger(integration, criteria, run_id, engine)
    log.info(
        "Read %d invoice(s) from %s (%s): %d new in the ledger, %d of customers not activated "
        "(recorded without their PDFs), %d cannot be exported",
        read.read,
        source.type,
        source.conn_id,
        read.recorded,
        len(read.not_activated),
        len(read.failed),
    )
    for sourced in read.not_activated:
        log.info(
            "Not activated: %s invoice %s of customer %s", sourced.source, sourced.number, sourced.customer_id
        )
    entries = []
    for sourced, code, why in read.failed:
        log.error("%s", why)
        entry = FileEntry(
            source_path=f"{source_path(sourced)}#{sourced.number}", size=0, mtime=0.0, status="fetched"
        )
        entry.fail(code, why)
        entries.append(entry)
    return entries
