"""HTTP as a destination: each output file is POSTed to an endpoint of an Airflow HTTP connection
(base URL, headers and auth from the connection), through the HTTP provider's hook.

Each request carries an ``Idempotency-Key``: the delivery's stable id (integration, destination and
output), noted in the ledger before the first attempt, so a receiver that honours it never books a
file twice even if the hub died or a response was lost and the hub sent again.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath

from invoice_hub.config.models import IfExists
from invoice_hub.naming import content_disposition
from invoice_hub.transports.base import ConnectError, Readable, SendOnlyTransport, TransportError

#: Statuses worth another try: timeouts, rate limits and server errors.
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpTransport(SendOnlyTransport):
    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self.label = f"http:{conn_id}"

    def target_path(
        self, folder: str, name: str, if_exists: IfExists, taken: frozenset[str] = frozenset()
    ) -> str:
        return posixpath.join(folder, name)

    def probe(self, folder: str, *, as_destination: bool) -> str:
        import requests
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method="OPTIONS", http_conn_id=self.conn_id)
        try:
            response = hook.run(folder, extra_options={"check_response": False, "timeout": 15})
        except requests.RequestException as exc:
            raise TransportError(f"{self.label}: cannot reach {folder}: {exc}") from exc
        if response.status_code in (401, 403):
            raise TransportError(
                f"{self.label}: {folder} refused the credentials ({response.status_code})", retryable=False
            )
        return f"reachable; OPTIONS {folder} answered {response.status_code}"

    def upload(self, local: Readable, path: str, *, replace: bool, delivery_id: str | None = None) -> None:
        """``path`` is ``ENDPOINT/NAME``: the file is POSTed to ENDPOINT, its name in the headers;
        ``delivery_id`` is the Idempotency-Key (without one, as for a resend by hand, the endpoint and
        the content make it)."""
        import requests
        from airflow.providers.http.hooks.http import HttpHook

        endpoint, _, name = path.rpartition("/")
        if delivery_id is None:
            with local.open("rb") as body:
                digest = hashlib.file_digest(body, "sha256").hexdigest()
            delivery_id = hashlib.sha256(f"{endpoint}|{digest}".encode()).hexdigest()
        headers = {
            "Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "Content-Disposition": content_disposition(name),  # a name beyond Latin-1 needs filename*
            "Idempotency-Key": delivery_id,
        }
        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        try:
            with local.open("rb") as body:
                response = hook.run(
                    endpoint or "/",
                    data=body,
                    headers=headers,
                    extra_options={"check_response": False},
                )
        except requests.exceptions.InvalidHeader as exc:  # a name no header can carry (CR, LF, NUL)
            raise TransportError(
                f"{self.label}: cannot POST {name!r} to {endpoint or '/'}: the name cannot be sent in a "
                f"header: {exc}",
                retryable=False,
            ) from exc
        except requests.ConnectionError as exc:
            raise ConnectError(f"{self.label}: cannot reach {endpoint or '/'}: {exc}") from exc
        except requests.RequestException as exc:
            raise TransportError(f"{self.label}: cannot POST {name} to {endpoint or '/'}: {exc}") from exc
        if response.status_code in (401, 403):
            raise ConnectError(
                f"{self.label}: {endpoint or '/'} refused the credentials ({response.status_code}); check "
                "the connection's login, password or headers",
                retryable=False,
            )
        if not 200 <= response.status_code < 300:
            raise TransportError(
                f"{self.label}: POST {name} to {endpoint or '/'} answered {response.status_code} "
                f"{response.reason}: {response.text[:200]}",
                retryable=response.status_code in _RETRYABLE,
            )
