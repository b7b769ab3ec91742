"""What the pages and the JSON API show, each read once here with its permission check.

The queries are :mod:`invoice_hub.ledger.dashboard`'s; this module adds what the web needs around
them: the user's readable integrations, 403/404 with what to do, links to Airflow's run and log
pages, the documents of a transaction by their place in its list (a client never names a store URL),
and the invoice model for the human-readable rendering.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import HTTPException, Request, status
from sqlalchemy.engine import Connection

from invoice_hub.config.models import Integration
from invoice_hub.dashboard.access import readable_integrations, require_read
from invoice_hub.dashboard.documents import Document
from invoice_hub.dashboard.runs import run_url, task_log_url
from invoice_hub.ledger import dashboard as queries
from invoice_hub.model import Invoice

#: The store names every document by its content: ``<base>/<aa>/<sha256><suffix>``.
_STORE_NAME = re.compile(r"/([0-9a-f]{64})[^/]*$")
#: Documents that can be delivered again (the canonical model is the hub's own, not a deliverable).
RESENDABLE_ROLES = frozenset({"source", "rendered"})
#: The task that did each step of a transaction's history (its log is linked).
STEP_TASKS = {
    queries.Step.FETCHED: "fetch",
    queries.Step.VALIDATED: "validate_transform",
    queries.Step.CONVERTED: "validate_transform",
    queries.Step.RECEIVED: "validate_transform",
    queries.Step.REJECTED: "validate_transform",
    queries.Step.DELIVERED: "deliver",
    queries.Step.EXPORTED: "deliver",
    queries.Step.RECEIVABLE: "reconcile",
}


@contextmanager
def ledger() -> Iterator[Connection]:
    from invoice_hub.ledger.database import get_engine

    with get_engine().connect() as connection:
        yield connection


@dataclass(frozen=True)
class HistoryRow:
    event: queries.HistoryEvent
    run_url: str | None
    log_url: str | None


@dataclass(frozen=True)
class DocumentRow:
    index: int
    role: str
    document: Document
    integration: str  # whose document: a resend goes through this integration's DAG

    @property
    def resendable(self) -> bool:
        return self.role in RESENDABLE_ROLES and document_sha256(self.document.url or "") is not None


@dataclass(frozen=True)
class Detail:
    transaction: queries.Transaction
    history: list[HistoryRow]
    documents: list[DocumentRow]
    invoice: Invoice | None  # the canonical model, for the human-readable rendering

    def as_json(self) -> dict:
        return {
            "transaction": self.transaction.model_dump(mode="json"),
            "run_url": run_url(self.transaction.integration, self.transaction.run_id),
            "history": [
                {**row.event.model_dump(mode="json"), "run_url": row.run_url, "log_url": row.log_url}
                for row in self.history
            ],
            "documents": [
                {
                    "index": row.index,
                    "role": row.role,
                    "name": row.document.name,
                    "media_type": row.document.media_type,
                    "resendable": row.resendable,
                }
                for row in self.documents
            ],
            "has_invoice": self.invoice is not None,
        }


def document_sha256(url: str) -> str | None:
    found = _STORE_NAME.search(url)
    return found.group(1) if found else None


def transactions(
    user: BaseUser,
    filters: queries.TransactionFilters,
    sort: queries.Sort,
    page_after: str | None,
    limit: int,
) -> queries.TransactionPage:
    readable = readable_integrations(user)
    try:
        with ledger() as connection:
            return queries.list_transactions(connection, filters, sort, page_after, limit, readable)
    except queries.InvalidCursor as exc:
        raise HTTPException(422, str(exc)) from None


def detail(request: Request, user: BaseUser, transaction_id: str) -> Detail:
    """One transaction: 404 when it does not exist, 403 when its integration's DAG is not readable."""
    try:
        queries.parse_transaction_id(transaction_id)
    except queries.InvalidCursor as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    with ledger() as connection:
        found = queries.transaction_detail(connection, transaction_id)  # all: 403 and 404 differ
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no transaction {transaction_id!r} in the ledger")
        require_read(request, user, found.transaction.integration)
        readable = readable_integrations(user)
        found = queries.transaction_detail(connection, transaction_id, readable)
    if found is None:  # pragma: no cover -- readable a moment ago
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no transaction {transaction_id!r} in the ledger")
    history = [
        HistoryRow(
            event,
            run_url(event.integration, event.run_id) if event.run_id else None,
            task_log_url(event.integration, event.run_id, STEP_TASKS[event.step])
            if event.run_id and event.step in STEP_TASKS
            else None,
        )
        for event in found.history
    ]
    documents = [
        DocumentRow(
            index, stored.role, Document(stored.role, stored.name, url=stored.url), stored.integration
        )
        for index, stored in enumerate(found.documents)
    ]
    invoice = None
    canonical = next((row for row in documents if row.role == "canonical"), None)
    if canonical is not None:
        try:
            invoice = Invoice.model_validate_json(canonical.document.read())
        except (OSError, ValueError):  # a store that lost it: the page says so, the rest still shows
            invoice = None
    for number, attachment in enumerate(invoice.attachments if invoice else []):
        if attachment.content:
            name = attachment.filename or f"attachment-{number + 1}"
            documents.append(
                DocumentRow(
                    len(documents),
                    "attachment",
                    Document("attachment", name, content=attachment.content),
                    found.transaction.integration,
                )
            )
    return Detail(found.transaction, history, documents, invoice)


