"""Sources and destinations: one module per transport, opened through :func:`open_transport`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoice_hub.redaction import register_connection
from invoice_hub.transports.base import RemoteFile, TargetExistsError, Transport, TransportError
from invoice_hub.transports.local import LocalTransport


def open_transport(endpoint: Any, base_dir: Path) -> Transport:
    """The transport for a source or destination block; ``base_dir`` anchors relative local paths.

    Remote transports connect lazily, on first use, so that opening one costs nothing but the
    connection's lookup: its secrets are registered for masking first (``invoice_hub.redaction``),
    so that no message, log line or record made while using it can carry them.
    """
    conn_id = getattr(endpoint, "conn_id", None)
    if conn_id:
        register_connection(_connection(endpoint.type, conn_id))
    if endpoint.type == "local":
        return LocalTransport(base_dir, root=endpoint.path)  # a source never reads outside its path
    if endpoint.type == "sftp":
        from invoice_hub.transports.sftp import SftpTransport

        return SftpTransport(endpoint.conn_id)
    if endpoint.type in ("pop3", "imap"):
        from invoice_hub.transports.mailbox import ImapTransport, Pop3Transport

        if endpoint.type == "pop3":
            return Pop3Transport(endpoint.conn_id, endpoint.pattern)
        return ImapTransport(
            endpoint.conn_id, endpoint.path if endpoint.path != "/" else "INBOX", endpoint.pattern
        )
    if endpoint.type == "email":
        from invoice_hub.transports.email import EmailTransport

        return EmailTransport(endpoint)
    if endpoint.type == "http":
        from invoice_hub.transports.http import HttpTransport

        return HttpTransport(endpoint.conn_id)
    if endpoint.type in ("ftp", "ftps"):
        from invoice_hub.transports.ftp import FtpTransport

        return FtpTransport(endpoint.conn_id, tls=endpoint.type == "ftps")
    raise TransportError(
        f"{endpoint.type}: not available in this version of the invoice hub", retryable=False
    )


def _connection(kind: str, conn_id: str) -> Any:
    """The Airflow connection ``conn_id``, looked up as Airflow does in this process (secrets backends,
    ``AIRFLOW_CONN_*``, the metadata database where the process may read it); one that is not defined
    is a permanent error that says how to define it, raised before any transport is built."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise TransportError(
            f"{kind}:{conn_id}: no Airflow connection {conn_id!r}; define it (Admin > Connections, "
            f"`airflow connections add {conn_id} ...`, AIRFLOW_CONN_{conn_id.upper()}, or a secrets backend)",
            retryable=False,
        ) from None


__all__ = ["RemoteFile", "TargetExistsError", "Transport", "TransportError", "open_transport"]
