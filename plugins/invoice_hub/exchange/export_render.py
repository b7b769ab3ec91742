"""An export's render, without Airflow: each selected invoice in its customer's format (``customers:``,
else ``transform``), for its customer's destinations (else the integration's).

A destination that received the invoice from this export before gets it again by ``reexport``:
``skip`` (recorded, not delivered), ``replace`` (same name, overwritten) or ``new_name``. A format
of many invoices in one document (an open-AR report) is written once for all the invoices that
share its customer settings. Rendering goes through the same library function as a transfer
(:func:`invoice_hub.exchange.transform.render`), so losses and invalid outputs fail alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from invoice_hub.document_store import DocumentStore
from invoice_hub.errors import is_storage_failure, storage_failed
from invoice_hub.exchange.exportable import export_problem
from invoice_hub.exchange.settle import settle, target_for
from invoice_hub.exchange.transform import mapped, render
from invoice_hub.formats import OUTPUT_WRITERS
from invoice_hub.model import Invoice, party_id
from invoice_hub.reasons import Reason

if TYPE_CHECKING:
    from invoice_hub.config.mappings import Mapping
    from invoice_hub.config.models import CustomerSettings, IfExists, Integration
    from invoice_hub.exchange import TaskLog
    from invoice_hub.exchange.transform import Outcome
    from invoice_hub.ledger.invoices import Invoices
    from invoice_hub.manifest import FileEntry, Output
    from invoice_hub.staging import Staging

LoadedMapping: TypeAlias = "tuple[Mapping, Path] | None"  # a mapping and its file, as loaded
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRun:
    """What a render needs of its run: the integration, the run's staging and id, one timestamp for
    the run's file names, and the mappings by name (loaded once per task by the caller)."""

    integration: Integration
    staging: Staging
    run_id: str
    exported_at: dt.datetime
    mapping_named: Callable[[str | None], LoadedMapping]
    log: TaskLog = _log


def render_export(run: ExportRun, entries: list[FileEntry], invoices: Invoices) -> None:
    """Render the selected ``entries`` (status ``fetched``) for their destinations: each becomes
    ``transformed`` with its outputs, ``duplicate`` (exported everywhere before, ``reexport: skip``)
    or ``failed``; the skipped re-exports are recorded in the ledger. One invoice never stops the
    others; a storage failure (not the invoice's fault) raises, failing no invoice."""
    integration = run.integration
    before = invoices.exported(integration.name, [e.invoice_id for e in entries if e.invoice_id])
    customers = {c.id: c for c in integration.customers}
    skipped: list[dict] = []
    reports: dict[tuple, tuple[LoadedMapping, list[tuple[FileEntry, Invoice]]]] = {}
    for entry in entries:
        assert entry.staged_url is not None and entry.invoice_id is not None
        try:
            with DocumentStore.open(entry.staged_url) as document:
                invoice = Invoice.model_validate_json(document.read())
            settings = customers.get(entry.customer or party_id(invoice.buyer) or "")
            output = (settings.output if settings else None) or integration.transform.output
            problem = export_problem(invoice, output)
            if problem is not None:  # said about the invoice, not about the XML it would become
                run.log.error("%s: %s", entry.source_path, problem)
                entry.fail(Reason.TRANSFORM_OUTPUT, problem)
                continue
            filename = (settings.filename if settings else None) or integration.transform.filename
            mapping = _mapping_for(run, settings)
            targets = targets_of(integration, settings)
            if not OUTPUT_WRITERS[output].per_invoice:  # a report of all of them: written below
                key = (output, filename, mapping and str(mapping[1]), tuple(targets))
                reports.setdefault(key, (mapping, []))[1].append((entry, invoice))
                continue
            outcome = _render(run, entry, [invoice], output, filename, mapping)
        except Exception as exc:  # one invoice never stops the others
            if is_storage_failure(exc):  # not the invoice's fault: fail the task, fail no invoice
                raise storage_failed(f"rendering {entry.source_path}", exc) from exc
            run.log.exception("Cannot render invoice %s", entry.source_path)
            entry.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
            continue
        settle(entry, outcome, run.staging, run.log)
        if outcome.failed:  # lost terms (on_loss: fail) or an invalid output: not delivered
            continue
        outputs = outcome.outputs
        delivered = {row.destination for row in before.get(entry.invoice_id, [])}
        entry.outputs = reexport_outputs(integration.reexport, outputs, targets, delivered, run.run_id)
        for target in sorted(delivered & set(targets)) if integration.reexport == "skip" else ():
            skipped += [
                export_row(entry, rendered, target, None, "skipped", "exported before; reexport: skip")
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
        _report(run, members, output, filename, mapping, list(targets))
    invoices.record_exports(integration.name, run.run_id, skipped)


def _report(
    run: ExportRun,
    members: list[tuple[FileEntry, Invoice]],
    output: str,
    filename: str | None,
    mapping: LoadedMapping,
    targets: list[str],
) -> None:
    """One document of many invoices (an open-AR report): the state of this run, so it goes out
    every run its content changed, whatever ``reexport`` says of single invoices."""
    first = members[0][0]
    try:
        outcome = _render(
            run,
            first,
            [invoice for _, invoice in members],
            output,
            filename,
            mapping,
            source_name=f"{run.integration.name}.{output}",
        )
    except Exception as exc:
        if is_storage_failure(exc):
            raise storage_failed(f"writing the {output} report", exc) from exc
        run.log.exception("Cannot write the %s report", output)
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
    run.log.info("%d invoice(s) in one %s report: %s", len(members), output, outputs[0].name)


def _render(
    run: ExportRun,
    entry: FileEntry,
    invoices: list[Invoice],
    output: str,
    filename: str | None,
    mapping: LoadedMapping,
    source_name: str | None = None,
) -> Outcome:
    target = target_for(entry, run.staging, run.exported_at)
    if source_name is not None:
        target = dataclasses.replace(target, source_name=source_name)
    transform = run.integration.transform
    return render(
        mapped(invoices, mapping),
        output,
        target,
        filename=filename or transform.filename,
        on_loss=transform.loss_policy(output),
        validate=transform.validate_,
    )


def _mapping_for(run: ExportRun, settings: CustomerSettings | None) -> LoadedMapping:
    name = settings.mapping if settings and settings.mapping else run.integration.transform.mapping
    return run.mapping_named(name)


def targets_of(integration: Integration, settings: CustomerSettings | None) -> list[str]:
    """The destination keys an invoice goes to: its customer's own destinations, else the
    integration's."""
    prefix = f"customers.{settings.id}." if settings and settings.destinations else "destinations."
    return [key for key, _ in integration.destinations_by_id() if key.startswith(prefix)]


def reexport_outputs(
    policy: str, outputs: list[Output], targets: list[str], delivered: set[str], run_id: str
) -> list[Output]:
    """Each output for the targets that get it: fresh ones as usual, the ones that had it before by
    ``policy`` (``replace``: overwritten under the same name, ``new_name``: under a unique one, each
    with a delivery key of this run, so that it is sent again rather than found delivered;
    ``skip``: not at all)."""
    fresh = [t for t in targets if t not in delivered]
    again = [t for t in targets if t in delivered]
    result = [o.model_copy(update={"targets": fresh}) for o in outputs] if fresh else []
    if again and policy != "skip":
        if_exists: IfExists = "replace" if policy == "replace" else "unique"
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


def export_row(
    entry: FileEntry, output: Output, destination: str, remote: str | None, status: str, reason: str | None
) -> dict:
    """A row of the ledger's ``invoice_exports`` (:meth:`Invoices.record_exports`)."""
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
