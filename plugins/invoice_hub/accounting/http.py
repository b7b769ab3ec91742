"""HTTP for accounting APIs: one session, a back-off that honours ``Retry-After``, and errors that
say whether a retry can help, never carrying the credentials.

Shared by every accounting API module (billy today; e-conomic and Dinero are JSON over HTTPS too).
429 and 5xx are retried here, within the task, ``max_attempts`` times with exponential back-off,
waiting at least what ``Retry-After`` asks (seconds or an HTTP date, capped at ``max_wait``):
a rate limit is the normal state of a busy API, not a reason to fail the task. What outlasts the
back-off is raised retryable, so Airflow's task retry takes over. 401 and 403 are raised at once and
permanent (a token that is refused now is refused on every retry); 404 is permanent with the path.

Credentials travel in headers the caller gives (``auth_headers``), sent only to the API's own host:
a download URL on another host (a CDN, a signed link) never sees the token. Error messages carry
the method, the path (without the query's values) and the API's own message, never headers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from invoice_hub.accounting import AccountingError

log = logging.getLogger(__name__)

#: Statuses a later attempt can cure: timeouts, rate limits, server errors.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = 60.0
DEFAULT_ATTEMPTS = 5


class ApiSession:
    """A ``requests`` session bound to one API base URL (see the module).

    ``describe_error(response)`` turns an error response's body into the API's own message (each API
    words its error bodies differently); ``sleep`` is the clock's wait (time.sleep).
    """

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        auth_headers: Mapping[str, str],
        describe_error: Callable[[requests.Response], str],
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = 1.0,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.label = label
        self._auth_headers = dict(auth_headers)
        self._describe_error = describe_error
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        self._host = urlsplit(self.base_url).netloc
        #: Requests sent and waits made (the benchmark and the tests read them).
        self.requests_sent = 0
        self.retries = 0

    def close(self) -> None:
        self._session.close()

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` (relative to the base URL) and its JSON object, retried as the module says."""
        response = self._get(self.url(path), params, what=f"GET {path}")
        try:
            body = response.json(parse_float=Decimal)  # amounts are Decimal from the wire on, never float
        except ValueError:
            raise AccountingError(
                f"{self.label}: GET {path} answered {response.status_code} with something that is "
                f"not JSON ({response.headers.get('Content-Type', 'no content type')}); is the "
                f"connection's host the API ({self.base_url})?",
            ) from None
        if not isinstance(body, dict):
            raise AccountingError(
                f"{self.label}: GET {path} answered a JSON {type(body).__name__}, not an object"
            )
        return body

    def get_bytes(self, url: str, what: str) -> bytes:
        """GET an absolute or relative ``url`` (a download link) and its body."""
        return self._get(self.url(url), None, what=what).content

    def _get(self, url: str, params: Mapping[str, Any] | None, *, what: str) -> requests.Response:
        same_host = urlsplit(url).netloc == self._host
        headers = self._auth_headers if same_host else {}
        attempt = 0
        while True:
            attempt += 1
            self.requests_sent += 1
            try:
                response = self._session.get(url, params=params, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt >= self.max_attempts:
                    raise AccountingError(
                        f"{self.label}: {what} failed {attempt} times, last: {type(exc).__name__}: {exc}"
                    ) from None
                self._wait(attempt, None, what, type(exc).__name__)
                continue
            if response.status_code < 400:
                return response
            if response.status_code in RETRYABLE_STATUSES and attempt < self.max_attempts:
                self._wait(attempt, response, what, str(response.status_code))
                continue
            raise self._error(response, what, attempt)

    def _wait(self, attempt: int, response: requests.Response | None, what: str, why: str) -> None:
        wait = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        asked = retry_after(response.headers.get("Retry-After")) if response is not None else None
        if asked is not None:
            wait = min(self.max_wait, max(wait, asked))
        self.retries += 1
        log.warning(
            "%s: %s answered %s; attempt %d again in %.1f s", self.label, what, why, attempt + 1, wait
        )
        self._sleep(wait)

    def _error(self, response: requests.Response, what: str, attempts: int) -> AccountingError:
        status = response.status_code
        message = self._describe_error(response)
        said = f": {message}" if message else ""
        if status in (401, 403):
            return AccountingError(
                f"{self.label}: {what} was refused ({status}){said}. The access token in the Airflow "
                "connection's password is wrong, revoked or lacks the permission: create a new one "
                "in the accounting system and store it in the connection",
                retryable=False,
            )
        if status == 404:
            return AccountingError(
                f"{self.label}: {what} does not exist (404){said}; check the connection's host "
                f"({self.base_url}) and that the record was not deleted",
                retryable=False,
            )
        if status in RETRYABLE_STATUSES:
            return AccountingError(
                f"{self.label}: {what} answered {status} {attempts} times{said}; the task's retry "
                "tries again later",
            )
        return AccountingError(f"{self.label}: {what} answered {status}{said}", retryable=False)


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date (RFC 9110); None if absent
    or not understood."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())
