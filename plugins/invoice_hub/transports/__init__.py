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
        register_connection(conn_id)
    if endpoint.type == "local":
        return LocalTransport(base_dir)
    if endpoint.type == "sftp":
        from invoice_hub.transports.sftp import SftpTransport

        return SftpTransport(endpoint.conn_id)
    if endpoint.type in ("pop3", "imap"):
        from invoice_hub.transports.mail import ImapTransport, Pop3Transport

        if endpoint.type == "pop3":
            return Pop3Transport(endpoint.conn_id)
        return ImapTransport(endpoint.conn_id, endpoint.path if endpoint.path != "/" else "INBOX")
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


__all__ = ["RemoteFile", "TargetExistsError", "Transport", "TransportError", "open_transport"]
