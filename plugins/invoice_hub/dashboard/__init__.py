"""The Invoices pages in the Airflow UI: the hub's FastAPI app over the ledger, behind Airflow's login
and DAG permissions (see docs/dashboard.md).

Kept free of imports: the plugin module imports :class:`DashboardApp` in every Airflow process
(schedulers, workers, DAG processors load plugins too), and only the api-server ever serves it.
"""

from __future__ import annotations

from typing import Any

#: Where the api-server mounts the app (``/invoices/``, ``/invoices/api/...``).
URL_PREFIX = "/invoices"


class DashboardApp:
    """The dashboard's ASGI app, built on its first request: processes that never serve it never
    import FastAPI routes, templates or Airflow's API security module."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self._app is None:
            from invoice_hub.dashboard.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)
