"""``make demo`` end to end, in a temporary copy of the checkout with a home of its own: the first
invoices arrive, read and validated, and SIGTERM or SIGINT (Ctrl-C) to make's process group leaves
no process behind.

Every process the demo starts inherits a marker in its environment; after the stop none may be left
with it, whatever process group or session it moved to (Airflow's task processes change group).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.servers.sshd import free_port

pytestmark = pytest.mark.airflow

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ("Makefile", "pyproject.toml", "scripts", "dags", "plugins", "include")
MARKER = "INVOICE_HUB_TEST_DEMO_MARKER"
FIRST_INVOICE_TIMEOUT = 300  # s; a bound for a hung demo, not a measure: the time is printed


def marked(marker: str) -> dict[int, str]:
    """Every live process whose environment holds ``MARKER=marker``: pid -> command line."""
    needle = f"{MARKER}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = next(
                    (
                        line
                        for line in (entry / "status").read_text().splitlines()
                        if line.startswith("State:")
                    ),
                    "",
                )
                if "zombie" not in state:
                    found[int(entry.name)] = command.strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What ``make demo`` needs of the checkout, copied; the virtualenv is this one's (linked)."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in COPIED:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to(Path(sys.prefix))
    return copy


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_make_demo_delivers_validated_invoices_and_stopping_it_ends_every_process(
    checkout: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    marker = uuid.uuid4().hex
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "INVOICE_HUB"))}
    env.update(
        {
            MARKER: marker,
            "HOME": str(home),
            "PYTHONPATH": str(checkout / "plugins"),  # the copy's library, not the venv's editable one
            "INVOICE_HUB_DEMO_PORT": str(free_port()),
            "INVOICE_HUB_DEMO_SFTP_PORT": str(free_port()),
            # fixed defaults (8793, 8794) would clash with any other Airflow on this machine
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
    )
    inbox = checkout / ".demo" / "erp" / "inbox"
    output = (tmp_path / "make-demo.log").open("wb")
    began = time.monotonic()
    # `-o install`: the virtualenv exists, the test must not reinstall anything into it
    make = subprocess.Popen(
        ["make", "-o", "install", "demo"],
        cwd=checkout,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # make leads a process group, as in a terminal
    )
    try:
        unpaused = None
        while not (inbox.is_dir() and any(inbox.iterdir())):
            assert make.poll() is None, f"make demo exited {make.returncode}:\n{_tail(tmp_path)}"
            assert time.monotonic() - began < FIRST_INVOICE_TIMEOUT, f"no invoice yet:\n{_tail(tmp_path)}"
            if unpaused is None and "unpaused demo_" in (tmp_path / "make-demo.log").read_text():
                unpaused = time.monotonic() - began
            time.sleep(1)
        first = time.monotonic() - began
        print(
            f"`make demo`: DAGs unpaused (the API server answering) after {unpaused or first:.0f} s, "
            f"the first invoice in the ERP inbox after {first:.0f} s"
        )
        text = (tmp_path / "make-demo.log").read_text()
        assert text.index("the API server answers") < text.index("unpaused demo_supplier_inbound"), text
        assert "unpaused demo_sftp_partner_inbound" in text and "unpaused example_" not in text, text
        assert not list((checkout / ".demo" / "supplier" / "rejected").iterdir()), "demo invoices are valid"
        assert len(marked(marker)) > 5, "the demo's processes carry the marker"
        shown = _dashboard_rows(checkout, env["INVOICE_HUB_DEMO_PORT"], "demo_supplier_inbound")
        print(f"the Invoices page lists the demo's invoices after {time.monotonic() - began:.0f} s")
        assert shown and all(row["status"] in ("received", "delivered") for row in shown), shown

        os.killpg(make.pid, stop)  # what a terminal's Ctrl-C does too: SIGINT to the foreground group
        make.wait(timeout=90)
        # make exits at once; its recipe's shell goes on stopping the services: up to 20 s of TERM,
        # then KILL (scripts/demo.sh), slower on a loaded machine
        deadline = time.monotonic() + 60
        while marked(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = marked(marker)
        assert not left, (
            f"processes left after {stop.name} to make's process group: {left}\n{_tail(tmp_path)}"
        )
    finally:
        for pid in marked(marker):  # only what this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            make.wait(timeout=10)
        output.close()


def _dashboard_rows(checkout: Path, port: str, integration: str, timeout: float = 60) -> list[dict]:
    """The demo integration's transactions as the Invoices page's API lists them, logged in as the
    demo's admin (its generated password): waits until the first is there."""
    import json
    import urllib.request

    base = f"http://127.0.0.1:{port}"
    passwords = checkout / ".airflow" / "simple_auth_manager_passwords.json.generated"
    login = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps(
            {"username": "admin", "password": json.loads(passwords.read_text())["admin"]}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(login, timeout=30) as reply:
        token = json.load(reply)["access_token"]
    deadline = time.monotonic() + timeout
    while True:
        listing = urllib.request.Request(
            f"{base}/invoices/api/transactions?integration={integration}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(listing, timeout=30) as reply:
            rows = json.load(reply)["rows"]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def _tail(tmp_path: Path) -> str:
    demo = tmp_path / "checkout" / ".demo"
    parts = [(tmp_path / "make-demo.log").read_text(errors="replace")[-3000:]]
    for name in ("airflow.log", "partners.log"):
        path = demo / name
        if path.exists():
            parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
    return "\n".join(parts)
