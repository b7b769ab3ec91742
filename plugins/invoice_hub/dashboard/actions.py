"""The dashboard's two actions, each a run of the integration's own DAG (see :mod:`.runs`).

- **Resend**: a stored document of a transaction to one of its integration's destinations, through
  the DAG's ``resend`` param (:mod:`invoice_hub.exchange.resend`): the normal deliver task delivers
  and records it, once per page token.
- **Manual export**: an export DAG run with its Trigger params (invoice numbers, a customer, dates),
  exactly what the Trigger form would start.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import HTTPException, Request

from invoice_hub.dashboard import reads
from invoice_hub.dashboard.access import require_trigger
from invoice_hub.dashboard.runs import StartedRun, check_token, start_run
from invoice_hub.exchange.resend import ResendRequest

#: Run ids of manual exports started from the dashboard.
EXPORT_RUN_PREFIX = "manual__dashboard_"


def resend(
    request: Request, user: BaseUser, transaction_id: str, index: int, destination: str, token: str
) -> StartedRun:
    row = reads.document(request, user, transaction_id, index)  # 404 / 403 for reading
    require_trigger(request, user, row.integration)
    sha256 = reads.document_sha256(row.document.url or "")
    if not row.resendable or sha256 is None:
        raise HTTPException(
            422,
            f"{row.document.name} ({row.role}) cannot be resent: only a received source or a rendered "
            "export document can",
        )
    config = reads.integration_config(row.integration)
    known = [key for key, _ in config.destinations_by_id()]
    if destination not in known:
        raise HTTPException(
            422,
            f"{row.integration} has no destination {destination!r}; it has {', '.join(known) or 'none'}",
        )
    wanted = ResendRequest(sha256, destination, check_token(token))
    return start_run(
        row.integration,
        wanted.run_id,
        wanted.to_conf(),
        user.get_name(),
        note=f"Resend of {row.document.name} to {destination}, from the Invoices page",
    )


def export(
    request: Request,
    user: BaseUser,
    integration: str,
    invoice_numbers: list[str],
    customer: str | None,
    date_from: str | None,
    date_to: str | None,
    token: str,
) -> StartedRun:
    from invoice_hub.errors import HubError
    from invoice_hub.exchange.select import criteria_for

    require_trigger(request, user, integration)
    config = reads.export_integration(integration)
    numbers = [n.strip() for n in invoice_numbers if n.strip()]
    conf = {
        "invoice_numbers": numbers or None,
        "customer": customer or None,
        "date_from": date_from or None,
        "date_to": date_to or None,
    }
    if not any(conf.values()):
        raise HTTPException(
            422,
            "choose what to export: invoice numbers, a customer or a date range (from/to)",
        )
    try:
        criteria_for(config, None, None, **conf)  # the run would refuse the same dates
    except HubError as exc:
        raise HTTPException(422, str(exc)) from None
    chosen = ", ".join(f"{k} {v}" for k, v in conf.items() if v)
    return start_run(
        integration,
        f"{EXPORT_RUN_PREFIX}{check_token(token)}",
        conf,
        user.get_name(),
        note=f"Manual export from the Invoices page: {chosen}",
    )
