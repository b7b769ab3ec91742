"""The tasks of an export: ``select >> validate_transform >> deliver >> archive``.

An export takes invoices the hub received (the ledger, and their documents in the store) whose date
falls in the run's data interval, renders each for its customer and delivers it. Backfills re-run
past intervals; what was delivered before to a destination follows ``reexport``.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from invoice_hub.exchange.select import criteria_for, manual_selection, run_interval, select_entries
from invoice_hub.manifest import Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.operators.validate_transform import ValidateTransformOperator


class SelectInvoicesOperator(IntegrationOperator):
    """select: the received invoices whose ``select.date_field`` is in the run's data interval (or the
    invoices, customer or dates a person chose in the Trigger form), of activated customers.

    The work is :func:`invoice_hub.exchange.select.select_entries`; this operator turns the run
    (its interval, or the Trigger form's params, or a resend request) into criteria and pushes the
    selection as the manifest; a run with nothing to export is skipped."""

    ui_color = "#f0e8fa"

    @fail_fast
    def execute(self, context: Context) -> dict:
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
        selection = select_entries(
            self.integration, criteria, context["run_id"], self.ledger.engine, self.log
        )
        self.log.info(
            "Selected %d invoice(s) by %s in [%s, %s)%s; %d of customers not activated",
            len(selection.chosen),
            criteria.date_field,
            criteria.start,
            criteria.end,
            f", numbers {list(criteria.numbers)}" if criteria.numbers else "",
            selection.not_activated,
        )
        if not selection.entries:
            raise AirflowSkipException("no invoices to export in this interval")
        return Manifest(files=selection.entries).to_xcom()


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
    ``reexport`` policy and ``find-invoices`` consult), keeps the rendered documents in the store
    (:func:`invoice_hub.exchange.export_archive.record_deliveries`), and fails the run when an
    invoice failed."""

    @fail_fast
    def execute(self, context: Context) -> None:
        from invoice_hub.exchange.export_archive import export_failures, record_deliveries
        from invoice_hub.ledger.invoices import Invoices

        manifest = self.pull_manifest(context, "deliver")
        invoices = Invoices(self.ledger.engine)
        recorded = record_deliveries(self.integration.name, context["run_id"], manifest.files, invoices)
        self.staging(context).remove()
        failed = sum(e.status == "failed" for e in manifest.files)
        self.log.info("Recorded %d export(s); %d invoice(s) failed", recorded, failed)
        failure = export_failures(manifest.files)
        if failure:
            raise AirflowFailException(failure)
