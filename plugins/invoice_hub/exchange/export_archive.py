"""An export's archive task without Airflow: what was delivered recorded per invoice and destination
(what the ``reexport`` policy, ``find-invoices`` and the dashboard consult), each delivered rendered
document kept in the document store (so it can be shown and resent after staging is gone)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoice_hub.document_store import DocumentStore
from invoice_hub.exchange.archive_run import listed_failures
from invoice_hub.exchange.export_render import export_row

if TYPE_CHECKING:
    from invoice_hub.ledger.invoices import Invoices
    from invoice_hub.manifest import FileEntry


def record_deliveries(integration: str, run_id: str, entries: list[FileEntry], invoices: Invoices) -> int:
    """Record every delivery of ``entries``' outputs, once per run, invoice and destination (a
    retried task updates its rows); how many were recorded. An output delivered nowhere (its
    destination failed) records nothing: the next run or a re-export sends it."""
    store = DocumentStore()
    rows = []
    for entry in entries:
        for output in entry.outputs:
            if not output.delivered_to:
                continue
            url = store.put_file(output.url, output.sha256, Path(output.name).suffix)
            for destination, remote in output.delivered_to.items():
                row = export_row(entry, output, destination, remote, "delivered", None)
                rows.append({**row, "output_url": url})
    invoices.record_exports(integration, run_id, rows)
    return len(rows)


def export_failures(entries: list[FileEntry]) -> str | None:
    """The run's failure message when an invoice could not be exported (None: every one was)."""
    failed = [entry for entry in entries if entry.status == "failed"]
    if not failed:
        return None
    return f"{len(failed)} invoice(s) could not be exported:\n" + listed_failures(failed)
