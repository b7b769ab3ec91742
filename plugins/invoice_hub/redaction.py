"""Secrets kept out of everything the hub writes: logs, error files, the ledger, XCom and mails.

Airflow masks a connection's password in task logs, and of its extra only the fields whose names
are in its own list (``api_key`` matches, an HTTP header ``X-Api-Key`` does not). A partner's server
that echoes the request headers in an error body would put such a key into the hub's error
message, and from there into ``error.json``, the ledger, XCom and the log.

So when the hub opens a transport for a connection, :func:`register_connection` takes every secret
value of it (the password, ``login:password`` as a Basic header carries it, and every extra value,
nested ones too, whose key names a secret: :data:`SECRET_NAME_PARTS`) and registers it twice:

- with Airflow's secrets masker (``airflow.sdk.log.mask_secret``, the Task SDK's public API), which
  masks task logs and tracebacks, in the task process and in its supervisor;
- with this module's process-wide redactor, which :class:`invoice_hub.errors.HubError` applies to its
  message at construction: every error the hub raises, records, writes beside a file or mails is
  clean, whatever path it takes afterwards.

Kept free of Airflow imports at module level: errors.py imports it while DAGs are parsed.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

#: A connection field or extra key holding one of these (case-insensitive, anywhere in the name,
#: ``-`` and ``_`` alike) holds a secret: ``X-Api-Key``, ``access_token``, ``private_key``, ...
SECRET_NAME_PARTS = (
    "key",
    "token",
    "secret",
    "authorization",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "cookie",
    "signature",
    "bearer",
)
#: As Airflow's masker (``min_length_to_mask``): shorter values would mask ordinary words.
MIN_SECRET_LENGTH = 5
#: Values of secret-named keys that are settings, not secrets (``look_for_keys: false``).
_NOT_SECRETS = frozenset({"true", "false", "yes", "no", "none", "null", "airflow"})
#: What a secret becomes, as in Airflow's logs.
MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def is_secret_name(name: str) -> bool:
    """``X-Api-Key``, ``client_secret``, ``Authorization`` -> True; ``timeout``, ``host`` -> False."""
    normalised = name.lower().replace("-", "_")
    return any(part in normalised for part in SECRET_NAME_PARTS)


def _secret_leaves(value: Any, secret: bool) -> Iterator[str]:
    """The text values under ``value``: all of them below a secret-named key, else those of
    secret-named keys (dicts and lists walked, so ``extra.headers.X-Api-Key`` is found)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_leaves(item, secret or is_secret_name(str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_leaves(item, secret)
    elif isinstance(value, str):
        if value.startswith(("{", "[")):  # a JSON document in a text field (headers as a string)
            yield from _secret_leaves(_json_or_none(value), secret)
        if secret:
            yield value


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def connection_secrets(connection: Any) -> list[str]:
    """Every secret value of an Airflow connection: its password, ``login:password`` in base64 (an
    echoed Basic ``Authorization`` header), and its extra's secret-named values."""
    found: list[str] = []
    password = getattr(connection, "password", None)
    if password:
        found.append(password)
        login = getattr(connection, "login", None) or ""
        found.append(base64.b64encode(f"{login}:{password}".encode()).decode())
    try:
        extra = connection.extra_dejson
    except Exception:  # an extra that is not JSON holds nothing we can name
        extra = {}
    found.extend(_secret_leaves(extra, False))
    return found


def _variants(secret: str) -> Iterator[str]:
    """The forms a secret takes in text: as is, URL-encoded, and escaped inside a JSON string."""
    yield secret
    yield quote(secret, safe="")
    yield quote_plus(secret, safe="")
    yield json.dumps(secret)[1:-1]


def register_secrets(values: Iterable[str]) -> None:
    """Mask ``values`` from now on in this process: in the hub's messages and in Airflow's logs.

    Registering a value again costs a set lookup (the ledger's connection is looked up per engine)."""
    global _pattern
    with _lock:
        fresh = [
            v
            for v in dict.fromkeys(values)
            if isinstance(v, str)
            and len(v) >= MIN_SECRET_LENGTH
            and v.lower() not in _NOT_SECRETS
            and v not in _secrets
        ]
        if not fresh:
            return
        _secrets.update(
            form for value in fresh for form in _variants(value) if len(form) >= MIN_SECRET_LENGTH
        )
        # Longest first: a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))
    _mask_in_airflow_logs(fresh)


def _mask_in_airflow_logs(values: list[str]) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # the library used without Airflow: the hub's own redactor still applies
        return
    for value in values:
        mask_secret(value)


def register_connection(connection: Any) -> None:
    """Register the secrets of an Airflow connection (as ``BaseHook.get_connection`` returns it)."""
    register_secrets(connection_secrets(connection))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)
