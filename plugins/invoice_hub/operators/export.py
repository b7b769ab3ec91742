"""The tasks of an export: ``select >> validate_transform >> deliver >> archive``.

An export takes invoices the hub received (the ledger, and their documents in the store) whose date
falls in the run's data interval, renders each for its customer and delivers it. Backfills re-run
past intervals; what was delivered before to a destination follows ``reexport``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from invoice_hub.exchange.select import activated, criteria_for, manual_selection, run_interval
from invoice_hub.manifest import FileEntry, Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.operators.validate_transform import ValidateTransformOperator

if TYPE_CHECKING:
    from invoice_hub.ledger.invoices import Criteria
    from invoice_hub.ledger.tables import InvoiceRecord


class SelectInvoicesOperator(IntegrationOperator):
    """select: the received invoices whose ``select.date_field`` is in the run's data interval (or the
    invoices, customer or dates a person chose in the Trigger form), of activated customers."""

    ui_color = "#f0e8fa"

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.ledger.invoices import Invoices

        dag_run = context["dag_run"]
        self.check_run_conf(context)
        request = self.resend_request(context)
        if request is not None:
            return self.resend_manifest(request)
        chosen_by_hand = manual_selection(context["params"])
        start: dt.datetime | None
        end: dt.datetime | None
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if not chosen_by_hand and self.integration.select.period == "interval":
            start, end = run_interval(self.integration, start, end, getattr(dag_run, "run_after", None))
        criteria = criteria_for(self.integration, start, end, **chosen_by_hand)
        failed = self._read_source(criteria, context["run_id"])
        found = Invoices(self.ledger.engine).select(criteria)
        unfinished = {e.source_path for e in failed}  # e.g. its PDF would not come: not sent without
        chosen = [
            r
            for r in found
            if activated(self.integration, r.customer) and _entry(r).source_path not in unfinished
        ]
        self.log.info(
            "Selected %d invoice(s) by %s in [%s, %s)%s; %d of customers not activated",
            len(chosen),
            criteria.date_field,
            criteria.start,
            criteria.end,
            f", numbers {list(criteria.numbers)}" if criteria.numbers else "",
            len(found) - len(chosen),
        )
        if not chosen and not failed:
            raise AirflowSkipException("no invoices to export in this interval")
        return Manifest(files=[_entry(r) for r in chosen] + failed).to_xcom()

    def _read_source(self, criteria: Criteria, run_id: str) -> list[FileEntry]:
        """An export reading an accounting system first reads the range into the ledger; the records
        it cannot export are failed entries, named in the run's failure (the others go on)."""
        source = self.integration.accounting_source
        if source is None:
            return []
        from invoice_hub.exchange.accounting_read import read_into_ledger, source_path

        read = read_into_ledger(self.integration, criteria, run_id, self.ledger.engine)
        self.log.info(
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
            self.log.info("Not activated: %s invoice %s of customer %s", sourced.source, sourced.number,
                          sourced.customer_id)  # fmt: skip
        entries = []
        for sourced, code, why in read.failed:
            self.log.error("%s", why)
            entry = FileEntry(
                source_path=f"{source_path(sourced)}#{sourced.number}", size=0, mtime=0.0, status="fetched"
            )
            entry.fail(code, why)
            entries.append(entry)
        return entries


def _entry(record: InvoiceRecord) -> FileEntry:
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


class ExportRenderOperator(ValidateTransformOperator):
    """validate_transform of an export: each selected invoice in its customer's format, for its
    customer's destinations, re-exports by ``reexport``.

    The work is :func:`invoice_hub.exchange.export_render.render_export`; this operator pulls
    select's manifest, hands it the run (staging, run id, the mappings loaded once per task) and
    pushes the manifest back with each invoice's outputs or failure.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.exchange.export_render import ExportRun, render_export
        from invoice_hub.ledger.invoices import Invoices

        manifest = self.pull_manifest(context, "select")
        entries = [e for e in manifest.files if e.status == "fetched"]
        run = ExportRun(
            self.integration,
            self.staging(context),
            context["run_id"],
            dt.datetime.now(dt.UTC),
            self.mapping_named,
            self.log,
        )
        render_export(run, entries, Invoices(self.ledger.engine))
        self.log.info(
            "Rendered %d invoice(s), %d skipped as exported before, %d failed",
            sum(e.status == "transformed" for e in entries),
            sum(e.status == "duplicate" for e in entries),
            sum(e.status == "failed" for e in entries),
        )
        return Manifest(files=manifest.files).to_xcom()


class ExportArchiveOperator(IntegrationOperator):
    """archive of an export: records per invoice and destination what was delivered (what the
    ``reexport`` policy and ``find-invoices`` consult), keeps the rendered documents in the store,
    and fails the run when an invoice failed."""

    @fail_fast
    def execute(self, context: Context) -> None:
        from invoice_hub.document_store import DocumentStore
        from invoice_hub.exchange.export_render import export_row
        from invoice_hub.ledger.invoices import Invoices

        manifest = self.pull_manifest(context, "deliver")
        store = DocumentStore()
        rows = []
        for entry in manifest.files:
            for output in entry.outputs:
                if not output.delivered_to:
                    continue
                url = store.put_file(output.url, output.sha256, Path(output.name).suffix)
                for destination, remote in output.delivered_to.items():
                    row = export_row(entry, output, destination, remote, "delivered", None)
                    rows.append({**row, "output_url": url})
        Invoices(self.ledger.engine).record_exports(self.integration.name, context["run_id"], rows)
        self.staging(context).remove()
        failed = [e for e in manifest.files if e.status == "failed"]
        self.log.info("Recorded %d export(s); %d invoice(s) failed", len(rows), len(failed))
        if failed:
            lines = [f"{e.source_path}: [{e.reason_code}] {e.reason}" for e in failed[:20]]
            raise AirflowFailException(
                f"{len(failed)} invoice(s) could not be exported:\n" + "\n".join(lines)
            )
