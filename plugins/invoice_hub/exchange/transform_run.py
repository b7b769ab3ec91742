"""validate_transform's run, without Airflow: each fetched file through :func:`transform_file`, one bad
file never stopping the others, and what the ledger keeps of them recorded once for the run.

Every file that goes through is read as ``transform.input`` when that names a format, even for
``passthrough`` without validation (reading is cheap), so that its invoices are in the ledger; only
``input: any`` with ``validate: none`` and ``passthrough`` passes files on unopened (they need not
be invoices). A file passed through unvalidated that does not read as its format is delivered still
(``validate: none`` promised nothing) and the log says why it has no invoices.

Only a file that went through (validated and written as every output) is kept in the document store
and recorded as received in the ledger's invoices, with the outputs each invoice is in (what exports,
open-AR reports and the dashboard read): a file whose conversion failed went to the failure folder
and is no received invoice; the rule ids of its findings are noted on its ledger record instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from invoice_hub.document_store import DocumentStore
from invoice_hub.errors import is_storage_failure, storage_failed
from invoice_hub.exchange.settle import settle, target_for
from invoice_hub.exchange.transform import finding_ids, passthrough, transform_file
from invoice_hub.ledger.invoices import Invoices, Received
from invoice_hub.ledger.outcomes import Conversion, validation_record
from invoice_hub.ledger.store import Noted
from invoice_hub.naming import extension
from invoice_hub.reasons import Reason
from invoice_hub.staging import local_copies

if TYPE_CHECKING:
    from collections.abc import Generator

    from invoice_hub.config.mappings import Mapping
    from invoice_hub.config.models import Integration
    from invoice_hub.exchange import TaskLog
    from invoice_hub.exchange.transform import Outcome
    from invoice_hub.ledger.store import Ledger
    from invoice_hub.manifest import FileEntry
    from invoice_hub.model import Invoice
    from invoice_hub.staging import Staging

_log = logging.getLogger(__name__)


@dataclass
class TransformRun:
    """One validate_transform task: the integration, the format it writes (``transform.output``, or
    the one an operator always writes), its mapping (loaded once), the run's staging and id."""

    integration: Integration
    output: str
    mapping: tuple[Mapping, Path] | None
    staging: Staging
    run_id: str
    log: TaskLog = _log
    #: One export timestamp for the run's file names.
    exported_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: What the run's files leave for the ledger: received invoices, and each file's outcome by id.
    received: list[Received] = field(default_factory=list)
    noted: dict[int, Noted] = field(default_factory=dict)

    @property
    def opaque(self) -> bool:
        """Files passed on unopened: not said to be any format, not validated, not converted."""
        transform = self.integration.transform
        return self.output == "passthrough" and transform.validate_ == "none" and transform.input == "any"


def transform_files(run: TransformRun, entries: list[FileEntry], ledger: Ledger) -> None:
    """Each ``fetched`` entry becomes ``transformed`` with its outputs, or ``failed`` with its reason
    (its findings as JSON in staging); the ledger notes each file's outcome and records the received
    invoices, once for the run. A storage failure (not the file's fault) raises, failing no file."""
    fetched = [entry for entry in entries if entry.status == "fetched"]
    # read a group at a time from an object store, not one request per file (see local_copies)
    wanted = [(e.staged_url or "", e.size) for e in fetched] if not run.opaque else []
    # local_copies is a generator function (annotated Iterator): what it returns has close()
    with contextlib.closing(cast("Generator[Path, None, None]", local_copies(wanted))) as copies:
        for entry in fetched:
            assert entry.staged_url is not None and entry.sha256 is not None
            if run.opaque:
                _pass_through(run, entry)
                continue
            try:
                path = next(copies)
            except Exception as exc:  # the staging area, not the file: the task fails, no file does
                if is_storage_failure(exc):
                    raise storage_failed(f"reading {entry.source_path} from staging", exc) from exc
                raise
            try:
                _transform(run, entry, path)
            except Exception as exc:  # one bad file never stops the others; it is recorded instead
                if is_storage_failure(exc):  # not the file's fault: fail the task, fail no file
                    raise storage_failed(f"transforming {entry.source_path}", exc) from exc
                run.log.exception("Cannot transform %s", entry.source_path)
                entry.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
    ledger.note_outcomes(run.noted)  # one statement for the run's files
    if run.received:
        added = Invoices(ledger.engine).record_received(run.integration.name, run.run_id, run.received)
        run.log.info("Recorded %d received invoice(s) in the ledger", added)


