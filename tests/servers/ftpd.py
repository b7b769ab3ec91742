"""A real FTP server on 127.0.0.1 (pyftpdlib): plain FTP, explicit FTPS (AUTH TLS) or implicit FTPS."""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
from pathlib import Path

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer

from tests.servers.sshd import free_port, wait_for_port

USER = "partner"


def self_signed_certificate(folder: Path) -> Path:
    """A certificate for 127.0.0.1 with its key in one PEM file (also the client's CA bundle)."""
    pem = folder / "ftpd.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    pem.write_text((folder / "cert.pem").read_text() + (folder / "key.pem").read_text())
    return pem


class _ImplicitTlsHandler(TLS_FTPHandler):
    """TLS from the first byte, as on port 990."""

    def handle(self) -> None:
        self.secure_connection(self.ssl_context)
        super().handle()


class FtpServer:
    def __init__(self, root: Path, mode: str, certificate: Path | None = None) -> None:
        self.root, self.mode, self.certificate = root, mode, certificate
        self.password = secrets.token_urlsafe(10)
        self.port = free_port()
        self.server: FTPServer | None = None

    def start(self) -> None:
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, self.password, homedir=str(self.root), perm="elradfmwMT")
        base = {"plain": FTPHandler, "explicit": TLS_FTPHandler, "implicit": _ImplicitTlsHandler}[self.mode]
        attributes: dict[str, object] = {"authorizer": authorizer, "banner": "invoice hub test server"}
        if self.mode != "plain":
            attributes.update(
                certfile=str(self.certificate),
                ssl_context=None,
                tls_control_required=True,
                tls_data_required=True,
            )
        handler = type(f"{self.mode.title()}Handler", (base,), attributes)
        self.server = FTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"timeout": 0.2}, daemon=True).start()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.close_all()
            self.server = None

    def connection(self, password: str | None = None, **extra: object) -> str:
        conn_type = "ftp" if self.mode == "plain" else "ftps"  # ftps: the hub's own connection type
        options: dict[str, object] = {"timeout": 10, **extra}
        if self.mode == "implicit":
            options.setdefault("tls", "implicit")
        if self.mode != "plain":
            options.setdefault("ca_bundle", str(self.certificate))
        return json.dumps(
            {
                "conn_type": conn_type,
                "host": "127.0.0.1",
                "port": self.port,
                "login": USER,
                "password": password or self.password,
                "extra": options,
            }
        )
