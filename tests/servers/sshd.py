"""A real OpenSSH server on 127.0.0.1 for the SFTP tests: throwaway host key, user, password and keys.

The server runs as root (it must, to switch to the user) in its own process group, so a test can
kill it, sessions included, in the middle of a transfer.

Several servers may run at once on one machine (a benchmark started by a test, two test sessions):
they share the one system user, whose password is made once per machine and never changed, and a
server that stops ends only its own sessions, never another server's.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

USER = "invoicehub-test"
SSHD = "/usr/sbin/sshd"
#: The test user's password, made once per machine (readable by root only).
PASSWORD_FILE = Path("/var/lib/invoice-hub-test/sftp-password")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def user_password() -> str:
    """The test user's password: the same for every server, so that one starting never locks out the
    sessions of another (as resetting it each time did)."""
    PASSWORD_FILE.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(12))
    return PASSWORD_FILE.read_text().strip()


def ensure_user(password: str) -> pwd.struct_passwd:
    """The throwaway system user the SFTP sessions run as (created once; ``password`` is always the
    same one, see :func:`user_password`)."""
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
        entry = pwd.getpwnam(USER)
    subprocess.run(["chpasswd"], input=f"{USER}:{password}", text=True, check=True)
    return entry


def keygen(path: Path, passphrase: str = "") -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "invoice-hub-test", "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub").read_text().strip()


@dataclass
class SshServer:
    folder: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=user_password)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.folder.chmod(0o755)
        self.user = ensure_user(self.password)
        self.host_key = keygen(self.folder / "host_ed25519").rsplit(" ", 1)[0]  # "ssh-ed25519 AAAA…"
        self.other_host_key = keygen(self.folder / "other_host_ed25519").rsplit(" ", 1)[0]
        self.client_key = self.folder / "client_ed25519"
        self.passphrase = secrets.token_urlsafe(8)
        self.locked_key = self.folder / "client_locked_ed25519"
        authorized = [keygen(self.client_key), keygen(self.locked_key, self.passphrase)]
        (self.folder / "authorized_keys").write_text("\n".join(authorized) + "\n")
        for name in ("host_ed25519", "other_host_ed25519"):
            (self.folder / name).chmod(0o600)  # sshd refuses host keys others can read
        (self.folder / "authorized_keys").chmod(0o644)  # read as the user
        self.files = self.folder / "files"
        self.files.mkdir(mode=0o755)
        os.chown(self.files, self.user.pw_uid, self.user.pw_gid)
        (self.folder / "sshd_config").write_text(f"""
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.folder}/host_ed25519
PidFile {self.folder}/sshd.pid
AuthorizedKeysFile {self.folder}/authorized_keys
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
PermitRootLogin no
AllowUsers {USER}
Subsystem sftp internal-sftp
MaxStartups 200
MaxSessions 200
LogLevel INFO
""")

    def start(self) -> None:
        Path("/run/sshd").mkdir(exist_ok=True)
        log = (self.folder / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.folder / "sshd_config")],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Kill the server and every session it forked: transfers in flight break off.

        Sessions fork into process groups (and sessions) of their own, but stay descendants of this
        server: those are killed, not every process of the shared user (another server's)."""
        import psutil

        if self.process is not None:
            try:
                sessions = psutil.Process(self.process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                sessions = []
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            for session in sessions:
                with contextlib.suppress(psutil.NoSuchProcess):
                    session.kill()
            self.process.wait()
            self.process = None

    def make_folder(self, name: str) -> Path:
        """A folder the SFTP user owns, as a test's remote root."""
        folder = self.files / name
        folder.mkdir(parents=True, exist_ok=True)
        self.chown(folder)
        return folder

    def drop(self, folder: Path, name: str, content: bytes | str, age_seconds: float = 3600) -> Path:
        """A file as the partner (the SFTP user) leaves it on its server."""
        from tests.helpers import drop

        path = drop(folder, name, content, age_seconds)
        for item in [path, *path.parents]:
            if item == self.files:
                break
            os.chown(item, self.user.pw_uid, self.user.pw_gid)
        return path

    def chown(self, path: Path) -> None:
        for item in [path, *path.rglob("*")]:
            os.chown(item, self.user.pw_uid, self.user.pw_gid)

    def connection(self, auth: str = "password", host_key: str | None = "right", **extra: object) -> str:
        """An Airflow connection (JSON, for an AIRFLOW_CONN_* variable) to this server."""
        options: dict[str, object] = {**extra}
        if host_key == "right":
            options["host_key"] = self.host_key
        elif host_key == "wrong":
            options["host_key"] = self.other_host_key
        conn: dict[str, object] = {"conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": USER}
        if auth == "password":
            conn["password"] = self.password
        elif auth == "bad-password":
            conn["password"] = "not-" + self.password
        elif auth == "key":
            options["private_key"] = self.client_key.read_text()
        elif auth == "locked-key":
            options.update(private_key=self.locked_key.read_text(), private_key_passphrase=self.passphrase)
        options.setdefault("look_for_keys", "false")
        conn["extra"] = options
        return json.dumps(conn)


def start_server() -> SshServer:
    server = SshServer(Path(tempfile.mkdtemp(prefix="ih-sshd-")))
    server.start()
    return server


def remove_server(server: SshServer) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)