def _pass_through(run: TransformRun, entry: FileEntry) -> None:
    """The staged source is the output, under the templated name; no copy."""
    assert entry.staged_url is not None and entry.sha256 is not None
    template = run.integration.transform.filename
    entry.outputs = [passthrough(template, entry.name, entry.staged_url, entry.sha256, entry.size)]
    entry.status = "transformed"


def _transform(run: TransformRun, entry: FileEntry, path: Path) -> None:
    transform = run.integration.transform
    outcome = transform_file(
        path,
        entry.source_path,
        transform,
        target_for(entry, run.staging, run.exported_at),
        output=run.output,
        mapping=run.mapping,
    )
    is_passthrough = run.output == "passthrough"
    if outcome.failed and is_passthrough and transform.validate_ == "none":
        run.log.warning(
            "%s: delivered as it is (validate: none), but not recorded in the ledger's invoices: it "
            "does not read as %s [%s]: %s",
            entry.source_path,
            transform.input,
            outcome.reason,
            outcome.message,
        )
        _pass_through(run, entry)
        return
    settle(entry, outcome, run.staging, run.log)
    noted = noted_outcome(outcome, transform.validate_, run.output)
    if noted is not None and entry.file_id is not None:
        run.noted[entry.file_id] = noted
    if outcome.failed:
        return
    contents = outcome.contents
    if is_passthrough:
        _pass_through(run, entry)
        contents = [list(range(len(outcome.invoices)))]
    # last: a conversion that failed above leaves no received invoice behind
    run.received.extend(keep_received(entry, path, outcome.invoices, contents))
    entry.status = "transformed"


def noted_outcome(outcome: Outcome, level: str, output: str) -> Noted | None:
    """What the ledger keeps of ``outcome`` (None: nothing): the rule ids a person looks the file up
    by, every finding of a validated file (a delivered file's warnings are nowhere else once staging
    is gone), and the formats of a conversion, for the transaction's history."""
    now = dt.datetime.now(dt.UTC)
    validation = validation_record(level, outcome.findings, now) if level != "none" else None
    conversion = None
    if not outcome.failed and output != "passthrough":
        conversion = Conversion(
            input=outcome.input_format, output=output, at=now, outputs=len(outcome.outputs)
        )
    noted = Noted(finding_ids(outcome), validation, conversion)
    return noted if noted.finding_ids or validation is not None or conversion is not None else None


def keep_received(
    entry: FileEntry, path: Path, invoices: list[Invoice], contents: list[list[int]]
) -> list[Received]:
    """Keep the file and its invoices in the document store, for exports and re-exports; what the
    ledger is to record as received once every file of the run is through, each invoice with the
    outputs it is in (``contents``: per output of ``entry``, the positions of its invoices)."""
    assert entry.sha256 is not None
    store = DocumentStore()
    source_url = store.put_file(path, entry.sha256, extension(entry.name))
    outputs_of: dict[int, list[tuple[str, str, str | None]]] = {}
    for output, positions in zip(entry.outputs, contents, strict=True):
        # A rendered output is kept too (by content, once), so that what was sent can be shown
        # and resent after staging is gone; a passthrough's output is the source, kept above.
        rendered = output.sha256 != entry.sha256
        url = store.put_file(output.url, output.sha256, extension(output.name)) if rendered else None
        for position in positions:
            outputs_of.setdefault(position, []).append((output.name, output.key, url))
    received = []
    for position, invoice in enumerate(invoices):
        document_url, _ = store.put_bytes(invoice.model_dump_json().encode(), ".json")
        received.append(
            Received(
                invoice,
                entry.file_id,
                entry.source_path,
                entry.sha256,
                source_url,
                document_url,
                tuple(outputs_of.get(position, ())),
            )
        )
    return received
