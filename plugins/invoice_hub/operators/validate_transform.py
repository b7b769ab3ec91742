"""validate_transform: each fetched file becomes outputs to deliver; one bad file never stops the others."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import Context

from invoice_hub.errors import HubError, is_storage_failure, storage_failed
from invoice_hub.manifest import FileEntry, Manifest
from invoice_hub.naming import extension
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.reasons import Reason

if TYPE_CHECKING:
    from invoice_hub.config.mappings import Mapping
    from invoice_hub.exchange.transform import Outcome
    from invoice_hub.ledger.invoices import Received
    from invoice_hub.ledger.store import Noted
    from invoice_hub.model import Invoice
    from invoice_hub.staging import Staging


class ValidateTransformOperator(IntegrationOperator):
    """Reads each file as ``transform.input``, validates it to ``transform.validate``, applies the
    mapping, and writes it as ``transform.output`` into the run's staging area.

    The conversion is :func:`invoice_hub.exchange.transform.transform_file`; this operator only
    adapts Airflow's context, the manifest and the ledger to it. A file that is not valid (or cannot
    be read) fails with reason ``validate.<level>`` or ``format.unreadable``, one whose output would
    lose values (``on_loss: fail``) with ``transform.loss``, one whose output breaks the rules its
    input passed with ``transform.invalid_output``; its findings go as JSON to staging, which archive
    writes beside the file it moves to the failure folder (losses delivered with ``on_loss: warn``
    are logged and written there too).

    Every file that goes through is read as ``transform.input`` when that names a format, even for
    ``passthrough`` without validation (reading is cheap), so that its invoices are in the ledger;
    only ``input: any`` with ``validate: none`` and ``passthrough`` passes files on unopened (they
    need not be invoices). A file passed through unvalidated that does not read as its format is
    delivered still (``validate: none`` promised nothing) and the log says why it has no invoices.

    Only a file that went through (validated and written as every output) is kept in the document
    store and recorded as received in the ledger's invoices, with the outputs each invoice is in
    (what exports, open-AR reports and the dashboard read): a file whose conversion failed went to
    the failure folder and is no received invoice; the rule ids of its findings are noted on its
    ledger record instead.
    """

    #: Set by subclasses that always write one format.
    output_format: str | None = None

    @property
    def output(self) -> str:
        return self.output_format or self.integration.transform.output

    @cached_property
    def mapping(self) -> tuple[Mapping, Path] | None:
        """The integration's mapping, loaded once per task; a broken one fails the task at once."""
        return self.mapping_named(self.integration.transform.mapping)

    @functools.cache  # noqa: B019 -- one operator per task run: the cache lives as long as the task
    def mapping_named(self, name: str | None) -> tuple[Mapping, Path] | None:
        from invoice_hub import settings
        from invoice_hub.config.mappings import load_mapping

        if name is None:
            return None
        loaded = load_mapping(settings.mappings_dir() / name)
        if loaded.mapping is None:
            raise HubError("; ".join(str(p) for p in loaded.problems), retryable=False)
        return loaded.mapping, loaded.path

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.staging import local_copies

        manifest = self.pull_manifest(context, "fetch")
        staging = self.staging(context)
        self.mapping  # noqa: B018 -- a broken mapping fails here, before any file is touched
        exported_at = dt.datetime.now(dt.UTC)  # one export timestamp for the run's file names
        self._received: list[Received] = []
        self._noted: dict[int, Noted] = {}
        fetched = [entry for entry in manifest.files if entry.status == "fetched"]
        # read a group at a time from an object store, not one request per file (see local_copies)
        wanted = [(e.staged_url or "", e.size) for e in fetched] if not self.opaque else []
        with contextlib.closing(local_copies(wanted)) as copies:
            for entry in fetched:
                assert entry.staged_url is not None and entry.sha256 is not None
                if self.opaque:
                    self._pass_through(entry)
                    continue
                try:
                    path = next(copies)
                except Exception as exc:  # the staging area, not the file: the task fails, no file does
                    if is_storage_failure(exc):
                        raise storage_failed(f"reading {entry.source_path} from staging", exc) from exc
                    raise
                try:
                    self._transform(entry, path, staging, exported_at)
                except Exception as exc:  # one bad file never stops the others; it is recorded instead
                    if is_storage_failure(exc):  # not the file's fault: fail the task, fail no file
                        raise storage_failed(f"transforming {entry.source_path}", exc) from exc
                    self.log.exception("Cannot transform %s", entry.source_path)
                    entry.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
        self.ledger.note_outcomes(self._noted)  # one statement for the run's files
        if self._received:
            from invoice_hub.ledger.invoices import Invoices

            added = Invoices(self.ledger.engine).record_received(
                self.integration.name, context["run_id"], self._received
            )
            self.log.info("Recorded %d received invoice(s) in the ledger", added)
        counts = {
            s: sum(e.status == s for e in manifest.files) for s in ("transformed", "failed", "duplicate")
        }
        self.log.info(
            "Transformed %(transformed)d file(s), %(failed)d failed, %(duplicate)d duplicate(s)", counts
        )
        return Manifest(files=manifest.files).to_xcom()

    @property
    def opaque(self) -> bool:
        """Files passed on unopened: not said to be any format, not validated, not converted."""
        transform = self.integration.transform
        return self.output == "passthrough" and transform.validate_ == "none" and transform.input == "any"

    def _pass_through(self, entry: FileEntry) -> None:
        """The staged source is the output, under the templated name; no copy."""
        from invoice_hub.exchange.transform import passthrough

        assert entry.staged_url is not None and entry.sha256 is not None
        template = self.integration.transform.filename
        entry.outputs = [passthrough(template, entry.name, entry.staged_url, entry.sha256, entry.size)]
        entry.status = "transformed"

    def _transform(self, entry: FileEntry, path: Path, staging: Staging, exported_at: dt.datetime) -> None:
        from invoice_hub.exchange.settle import settle, target_for
        from invoice_hub.exchange.transform import transform_file

        outcome = transform_file(
            path,
            entry.source_path,
            self.integration.transform,
            target_for(entry, staging, exported_at),
            output=self.output,
            mapping=self.mapping,
        )
        passthrough = self.output == "passthrough"
        if outcome.failed and passthrough and self.integration.transform.validate_ == "none":
            self.log.warning(
                "%s: delivered as it is (validate: none), but not recorded in the ledger's invoices: it "
                "does not read as %s [%s]: %s",
                entry.source_path,
                self.integration.transform.input,
                outcome.reason,
                outcome.message,
            )
            self._pass_through(entry)
            return
        settle(entry, outcome, staging, self.log)
        noted = self.noted(outcome)
        if noted is not None and entry.file_id is not None:
            self._noted[entry.file_id] = noted
        if outcome.failed:
            return
        contents = outcome.contents
        if passthrough:
            self._pass_through(entry)
            contents = [list(range(len(outcome.invoices)))]
        # last: a conversion that failed above leaves no received invoice behind
        self._received.extend(self._keep(entry, path, outcome.invoices, contents))
        entry.status = "transformed"

    def noted(self, outcome: Outcome) -> Noted | None:
        """What the ledger keeps of ``outcome`` (None: nothing): the rule ids a person looks the file
        up by, every finding of a validated file (a delivered file's warnings are nowhere else once
        staging is gone), and the formats of a conversion, for the transaction's history."""
        from invoice_hub.exchange.transform import finding_ids
        from invoice_hub.ledger.outcomes import Conversion, validation_record
        from invoice_hub.ledger.store import Noted

        now = dt.datetime.now(dt.UTC)
        level = self.integration.transform.validate_
        validation = validation_record(level, outcome.findings, now) if level != "none" else None
        conversion = None
        if not outcome.failed and self.output != "passthrough":
            conversion = Conversion(
                input=outcome.input_format, output=self.output, at=now, outputs=len(outcome.outputs)
            )
        noted = Noted(finding_ids(outcome), validation, conversion)
        return noted if noted.finding_ids or validation is not None or conversion is not None else None

    def _keep(
        self, entry: FileEntry, path: Path, invoices: list[Invoice], contents: list[list[int]]
    ) -> list[Received]:
        """Keep the file and its invoices in the document store, for exports and re-exports; what the
        ledger is to record as received once every file of the run is through, each invoice with the
        outputs it is in (``contents``: per output of ``entry``, the positions of its invoices)."""
        from invoice_hub.document_store import DocumentStore
        from invoice_hub.ledger.invoices import Received

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


class ApAgilityExportOperator(ValidateTransformOperator):
    """Writes AP Agility XML (``seeds/001``) for every invoice: ``<InvoiceNumber>_<timestamp>.xml``.

    The image (``ImageBase64``) comes from the invoice's first PDF or TIFF attachment and is encoded
    while the file is written. Delivery gives the file a new unique name when the name exists at
    the destination (``if_exists: unique``, the default), as AP Agility itself does.
    """

    output_format = "ap_agility"
    ui_color = "#fdf2e0"
