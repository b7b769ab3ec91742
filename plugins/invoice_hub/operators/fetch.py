"""fetch: copy the new files into the run's staging area and present them to the ledger."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from invoice_hub.manifest import CandidateList, Manifest
from invoice_hub.operators.base import IntegrationOperator, fail_fast


class FetchOperator(IntegrationOperator):
    """Copies each candidate listed by wait_for_files into staging and registers it in the ledger:
    :func:`invoice_hub.exchange.fetch.fetch_files` does the work, over one source connection.

    ``deduplicate_content=False`` fetches a file again under another name or time even when its
    content was processed: an open-AR report identical to an older one is a new snapshot.
    """

    def __init__(self, *, deduplicate_content: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deduplicate_content = deduplicate_content

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.exchange.fetch import fetch_files

        request = self.resend_request(context)
        if request is not None:
            return self.resend_manifest(request)
        listing = CandidateList.model_validate(context["ti"].xcom_pull(task_ids="wait_for_files"))
        with self.source_transport() as transport:
            entries = fetch_files(
                self.ledger,
                transport,
                self.staging(context),
                listing.candidates,
                integration=self.integration.name,
                run_id=context["run_id"],
                deduplicate_content=self.deduplicate_content,
            )
        return Manifest(files=entries).to_xcom()
