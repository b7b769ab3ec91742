"""The ``billy`` connection type: billy's API v2 from an Airflow connection.

The access token is the connection's password (Airflow masks passwords in task logs, and the hub
registers it with its own redactor too, see ``invoice_hub.redaction``); it is sent as
``X-Access-Token``. The host defaults to ``https://api.billysbilling.com/v2``; a connection may name
another (a proxy, or the tests' stand-in): ``host`` with its scheme, or ``host``/``port``/``schema``.

Connection extras (all optional): ``page_size`` (default 1000, billy's largest), ``timeout``
seconds (default 60), ``max_attempts`` per request for 429/5xx (default 5), ``backoff`` seconds
(default 1, doubled each attempt; ``Retry-After`` wins when longer).

Example: ``AIRFLOW_CONN_BILLY='{"conn_type": "billy", "password": "<token>"}'``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from invoice_hub.accounting.billy import API_URL, DEFAULT_PAGE_SIZE, BillyClient, BillySource
from invoice_hub.accounting.http import DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT
from invoice_hub.redaction import register_connection


def base_url(connection: Any) -> str:
    """The API's base URL a connection names (billy's own when it names none)."""
    host = (connection.host or "").strip()
    if not host:
        return API_URL
    if "://" in host:
        return host.rstrip("/")
    scheme = "https"
    port = f":{connection.port}" if connection.port else ""
    path = (connection.schema or "v2").strip("/")
    return f"{scheme}://{host}{port}/{path}"


class BillyHook(BaseHook):
    """A billy API client from an Airflow connection (see the module)."""

    conn_name_attr = "billy_conn_id"
    default_conn_name = "billy_default"
    conn_type = "billy"
    hook_name = "billy (accounting API v2)"

    def __init__(self, billy_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.billy_conn_id = billy_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["login"],
            "relabeling": {"password": "Access token", "host": "API URL (empty: api.billysbilling.com/v2)"},
            "placeholders": {"host": API_URL, "extra": '{"page_size": 1000, "timeout": 60}'},
        }

    def get_conn(self) -> BillyClient:
        connection = self.get_connection(self.billy_conn_id)
        register_connection(connection)
        extra = connection.extra_dejson
        return BillyClient(
            connection.password or "",
            base_url=base_url(connection),
            page_size=int(extra.get("page_size", DEFAULT_PAGE_SIZE)),
            timeout=float(extra.get("timeout", DEFAULT_TIMEOUT)),
            max_attempts=int(extra.get("max_attempts", DEFAULT_ATTEMPTS)),
            backoff=float(extra.get("backoff", 1.0)),
        )

    def test_connection(self) -> tuple[bool, str]:
        """Read the organisation with the token (Airflow's "Test connection")."""
        try:
            client = self.get_conn()
            try:
                organization = client.organization()
            finally:
                client.close()
        except Exception as exc:
            return False, str(exc)
        return True, f"Token accepted by billy for the organisation {organization.get('name')!r}"


def open_billy_source(conn_id: str) -> BillySource:
    """:func:`invoice_hub.accounting.open_source`'s opener for ``billy``."""
    return BillySource(BillyHook(conn_id).get_conn())