def document(request: Request, user: BaseUser, transaction_id: str, index: int) -> DocumentRow:
    rows = detail(request, user, transaction_id).documents
    if not 0 <= index < len(rows):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"transaction {transaction_id} has {len(rows)} document(s), not {index + 1}",
        )
    return rows[index]


def health(user: BaseUser, names: list[str] | None = None) -> list[queries.IntegrationHealth]:
    readable = readable_integrations(user)
    chosen = sorted(readable) if names is None else [n for n in names if n in readable]
    with ledger() as connection:
        return queries.integration_health(connection, chosen)


def volume(request: Request, user: BaseUser, integration: str, days: int) -> list[queries.DayVolume]:
    require_read(request, user, integration)
    with ledger() as connection:
        return queries.volume_per_day(connection, integration, days=days)


def open_ar(
    request: Request,
    user: BaseUser,
    integration: str,
    state: queries.ArState | None,
    page_after: str | None,
    limit: int,
) -> queries.OpenArSummary:
    require_read(request, user, integration)
    with ledger() as connection:
        return queries.open_ar_summary(connection, integration, state, page_after, limit)


def found_invoices(
    request: Request,
    user: BaseUser,
    integration: str,
    customer: str | None,
    date_from: str | None,
    date_to: str | None,
    invoice_numbers: list[str],
) -> list[queries.FoundInvoice]:
    from invoice_hub.errors import HubError
    from invoice_hub.exchange.find import find_export_invoices
    from invoice_hub.ledger.database import get_engine

    require_read(request, user, integration)
    config = export_integration(integration)
    try:  # an export from an accounting system reads its books first, as invoice-hub find-invoices does
        return find_export_invoices(config, get_engine(), customer, date_from, date_to, invoice_numbers)
    except HubError as exc:  # a date that is not one, or the accounting system refusing: theirs to fix
        raise HTTPException(422 if not exc.retryable else 503, str(exc)) from None


def integration_config(name: str) -> Integration:
    from invoice_hub.dag_factory import integration_named

    config = integration_named(name)
    if config is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no valid integration file named {name!r} in the integrations folder "
            "(check it with `invoice-hub check-config`)",
        )
    return config


def export_integration(name: str) -> Integration:
    config = integration_config(name)
    if config.kind != "export":
        raise HTTPException(422, f"{name!r} is a {config.kind} integration, not an export")
    return config


def integrations_of_kind(user: BaseUser, kind: str) -> list[str]:
    """The readable integrations of one kind (``export``, ``open_ar_reconciliation``): the DAG
    factory tags every DAG with its kind, so Airflow's own tag table answers without loading files."""
    from airflow.models.dag import DagTag
    from airflow.utils.session import create_session
    from sqlalchemy import select

    readable = readable_integrations(user)
    with create_session() as session:
        tagged = session.scalars(select(DagTag.dag_id).where(DagTag.name == kind)).all()
    return sorted(set(tagged) & readable)
