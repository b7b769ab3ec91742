"""The tasks of an export: ``select >> validate_transform >> deliver >> archive``.

An export takes invoices the hub received (the ledger, and their documents in the store) whose date
falls in the run's data interval, renders each for its customer and delivers it. Backfills re-run
past intervals; what was delivered before to a destination follows ``reexport``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from invoice_hub.errors import is_storage_failure, storage_failed
from invoice_hub.exchange.select import activated, criteria_for, manual_selection, run_interval
from invoice_hub.manifest import FileEntry, Manifest, Output
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.operators.validate_transform import ValidateTransformOperator
from invoice_hub.reasons import Reason

if TYPE_CHECKING:
    from typing import TypeAlias

    from invoice_hub.config.mappings import Mapping
    from invoice_hub.config.models import CustomerSettings
    from invoice_hub.exchange.transform import Outcome
    from invoice_hub.ledger.invoices import Criteria
    from invoice_hub.ledger.tables import InvoiceRecord
    from invoice_hub.model import Invoice
    from invoice_hub.staging import Staging

    LoadedMapping: TypeAlias = tuple[Mapping, Path] | None  # a mapping and its file, as loaded


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
    """validate_transform of an export: each selected invoice in its customer's format (``customers:``,
    else ``transform``), for its customer's destinations (else the integration's).

    A destination that received the invoice from this export before gets it again by ``reexport``:
    ``skip`` (recorded, not delivered), ``replace`` (same name, overwritten) or ``new_name``.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.document_store import DocumentStore
        from invoice_hub.exchange.exportable import export_problem
        from invoice_hub.formats import OUTPUT_WRITERS
        from invoice_hub.ledger.invoices import Invoices
        from invoice_hub.model import Invoice, party_id

        manifest = self.pull_manifest(context, "select")
        staging = self.staging(context)
        invoices = Invoices(self.ledger.engine)
        exported_at = dt.datetime.now(dt.UTC)
        entries = [e for e in manifest.files if e.status == "fetched"]
        before = invoices.exported(self.integration.name, [e.invoice_id for e in entries if e.invoice_id])
        customers = {c.id: c for c in self.integration.customers}
        skipped: list[dict] = []
        reports: dict[tuple, tuple[LoadedMapping, list[tuple[FileEntry, Invoice]]]] = {}
        for entry in entries:
            assert entry.staged_url is not None and entry.invoice_id is not None
            try:
                with DocumentStore.open(entry.staged_url) as document:
                    invoice = Invoice.model_validate_json(document.read())
                settings = customers.get(entry.customer or party_id(invoice.buyer) or "")
                output = (settings.output if settings else None) or self.integration.transform.output
                problem = export_problem(invoice, output)
                if problem is not None:  # said about the invoice, not about the XML it would become
                    self.log.error("%s: %s", entry.source_path, problem)
                    entry.fail(Reason.TRANSFORM_OUTPUT, problem)
                    continue
                filename = (settings.filename if settings else None) or self.integration.transform.filename
                mapping = self._mapping_for(settings)
                targets = self._targets(settings)
                if not OUTPUT_WRITERS[output].per_invoice:  # a report of all of them: written below
                    key = (output, filename, mapping and str(mapping[1]), tuple(targets))
                    reports.setdefault(key, (mapping, []))[1].append((entry, invoice))
                    continue
                outcome = self._render(entry, [invoice], output, filename, mapping, staging, exported_at)
            except Exception as exc:  # one invoice never stops the others
                if is_storage_failure(exc):  # not the invoice's fault: fail the task, fail no invoice
                    raise storage_failed(f"rendering {entry.source_path}", exc) from exc
                self.log.exception("Cannot render invoice %s", entry.source_path)
                entry.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
                continue
            self.settle(entry, outcome, staging)
            if outcome.failed:  # lost terms (on_loss: fail) or an invalid output: not delivered
                continue
            outputs = outcome.outputs
            delivered = {row.destination for row in before.get(entry.invoice_id, [])}
            entry.outputs = self._apply_policy(outputs, targets, delivered, context["run_id"])
            for target in sorted(delivered & set(targets)) if self.integration.reexport == "skip" else ():
                skipped += [
                    _export_row(entry, rendered, target, None, "skipped", "exported before; reexport: skip")
                    for rendered in outputs
                ]
            if entry.outputs:
                entry.status = "transformed"
            else:
                entry.mark(
                    "duplicate",
                    Reason.EXPORT_EXPORTED_BEFORE,
                    "exported to every destination before (reexport: skip)",
                )
        for (output, filename, _, targets), (mapping, members) in reports.items():
            self._report(members, output, filename, mapping, list(targets), staging, exported_at)
        invoices.record_exports(self.integration.name, context["run_id"], skipped)
        self.log.info(
            "Rendered %d invoice(s), %d skipped as exported before, %d failed",
            sum(e.status == "transformed" for e in entries),
            sum(e.status == "duplicate" for e in entries),
            sum(e.status == "failed" for e in entries),
        )
        return Manifest(files=manifest.files).to_xcom()

    def _report(
        self,
        members: list[tuple[FileEntry, Invoice]],
        output: str,
        filename: str | None,
        mapping: LoadedMapping,
        targets: list[str],
        staging: Staging,
        exported_at: dt.datetime,
    ) -> None:
        """One document of many invoices (an open-AR report): the state of this run, so it goes out
        every run its content changed, whatever ``reexport`` says of single invoices."""
        first = members[0][0]
        try:
            outcome = self._render(
                first,
                [invoice for _, invoice in members],
                output,
                filename,
                mapping,
                staging,
                exported_at,
                source_name=f"{self.integration.name}.{output}",
            )
        except Exception as exc:
            if is_storage_failure(exc):
                raise storage_failed(f"writing the {output} report", exc) from exc
            self.log.exception("Cannot write the %s report", output)
            for entry, _ in members:
                entry.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
            return
        if outcome.failed:
            assert outcome.reason is not None and outcome.message is not None
            for entry, _ in members:
                entry.fail(outcome.reason, outcome.message)
            return
        outputs = outcome.outputs
        for entry, _ in members:  # the same output on each: deliver sends it once, records it for each
            entry.outputs = [o.model_copy(update={"targets": targets}) for o in outputs]
            entry.status = "transformed"
        self.log.info("%d invoice(s) in one %s report: %s", len(members), output, outputs[0].name)

    def _render(
        self,
        entry: FileEntry,
        invoices: list[Invoice],
        output: str,
        filename: str | None,
        mapping: LoadedMapping,
        staging: Staging,
        exported_at: dt.datetime,
        source_name: str | None = None,
    ) -> Outcome:
        """``invoices`` mapped and rendered as ``output`` through the same library function as a
        transfer (``exchange.transform.render``): losses and invalid outputs fail alike."""
        from invoice_hub.exchange.transform import mapped, render

        target = self.target(entry, staging, exported_at)
        if source_name is not None:
            target = dataclasses.replace(target, source_name=source_name)
        transform = self.integration.transform
        return render(
            mapped(invoices, mapping),
            output,
            target,
            filename=filename or transform.filename,
            on_loss=transform.loss_policy(output),
            validate=transform.validate_,
        )

    def _mapping_for(self, settings: CustomerSettings | None) -> LoadedMapping:
        name = settings.mapping if settings and settings.mapping else self.integration.transform.mapping
        return self.mapping_named(name)

    def _targets(self, settings: CustomerSettings | None) -> list[str]:
        prefix = f"customers.{settings.id}." if settings and settings.destinations else "destinations."
        return [key for key, _ in self.integration.destinations_by_id() if key.startswith(prefix)]

    def _apply_policy(
        self, outputs: list[Output], targets: list[str], delivered: set[str], run_id: str
    ) -> list[Output]:
        """Each output for the targets that get it: fresh ones as usual, re-exports by the policy."""
        fresh = [t for t in targets if t not in delivered]
        again = [t for t in targets if t in delivered]
        policy = self.integration.reexport
        result = [o.model_copy(update={"targets": fresh}) for o in outputs] if fresh else []
        if again and policy != "skip":
            if_exists = "replace" if policy == "replace" else "unique"
            result += [
                o.model_copy(
                    update={
                        "targets": again,
                        "if_exists": if_exists,
                        "delivery_key": hashlib.sha256(f"{o.sha256}:{run_id}".encode()).hexdigest(),
                    }
                )
                for o in outputs
            ]
        return result


def _export_row(
    entry: FileEntry, output: Output, destination: str, remote: str | None, status: str, reason: str | None
) -> dict:
    return {
        "invoice_id": entry.invoice_id,
        "destination": destination,
        "output_name": output.name,
        "output_sha256": output.sha256,
        "output_url": None,
        "remote_path": remote,
        "status": status,
        "reason": reason,
    }


class ExportArchiveOperator(IntegrationOperator):
    """archive of an export: records per invoice and destination what was delivered (what the
    ``reexport`` policy and ``find-invoices`` consult), keeps the rendered documents in the store,
    and fails the run when an invoice failed."""

    @fail_fast
    def execute(self, context: Context) -> None:
        from invoice_hub.document_store import DocumentStore
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
                    row = _export_row(entry, output, destination, remote, "delivered", None)
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
