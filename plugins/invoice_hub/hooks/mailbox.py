"""POP3 and IMAP logins, with the conventions of the IMAP provider's connections.

The provider's ``ImapHook`` builds its client without a socket timeout and knows only the system
certificate store; there is no POP3 hook at all. Both are added here, in one place, with the same
connection extras: ``use_ssl`` (default true: IMAPS 993 / POP3S 995; false: 143 / 110),
``ca_bundle`` (PEM file of a private CA), ``verify`` (default true) and ``timeout`` (default 60 s).
"""

from __future__ import annotations

import imaplib
import poplib
import ssl
from typing import Any

from airflow.providers.imap.hooks.imap import ImapHook
from airflow.sdk import BaseHook

DEFAULT_TIMEOUT = 60.0


def _truthy(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() not in ("false", "0", "no", "off")


def tls_context(extra: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=extra.get("ca_bundle") or None)
    if not _truthy(extra.get("verify"), True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class HubImapHook(ImapHook):
    """ImapHook whose client has a socket timeout and honours ``ca_bundle`` / ``verify``."""

    def _build_client(self, conn: Any) -> imaplib.IMAP4:
        extra = conn.extra_dejson
        timeout = float(extra.get("timeout", DEFAULT_TIMEOUT))
        host = conn.host or ""
        if _truthy(extra.get("use_ssl"), True):
            return imaplib.IMAP4_SSL(host, conn.port or 993, ssl_context=tls_context(extra), timeout=timeout)
        return imaplib.IMAP4(host, conn.port or 143, timeout=timeout)


class Pop3Hook(BaseHook):
    """A POP3 login from an Airflow connection (the providers have none)."""

    conn_name_attr = "pop3_conn_id"
    default_conn_name = "pop3_default"
    conn_type = "pop3"
    hook_name = "POP3"

    def __init__(self, pop3_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.pop3_conn_id = pop3_conn_id

    def get_conn(self) -> poplib.POP3:
        conn = self.get_connection(self.pop3_conn_id)
        extra = conn.extra_dejson
        timeout = float(extra.get("timeout", DEFAULT_TIMEOUT))
        client: poplib.POP3
        if _truthy(extra.get("use_ssl"), True):
            client = poplib.POP3_SSL(
                conn.host or "", conn.port or 995, timeout=timeout, context=tls_context(extra)
            )
        else:
            client = poplib.POP3(conn.host or "", conn.port or 110, timeout=timeout)
        client.user(conn.login or "")
        client.pass_(conn.password or "")
        return client

    def test_connection(self) -> tuple[bool, str]:
        """Log in and count the messages (Airflow's "Test connection")."""
        try:
            client = self.get_conn()
            count, _size = client.stat()
            client.quit()
        except Exception as exc:
            return False, str(exc)
        return True, f"Logged in; {count} message(s) in the mailbox"
