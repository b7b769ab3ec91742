"""FTP and FTPS: the FTP provider's hook, extended in this one place.

The provider's ``FTPHook`` / ``FTPSHook`` lack what partners' servers need:
  - a socket timeout (without one a dead server hangs a task until Airflow's execution timeout);
  - implicit FTPS (TLS from the first byte, port 990: Kofax's "FTPS security method" implicit);
  - a CA bundle for partners with private certificate authorities (``FTPSHook`` only knows the
    system store), and an explicit switch to turn verification off;
  - TLS session reuse on the data connection, which vsftpd, FileZilla Server and others require;
  - and ``FTPSHook`` sets the port on ``ftplib.FTP_TLS`` itself, a class attribute every connection
    in the process shares.

Connection extras (all optional): ``passive`` (default true), ``encoding`` (default utf-8),
``timeout`` seconds (default 60), ``tls`` (``explicit`` (default) or ``implicit``; ftps only),
``ca_bundle`` (path of a PEM file), ``verify`` (default true), ``transfer_mode`` (``binary``
(default) or ``ascii``).
"""

from __future__ import annotations

import ftplib
import socket
import ssl
from typing import Any, cast

from airflow.providers.ftp.hooks.ftp import FTPHook, _get_passive_mode

DEFAULT_TIMEOUT = 60.0


class ReusingFtpTls(ftplib.FTP_TLS):
    """Explicit FTPS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd: str, rest: Any = None) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]  # typeshed's FTP_TLS lacks the flag prot_p() sets
            # protected data connections come after login(), whose AUTH TLS wrapped the control socket
            session = cast(ssl.SSLSocket, self.sock).session
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


class ImplicitFtpTls(ReusingFtpTls):
    """Implicit FTPS: the control connection is TLS from its first byte; ftplib only speaks AUTH TLS."""

    def connect(
        self, host: str = "", port: int = 0, timeout: float = -999, source_address: Any = None
    ) -> str:
        if host:
            self.host = host
        if port > 0:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        if source_address is not None:
            self.source_address = source_address
        raw = socket.create_connection(
            (self.host, self.port), self.timeout, source_address=self.source_address
        )
        self.sock = self.context.wrap_socket(raw, server_hostname=self.host)
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


class HubFtpHook(FTPHook):
    """FTPHook with timeouts, implicit/explicit FTPS, CA bundles and TLS session reuse (see the module)."""

    def __init__(self, ftp_conn_id: str, *, tls: bool = False) -> None:
        super().__init__(ftp_conn_id=ftp_conn_id)
        self.tls = tls
        self.transfer_mode = "binary"
        self.endpoint = ftp_conn_id

    def get_conn(self) -> ftplib.FTP:
        if self.conn is not None:
            return self.conn
        params = self.get_connection(self.ftp_conn_id)
        extra = params.extra_dejson
        timeout = float(extra.get("timeout", DEFAULT_TIMEOUT))
        encoding = extra.get("encoding") or "utf-8"
        self.transfer_mode = str(extra.get("transfer_mode", "binary")).lower()
        implicit = self.tls and str(extra.get("tls", "explicit")).lower() == "implicit"
        port = params.port or (990 if implicit else 21)
        self.endpoint = f"{params.host}:{port}"
        conn: ftplib.FTP
        if self.tls:
            context = ssl.create_default_context(cafile=extra.get("ca_bundle") or None)
            if str(extra.get("verify", "true")).lower() == "false":
                self.log.warning(
                    "TLS certificate verification is off for %s: this does not protect "
                    "against a man in the middle",
                    self.ftp_conn_id,
                )
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            cls = ImplicitFtpTls if implicit else ReusingFtpTls
            conn = cls(context=context, timeout=timeout, encoding=encoding)
        else:
            conn = ftplib.FTP(timeout=timeout, encoding=encoding)
        conn.connect(params.host or "", port)
        conn.login(params.login or "anonymous", params.password or "")  # FTP_TLS.login() sends AUTH TLS first
        if self.tls:
            conn.prot_p()  # type: ignore[attr-defined]  # encrypt the data connections too
        conn.set_pasv(_get_passive_mode(extra))
        self.conn = conn
        return conn


class FtpsHook(HubFtpHook):
    """The ``ftps`` connection type (the FTP provider registers only ``ftp``): TLS always on."""

    conn_type = "ftps"
    hook_name = "FTPS"
    default_conn_name = "ftps_default"

    def __init__(self, ftp_conn_id: str = default_conn_name) -> None:
        super().__init__(ftp_conn_id, tls=True)
