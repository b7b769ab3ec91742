"""validate_transform: each fetched file becomes outputs to deliver; one bad file never stops the others."""

from __future__ import annotations

import functools
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import Context

from invoice_hub.errors import HubError
from invoice_hub.manifest import Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast

if TYPE_CHECKING:
    from invoice_hub.config.mappings import Mapping


class ValidateTransformOperator(IntegrationOperator):
    """Reads each file as ``transform.input``, validates it to ``transform.validate``, applies the
    mapping, and writes it as ``transform.output`` into the run's staging area.

    The work is :func:`invoice_hub.exchange.transform_run.transform_files` (each file through
    :func:`invoice_hub.exchange.transform.transform_file`); this operator loads the mapping (a
    broken one fails the task before any file is touched), pulls fetch's manifest and pushes it back
    with each file's outcome. A file that is not valid (or cannot be read) fails with reason
    ``validate.<level>`` or ``format.unreadable``, one whose output would lose values (``on_loss:
    fail``) with ``transform.loss``, one whose output breaks the rules its input passed with
    ``transform.invalid_output``; its findings go as JSON to staging, which archive writes beside the
    file it moves to the failure folder (losses delivered with ``on_loss: warn`` are logged and
    written there too).
    """

    #: Set by subclasses that always write one format.
    output_format: str | None = None

    @property
    def writes(self) -> str:
        # not ``output``: that is BaseOperator's XComArg of the task, which a DAG may use
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
        from invoice_hub.exchange.transform_run import TransformRun, transform_files

        manifest = self.pull_manifest(context, "fetch")
        run = TransformRun(
            self.integration, self.writes, self.mapping, self.staging(context), context["run_id"], self.log
        )
        transform_files(run, manifest.files, self.ledger)
        counts = {
            s: sum(e.status == s for e in manifest.files) for s in ("transformed", "failed", "duplicate")
        }
        self.log.info(
            "Transformed %(transformed)d file(s), %(failed)d failed, %(duplicate)d duplicate(s)", counts
        )
        return Manifest(files=manifest.files).to_xcom()


class ApAgilityExportOperator(ValidateTransformOperator):
    """Writes AP Agility XML (``seeds/001``) for every invoice: ``<InvoiceNumber>_<timestamp>.xml``.

    The image (``ImageBase64``) comes from the invoice's first PDF or TIFF attachment and is encoded
    while the file is written. Delivery gives the file a new unique name when the name exists at
    the destination (``if_exists: unique``, the default), as AP Agility itself does.
    """

    output_format = "ap_agility"
    ui_color = "#fdf2e0"
