"""validate_transform: each fetched file becomes outputs to deliver; one bad file never stops the others."""

from __future__ import annotations

from airflow.sdk import Context

from invoice_hub.manifest import Manifest, Output
from invoice_hub.naming import output_name
from invoice_hub.operators.base import IntegrationOperator, fail_fast


class ValidateTransformOperator(IntegrationOperator):
    """Validates and converts per ``transform``; each failure is recorded with a machine-readable code."""

    @fail_fast
    def execute(self, context: Context) -> dict:
        manifest = self.pull_manifest(context, "fetch")
        transform = self.integration.transform
        for entry in manifest.files:
            if entry.status != "fetched":
                continue
            assert entry.staged_url is not None and entry.sha256 is not None
            try:
                # passthrough: the staged source is the output, under the templated name; no copy.
                name = output_name(
                    transform.filename, transform.output, source_name=entry.name, sha256=entry.sha256
                )
                entry.outputs = [
                    Output(name=name, url=entry.staged_url, sha256=entry.sha256, size=entry.size)
                ]
                entry.status = "transformed"
            except Exception as exc:  # one bad file never stops the others; it is recorded instead
                self.log.exception("Cannot transform %s", entry.source_path)
                entry.fail("transform.error", f"{type(exc).__name__}: {exc}")
        counts = {
            s: sum(e.status == s for e in manifest.files) for s in ("transformed", "failed", "duplicate")
        }
        self.log.info(
            "Transformed %(transformed)d file(s), %(failed)d failed, %(duplicate)d duplicate(s)", counts
        )
        return Manifest(files=manifest.files).to_xcom()
