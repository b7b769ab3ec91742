"""A real FTP server on 127.0.0.1 (pyftpdlib): plain FTP, explicit FTPS (AUTH TLS) or implicit FTPS."""

from __future__ import annotations

import hashlib
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


class _HashCommand:
    """The ``HASH`` command (draft-bryan-ftpext-hash) with SHA-256, as ProFTPD's mod_digest and other
    servers offer it (pyftpdlib does not); counts the downloads (RETR) the server served."""

    proto_cmds = {
        **FTPHandler.proto_cmds,
        "HASH": dict(perm="r", auth=True, arg=True, help="Syntax: HASH <SP> file-name (SHA-256 of a file)."),
    }
    downloads = 0

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._extra_feats.append("HASH SHA-256*")

    def ftp_HASH(self, path: str) -> None:
        if not self.fs.isfile(self.fs.realpath(path)):
            self.respond("550 No such file.")
            return
        data = Path(path).read_bytes()
        self.respond(
            f"213 SHA-256 0-{max(len(data) - 1, 0)} {hashlib.sha256(data).hexdigest()} {self.fs.fs2ftp(path)}"
        )

    def ftp_RETR(self, file: str):  # type: ignore[no-untyped-def]
        type(self).downloads += 1
        return super().ftp_RETR(file)


class FtpServer:
    def __init__(
        self, root: Path, mode: str, certificate: Path | None = None, *, hash_command: bool = False
    ) -> None:
        self.root, self.mode, self.certificate = root, mode, certificate
        self.hash_command = hash_command
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
        bases = (_HashCommand, base) if self.hash_command else (base,)
        handler = type(f"{self.mode.title()}Handler", bases, attributes)
        self.handler = handler
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
