"""deliver: upload every output to every destination, atomically and exactly once."""

from __future__ import annotations

from airflow.sdk import Context

from invoice_hub.manifest import Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast


class DeliverOperator(IntegrationOperator):
    """For each destination, over one login, each output not yet delivered there.

    The exactly-once logic (notes before uploads, confirmation by content, one stable id per send,
    one file's error failing that file only) is :func:`invoice_hub.exchange.deliver.deliver_files`;
    this operator pulls the manifest of the task before it (validate_transform or reconcile) and
    pushes it back with each file's outcome. A file that cannot be delivered by retrying goes to
    failure handling; anything else fails the task after every other output was tried, and the retry
    continues where it stopped.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.exchange.deliver import deliver_files

        (upstream,) = self.upstream_task_ids  # validate_transform or reconcile
        manifest = self.pull_manifest(context, upstream)
        deliver_files(
            self.ledger, self.integration, manifest.files, context["run_id"], self.destination_transport
        )
        return Manifest(files=manifest.files).to_xcom()
