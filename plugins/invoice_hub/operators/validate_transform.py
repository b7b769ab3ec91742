"""validate_transform: each fetched file becomes outputs to deliver; one bad file never stops the others."""

from __future__ import annotations

import datetime as dt
import functools
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import Context

from invoice_hub.errors import HubError
from invoice_hub.manifest import FileEntry, Manifest, Output
from invoice_hub.naming import extension, output_name
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.reasons import Reason

if TYPE_CHECKING:
    from invoice_hub.config.mappings import Mapping
    from invoice_hub.formats import Document, OutputFormat
    from invoice_hub.ledger.invoices import Received
    from invoice_hub.model import Invoice
    from invoice_hub.staging import Staging

#: How many findings the failure reason (ledger, log, e-mail) quotes; all of them go to the JSON.
QUOTED_FINDINGS = 3


class ValidateTransformOperator(IntegrationOperator):
    """Reads each file as ``transform.input``, validates it to ``transform.validate``, applies the
    mapping, and writes it as ``transform.output`` into the run's staging area.

    A file that is not valid (or cannot be read) fails with reason ``validate.<level>`` or
    ``format.unreadable`` and its findings as JSON in staging, which archive writes beside the file
    it moves to the failure folder. ``passthrough`` without validation never opens the files.

    Only a file that passed validation *and* was written as every output is kept in the document
    store and recorded as received in the ledger's invoices (what exports and open-AR reports read):
    a file whose conversion failed went to the failure folder and is no received invoice.
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

    @staticmethod
    def mapped(invoices: list[Invoice], mapping: tuple[Mapping, Path] | None) -> list[Invoice]:
        if mapping is None:
            return invoices
        from invoice_hub.mapping import apply_mapping

        return [apply_mapping(mapping[0], mapping[1], invoice) for invoice in invoices]

    @fail_fast
    def execute(self, context: Context) -> dict:
        # format code loads when a task runs, not while Airflow parses DAGs
        from invoice_hub.formats.xml import FormatError
        from invoice_hub.staging import local_file

        manifest = self.pull_manifest(context, "fetch")
        staging = self.staging(context)
        self.mapping  # noqa: B018 -- a broken mapping fails here, before any file is touched
        exported_at = dt.datetime.now(dt.UTC)  # one export timestamp for the run's file names
        self._received: list[Received] = []
        for entry in manifest.files:
            if entry.status != "fetched":
                continue
            assert entry.staged_url is not None and entry.sha256 is not None
            try:
                if self.output == "passthrough" and self.integration.transform.validate_ == "none":
                    self._pass_through(entry)
                else:
                    with local_file(entry.staged_url) as path:
                        self._transform(entry, path, staging, exported_at)
            except HubError as exc:  # a mapping that does not fit this document
                self.log.error("Cannot transform %s: %s", entry.source_path, exc)
                entry.fail(Reason.TRANSFORM_MAPPING, str(exc))
            except FormatError as exc:  # valid input the output cannot express (PEPPOL without endpoints)
                self.log.error("Cannot write %s as %s: %s", entry.source_path, self.output, exc)
                entry.fail(Reason.TRANSFORM_OUTPUT, str(exc))
            except Exception as exc:  # one bad file never stops the others; it is recorded instead
                self.log.exception("Cannot transform %s", entry.source_path)
                entry.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
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

    def _pass_through(self, entry: FileEntry) -> None:
        """The staged source is the output, under the templated name; no copy."""
        assert entry.staged_url is not None and entry.sha256 is not None
        name = output_name(
            self.integration.transform.filename, "passthrough", source_name=entry.name, sha256=entry.sha256
        )
        entry.outputs = [Output(name=name, url=entry.staged_url, sha256=entry.sha256, size=entry.size)]
        entry.status = "transformed"

    def _transform(self, entry: FileEntry, path: Path, staging: Staging, exported_at: dt.datetime) -> None:
        from invoice_hub.formats import read_document

        transform = self.integration.transform
        document = read_document(
            path,
            transform.input,
            entry.source_path,
            validate=transform.validate_,
            csv_options=transform.csv,
        )
        for finding in document.findings:
            self.log.info("%s: %s", entry.source_path, finding)
        if not document.valid:
            self._reject(entry, document, staging)
            return
        if self.output == "passthrough":
            self._pass_through(entry)
        else:
            invoices = self.mapped(document.invoices, self.mapping)
            entry.outputs = self.write(entry, invoices, staging, exported_at)
            self.log.info(
                "%s: %d invoice(s) -> %d %s file(s)",
                entry.name,
                len(invoices),
                len(entry.outputs),
                self.output,
            )
        # last: a conversion that raised above leaves no received invoice behind
        self._received.extend(self._keep(entry, path, document.invoices))
        entry.status = "transformed"

    def _keep(self, entry: FileEntry, path: Path, invoices: list[Invoice]) -> list[Received]:
        """Keep the file and its invoices in the document store, for exports and re-exports; what the
        ledger is to record as received once every file of the run is through."""
        from invoice_hub.ledger.invoices import Received
        from invoice_hub.store import DocumentStore

        assert entry.sha256 is not None
        store = DocumentStore()
        source_url = store.put_file(path, entry.sha256, extension(entry.name))
        received = []
        for invoice in invoices:
            document_url, _ = store.put_bytes(invoice.model_dump_json().encode(), ".json")
            received.append(
                Received(invoice, entry.file_id, entry.source_path, entry.sha256, source_url, document_url)
            )
        return received

    def _reject(self, entry: FileEntry, document: Document, staging: Staging) -> None:
        """Fail the file with its findings: a summary as the reason, all of them as JSON in staging."""
        fatal = [f for f in document.findings if f.severity == "fatal"]
        entry.findings_url = staging.put_findings(str(entry.file_id), entry.name, document.findings)
        level = self.integration.transform.validate_
        unreadable = {"XML-SYNTAX", "FORMAT-READ", "CSV-ENCODING"}
        code = (
            Reason.FORMAT_UNREADABLE
            if level == "none" or fatal[0].rule in unreadable
            else Reason.for_validation(level)
        )
        quoted = "; ".join(str(f) for f in fatal[:QUOTED_FINDINGS])
        more = f" (+{len(fatal) - QUOTED_FINDINGS} more)" if len(fatal) > QUOTED_FINDINGS else ""
        entry.fail(code, f"{len(fatal)} fatal finding(s): {quoted}{more}")

    def write(
        self,
        entry: FileEntry,
        invoices: list[Invoice],
        staging: Staging,
        exported_at: dt.datetime,
        output: str | None = None,
        filename: str | None = None,
        source_name: str | None = None,
    ) -> list[Output]:
        """``invoices`` as files of the ``output`` format (default: the task's) into staging;
        ``source_name`` (default: the entry's file) fills ``{name}`` and ``{stem}``."""
        from invoice_hub.formats import OUTPUT_FORMATS
        from invoice_hub.staging import HashingSink

        output_format: OutputFormat = OUTPUT_FORMATS[output or self.output]
        prefix = entry.file_id if entry.invoice_id is None else f"invoice{entry.invoice_id}"
        outputs = []
        for index, group in enumerate(output_format.documents(invoices)):
            name = output_format.file_name(
                group,
                filename or self.integration.transform.filename,
                source_name=source_name or entry.name,
                sha256=entry.sha256 or "",
                now=exported_at,
            )
            path = staging.new_path("out", f"{prefix}-{index}", name)
            with path.open("wb") as file:
                sink = HashingSink(file)
                output_format.write(group, sink)  # type: ignore[arg-type]
            outputs.append(Output(name=name, url=str(path), sha256=sink.sha256.hexdigest(), size=sink.size))
        return outputs


class ApAgilityExportOperator(ValidateTransformOperator):
    """Writes AP Agility XML (``seeds/001``) for every invoice: ``<InvoiceNumber>_<timestamp>.xml``.

    The image (``ImageBase64``) comes from the invoice's first PDF or TIFF attachment and is encoded
    while the file is written. Delivery gives the file a new unique name when the name exists at
    the destination (``if_exists: unique``, the default), as AP Agility itself does.
    """

    output_format = "ap_agility"
    ui_color = "#fdf2e0"
