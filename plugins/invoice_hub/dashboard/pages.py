"""The Invoices pages: server-rendered HTML over the same reads as the JSON API."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from invoice_hub.dashboard import reads
from invoice_hub.dashboard.access import UserDep, require_read, require_trigger
from invoice_hub.dashboard.api import TransactionQuery
from invoice_hub.dashboard.chart import volume_svg
from invoice_hub.dashboard.documents import formatted_xml
from invoice_hub.dashboard.runs import run_url
from invoice_hub.dashboard.templating import render
from invoice_hub.ledger import dashboard as queries

router = APIRouter(include_in_schema=False)

#: The columns of the list: (query field, heading, sort key or None).
COLUMNS = (
    ("integration", "Integration", queries.SortKey.INTEGRATION),
    ("direction", "Direction", queries.SortKey.DIRECTION),
    ("sender", "Sender", queries.SortKey.SENDER),
    ("receiver", "Receiver", queries.SortKey.RECEIVER),
    ("number", "Document", queries.SortKey.NUMBER),
    ("customer_order_number", "Customer order", queries.SortKey.CUSTOMER_ORDER_NUMBER),
    ("supplier_order_number", "Supplier order", queries.SortKey.SUPPLIER_ORDER_NUMBER),
    ("status", "Status", queries.SortKey.STATUS),
    ("destination", "Destination", None),
    ("time", "Time", queries.SortKey.TIME),
)


def _token() -> str:
    """A fresh token per page view: the actions it starts are started once, whatever is clicked."""
    return secrets.token_urlsafe(16)


@router.get("/", response_class=HTMLResponse)
def transactions(
    request: Request, user: UserDep, query: Annotated[TransactionQuery, Query()]
) -> HTMLResponse:
    page = reads.transactions(user, query.filters(), query.order(), query.after, query.limit)
    current = {
        k: v for k, v in query.model_dump(mode="json", exclude={"after"}).items() if v not in (None, "")
    }

    def link(**changes: object) -> str:
        merged = {**current, **changes}
        return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})

    return render(
        request,
        "transactions.html",
        {
            "user": user,
            "tab": "transactions",
            "page": page,
            "query": query,
            "columns": COLUMNS,
            "directions": list(queries.Direction),
            "statuses": list(queries.Status),
            "sort_link": lambda key: link(sort=key, desc=not (query.sort == key and query.desc)),
            "next_link": link(after=page.next_cursor) if page.next_cursor else None,
            "first_link": link() if query.after else None,
            "run_url": run_url,
        },
    )


@router.get("/transactions/{transaction_id}", response_class=HTMLResponse)
def transaction(request: Request, user: UserDep, transaction_id: str) -> HTMLResponse:
    found = reads.detail(request, user, transaction_id)
    shown = []
    for row in found.documents:
        text = None
        if row.document.is_xml:
            try:
                text = formatted_xml(row.document.read(), row.document.name)
            except OSError:
                text = None
        shown.append((row, text))
    return render(
        request,
        "transaction.html",
        {
            "user": user,
            "tab": "transactions",
            "detail": found,
            "t": found.transaction,
            "documents": shown,
            "invoice": found.invoice,
            "run_url": run_url(found.transaction.integration, found.transaction.run_id),
            "targets": _resend_targets(request, user, found),
            "token": _token(),
        },
    )


def _resend_targets(request: Request, user: BaseUser, found: reads.Detail) -> list[tuple[str, str]]:
    """(value, label) of each document and destination the user may resend it to: a document goes
    through its own integration's DAG, to that integration's destinations."""
    targets: list[tuple[str, str]] = []
    for row in found.documents:
        if not row.resendable:
            continue
        try:
            require_trigger(request, user, row.integration)
            config = reads.integration_config(row.integration)
        except HTTPException:  # not allowed, or the integration file is gone: nothing to offer
            continue
        targets += [
            (
                f"{row.index}|{key}",
                f"{_basename(row.document.name)} → {row.integration} {key}: {_describe(destination)}",
            )
            for key, destination in config.destinations_by_id()
        ]
    return targets


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _describe(destination: object) -> str:
    parts = [str(getattr(destination, "type", ""))]
    for field in ("path", "url"):
        value = getattr(destination, field, None)
        if value:
            parts.append(str(value))
    to = getattr(destination, "to", None)
    if to:
        parts.append(", ".join(to))
    return " ".join(parts)


@router.get("/integrations", response_class=HTMLResponse)
def integrations(request: Request, user: UserDep) -> HTMLResponse:
    return render(
        request, "integrations.html", {"user": user, "tab": "integrations", "rows": reads.health(user)}
    )


@router.get("/integrations/{dag_id}", response_class=HTMLResponse)
def integration(
    request: Request, user: UserDep, dag_id: str, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> HTMLResponse:
    series = reads.volume(request, user, dag_id, days)  # checks read access
    (health,) = reads.health(user, [dag_id])
    chart = volume_svg(
        [(d.day, d.received + d.exported, d.rejected) for d in series],
        f"{dag_id}: invoices per day over {days} days",
    )
    return render(
        request,
        "integration.html",
        {
            "user": user,
            "tab": "integrations",
            "name": dag_id,
            "health": health,
            "chart": chart,
            "series": series,
            "days": days,
            "failure_run": run_url(dag_id, health.last_failure.run_id) if health.last_failure else None,
        },
    )


@router.get("/open-ar", response_class=HTMLResponse)
def open_ar_index(request: Request, user: UserDep) -> HTMLResponse:
    names = reads.integrations_of_kind(user, "open_ar_reconciliation")
    return render(request, "open_ar_index.html", {"user": user, "tab": "open_ar", "names": names})


@router.get("/open-ar/{dag_id}", response_class=HTMLResponse)
def open_ar(
    request: Request,
    user: UserDep,
    dag_id: str,
    state: queries.ArState | None = None,
    after: str | None = None,
) -> HTMLResponse:
    summary = reads.open_ar(request, user, dag_id, state, after, 50)
    base = {"state": state.value} if state else {}
    return render(
        request,
        "open_ar.html",
        {
            "user": user,
            "tab": "open_ar",
            "name": dag_id,
            "summary": summary,
            "state": state,
            "states": list(queries.ArState),
            "next_link": "?" + urlencode({**base, "after": summary.next_cursor})
            if summary.next_cursor
            else None,
        },
    )


@router.get("/export", response_class=HTMLResponse)
def export_index(request: Request, user: UserDep) -> HTMLResponse:
    names = reads.integrations_of_kind(user, "export")
    return render(request, "export_index.html", {"user": user, "tab": "export", "names": names})


@router.get("/export/{dag_id}", response_class=HTMLResponse)
def export(
    request: Request,
    user: UserDep,
    dag_id: str,
    customer: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    invoice_numbers: str | None = None,
) -> HTMLResponse:
    numbers = [n for n in (invoice_numbers or "").replace(",", " ").split() if n]
    chosen = bool(customer or date_from or date_to or numbers)
    found = (
        reads.found_invoices(
            request, user, dag_id, customer or None, date_from or None, date_to or None, numbers
        )
        if chosen
        else None
    )
    if not chosen:
        require_read(request, user, dag_id)
    try:
        require_trigger(request, user, dag_id)
        can_export = True
    except HTTPException:  # not allowed: the page shows no Export button
        can_export = False
    return render(
        request,
        "export.html",
        {
            "user": user,
            "tab": "export",
            "name": dag_id,
            "found": found,
            "form": {
                "customer": customer or "",
                "date_from": date_from or "",
                "date_to": date_to or "",
                "invoice_numbers": " ".join(numbers),
            },
            "can_export": can_export,
            "token": _token(),
        },
    )
