"""The invoice hub's Airflow plugin: the "Invoices" page in Airflow's navigation.

Airflow imports every module of ``plugins/`` looking for AirflowPlugin classes (the ``invoice_hub``
package itself is ignored by ``plugins/.airflowignore``), so this module stays a few lines: the
dashboard's FastAPI app is mounted by the api-server under ``/invoices`` and shown in the UI's
navigation as an embedded view. Schedulers and workers load plugins too: the app is built on its
first request, so they import none of it.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from invoice_hub.dashboard import URL_PREFIX, DashboardApp


class InvoiceHubPlugin(AirflowPlugin):
    name = "invoice_hub"
    fastapi_apps = [{"app": DashboardApp(), "url_prefix": URL_PREFIX, "name": "Invoices"}]
    external_views = [
        {
            "name": "Invoices",
            "href": f"{URL_PREFIX.lstrip('/')}/",
            "url_route": "invoices",
            "destination": "nav",
            "icon": f"{URL_PREFIX}/static/icon.svg",
            "icon_dark_mode": f"{URL_PREFIX}/static/icon-dark.svg",
        }
    ]
