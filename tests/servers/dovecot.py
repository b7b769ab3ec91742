"""A real Dovecot (IMAP, IMAPS, POP3, POP3S) on free 127.0.0.1 ports, with one mailbox user."""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from tests.servers.sshd import USER, ensure_user, free_port, wait_for_port

MAIL_USER = "ap-inbox"


class DovecotServer:
    def __init__(self, certificate_folder: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ih-dovecot-"))
        self.folder.chmod(0o755)
        self.password = secrets.token_urlsafe(10)
        self.ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
        self.system_user = _mail_owner()
        self.home = self.folder / "home"
        self.maildir = self.home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self.cert, self.key = certificate_folder / "cert.pem", certificate_folder / "key.pem"
        (self.folder / "users").write_text(f"{MAIL_USER}:{{PLAIN}}{self.password}\n")
        self._chown(self.home)
        (self.folder / "dovecot.conf").write_text(f"""
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.maildir}
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.folder}/users
}}
userdb {{
  driver = static
  args = uid={self.system_user.pw_uid} gid={self.system_user.pw_gid} home={self.home}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.ports["imap"]}
  }}
  inet_listener imaps {{
    port = {self.ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = {self.ports["pop3s"]}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
""")
        self.process: subprocess.Popen | None = None

    def _chown(self, path: Path) -> None:
        for item in [path, *path.rglob("*")]:
            os.chown(item, self.system_user.pw_uid, self.system_user.pw_gid)

    def start(self) -> None:
        log = (self.folder / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.folder / "dovecot.conf")],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        for port in self.ports.values():
            wait_for_port(port)

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def deliver(self, subject: str, attachments: dict[str, bytes], message_id: str | None = None) -> str:
        """Put a message into the mailbox as the mail server's delivery would; returns its Message-ID."""
        message = EmailMessage()
        message["From"] = "billing@supplier.example"
        message["To"] = "ap@buyer.example"
        message["Subject"] = subject
        message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = message_id or make_msgid(domain="supplier.example")
        message.set_content("Please find our invoice attached.")
        for name, content in attachments.items():
            maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("application", "xml")
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
        self.deliver_raw(message.as_bytes())
        return message["Message-ID"]

    def deliver_raw(self, raw: bytes) -> None:
        """Put a message, as bytes the test made (names no mail library would write), into the mailbox."""
        target = self.maildir / "new" / f"{time.time_ns()}.{secrets.token_hex(4)}.test"
        target.write_bytes(raw)
        self._chown(target)

    def folders(self) -> dict[str, int]:
        """Messages per folder: INBOX and every Maildir++ subfolder (".Processed" -> "Processed")."""
        counts = {"INBOX": sum(1 for sub in ("cur", "new") for _ in (self.maildir / sub).iterdir())}
        for child in self.maildir.iterdir():
            if child.name.startswith(".") and child.is_dir():
                counts[child.name[1:]] = sum(1 for sub in ("cur", "new") for _ in (child / sub).iterdir())
        return counts

    def connection(self, kind: str, password: str | None = None) -> str:
        """An Airflow connection to the ``imap``, ``imaps``, ``pop3`` or ``pop3s`` port."""
        conn_type = "imap" if kind.startswith("imap") else "pop3"
        extra: dict[str, object] = {"use_ssl": kind.endswith("s"), "timeout": 10}
        if kind.endswith("s"):
            extra["ca_bundle"] = str(self.cert)
        return json.dumps(
            {
                "conn_type": conn_type,
                "host": "127.0.0.1",
                "port": self.ports[kind],
                "login": MAIL_USER,
                "password": password or self.password,
                "extra": extra,
            }
        )


def _mail_owner() -> pwd.struct_passwd:
    """The system user owning the mailbox files (the test user the SSH server uses too)."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        return ensure_user(secrets.token_urlsafe(12))
