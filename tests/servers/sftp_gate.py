"""An OpenSSH SFTP server that a test can stop in the middle of an upload, for the kill tests.

sshd runs this file (with the system's ``/usr/bin/python3``, as the SFTP user) as its ``sftp``
subsystem: it starts OpenSSH's own ``sftp-server`` and passes the client's requests through to it,
the replies going straight back. While the gate is closed (:meth:`GatedSshServer.hold`), the session
lets ``after`` renames through (``after`` uploads complete) and then stops reading its client at the
next one: the uploads behind it stay temporary files, the client waits for answers that never come.
A kill test can then kill the client mid-delivery at a known point, however fast the machine is.
The stalled sessions note their process ids in the gate folder; :meth:`GatedSshServer.open` ends them
(as a dead client's TCP connection would: what it sent after the stall never arrives) and lets new
sessions through unhindered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SFTP_SERVER = "/usr/lib/openssh/sftp-server"
SSH_FXP_RENAME = 18
HOLD = "hold"  # the gate file: the number of renames a session lets through
STALLED = "stalled."  # + a stalled session's pid


def _read(count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = os.read(0, count - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def relay(gate: Path) -> None:
    """Pass the client's SFTP packets to sftp-server, stalling at the gate (see the module)."""
    server = subprocess.Popen([SFTP_SERVER], stdin=subprocess.PIPE)
    assert server.stdin is not None
    renames = 0
    while header := _read(4):
        body = _read(int.from_bytes(header, "big"))
        if body[:1] == bytes([SSH_FXP_RENAME]):
            renames += 1
            hold = gate / HOLD
            if hold.exists() and renames > int(hold.read_text() or 0):
                (gate / f"{STALLED}{os.getpid()}").write_text("")
                while hold.exists():
                    time.sleep(0.05)
        server.stdin.write(header + body)
        server.stdin.flush()
    server.stdin.close()
    server.wait()


class GatedSshServer:
    """An :class:`SshServer` whose SFTP sessions pass through :func:`relay` (a server of its own:
    the session-wide test sshd stays as it is)."""

    def __init__(self) -> None:
        from tests.servers.sshd import SshServer

        # not below a test's tmp_path: the SFTP user must reach its authorized_keys and the gate
        folder = Path(tempfile.mkdtemp(prefix="ih-gated-sshd-"))
        self.server = SshServer(folder)
        self.gate = folder / "gate"
        self.gate.mkdir(mode=0o755)
        os.chown(self.gate, self.server.user.pw_uid, self.server.user.pw_gid)  # the sessions write there
        script = folder / "sftp_gate.py"
        script.write_text(Path(__file__).read_text())
        script.chmod(0o644)
        config = folder / "sshd_config"
        config.write_text(
            config.read_text().replace(
                "Subsystem sftp internal-sftp", f"Subsystem sftp /usr/bin/python3 {script} {self.gate}"
            )
        )

    def hold(self, after: int) -> None:
        """Close the gate: each new session stalls at its ``after + 1``-th rename."""
        (self.gate / HOLD).write_text(str(after))

    def stalled(self) -> list[int]:
        """The process ids of the sessions stalled at the gate now."""
        return [int(path.name[len(STALLED) :]) for path in self.gate.glob(f"{STALLED}*")]

    def open(self) -> None:
        """End the stalled sessions (their clients are gone) and let every new session through."""
        for pid in self.stalled():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            (self.gate / f"{STALLED}{pid}").unlink()
        (self.gate / HOLD).unlink(missing_ok=True)

    def remove(self) -> None:
        from tests.servers.sshd import remove_server

        self.open()
        remove_server(self.server)


if __name__ == "__main__":
    relay(Path(sys.argv[1]))
