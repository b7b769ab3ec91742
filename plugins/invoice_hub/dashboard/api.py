"""The dashboard's JSON API (``/invoices/api/...``): everything the pages show, for scripts and tests.

Same login and permissions as the pages. Actions (resend, export) are POSTs with a JSON body: a
cross-site form cannot send one, so the UI's session cookie cannot be used from another site to
start runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from invoice_hub.dashboard import actions, reads
from invoice_hub.dashboard.access import UserDep, require_read
from invoice_hub.dashboard.documents import document_response
from invoice_hub.ledger import dashboard as queries

router = APIRouter()


class TransactionQuery(BaseModel):
    """The list's query string: a filter per column, free-text search, sort and the page."""

    model_config = ConfigDict(extra="forbid")

    integration: str | None = None
    direction: queries.Direction | None = None
    sender: str | None = None
    receiver: str | None = None
    number: str | None = None
    customer_order_number: str | None = None
    supplier_order_number: str | None = None
    status: queries.Status | None = None
    destination: str | None = None
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None
    q: str | None = None  # free text
    sort: queries.SortKey = queries.SortKey.TIME
    desc: bool = True
    after: str | None = None  # the cursor of the previous page
    limit: int = 50

    def filters(self) -> queries.TransactionFilters:
        fields = self.model_dump(exclude={"q", "sort", "desc", "after", "limit"})
        return queries.TransactionFilters(**{k: v or None for k, v in fields.items()}, search=self.q or None)

    def order(self) -> queries.Sort:
        return queries.Sort(key=self.sort, descending=self.desc)


@router.get("/transactions")
def transactions(user: UserDep, query: Annotated[TransactionQuery, Query()]) -> queries.TransactionPage:
    return reads.transactions(user, query.filters(), query.order(), query.after, query.limit)


@router.get("/transactions/{transaction_id}")
def transaction(request: Request, user: UserDep, transaction_id: str) -> dict:
    return reads.detail(request, user, transaction_id).as_json()


@router.get("/transactions/{transaction_id}/invoice")
def invoice(request: Request, user: UserDep, transaction_id: str) -> dict:
    """The canonical invoice (the hub's model of EN 16931) the page renders for people."""
    found = reads.detail(request, user, transaction_id).invoice
    if found is None:
        raise HTTPException(404, f"transaction {transaction_id} has no invoice model in the store")
    return found.model_dump(mode="json", exclude={"attachments": {"__all__": {"content"}}})


@router.get("/transactions/{transaction_id}/documents/{index}")
def document(
    request: Request, user: UserDep, transaction_id: str, index: int, download: bool = False
) -> Response:
    row = reads.document(request, user, transaction_id, index)
    return document_response(row.document, download=download)


class ResendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: int  # the document's index in the transaction's list
    destination: str  # a destination id: destinations.0, customers.C1.destinations.0
    token: str  # made by the page; the same token never starts a second run


@router.post("/transactions/{transaction_id}/resend")
def resend(request: Request, user: UserDep, transaction_id: str, body: Annotated[ResendBody, Body()]) -> dict:
    return actions.resend(request, user, transaction_id, body.document, body.destination, body.token).__dict__


@router.get("/integrations")
def integrations(user: UserDep) -> list[queries.IntegrationHealth]:
    return reads.health(user)


@router.get("/integrations/{dag_id}/health")
def health(request: Request, user: UserDep, dag_id: str) -> queries.IntegrationHealth:
    require_read(request, user, dag_id)
    (found,) = reads.health(user, [dag_id])
    return found


@router.get("/integrations/{dag_id}/volume")
def volume(
    request: Request, user: UserDep, dag_id: str, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[queries.DayVolume]:
    return reads.volume(request, user, dag_id, days)


@router.get("/integrations/{dag_id}/open-ar")
def open_ar(
    request: Request,
    user: UserDep,
    dag_id: str,
    state: queries.ArState | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
) -> queries.OpenArSummary:
    return reads.open_ar(request, user, dag_id, state, after, limit)


@router.get("/integrations/{dag_id}/find-invoices")
def find_invoices(
    request: Request,
    user: UserDep,
    dag_id: str,
    customer: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    invoice_numbers: Annotated[list[str] | None, Query()] = None,
) -> list[queries.FoundInvoice]:
    return reads.found_invoices(
        request, user, dag_id, customer or None, date_from or None, date_to or None, invoice_numbers or []
    )


class ExportBody(BaseModel):
    """The export DAG's Trigger params (see ``dag_factory._params``) and the page's token."""

    model_config = ConfigDict(extra="forbid")

    invoice_numbers: list[str] = []
    customer: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    token: str


@router.post("/integrations/{dag_id}/export")
def export(request: Request, user: UserDep, dag_id: str, body: Annotated[ExportBody, Body()]) -> dict:
    return actions.export(
        request, user, dag_id, body.invoice_numbers, body.customer, body.date_from, body.date_to, body.token
    ).__dict__
