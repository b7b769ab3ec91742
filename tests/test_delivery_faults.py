"""Exactly once under faults, against real servers: a destination's disk full during a replace
upload (a 1 MB tmpfs), the ledger's PostgreSQL stopped mid-send, a worker SIGKILLed mid-send and
mid-delivery. Each case runs the delivery library as a task would, then its retry."""

from __future__ import annotations

import collections
import contextlib
import errno
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.exchange.deliver import deliver_files, delivery_id
from invoice_hub.ledger import database
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.status import DeliveryStatus
from invoice_hub.ledger.store import Ledger
from invoice_hub.ledger.tables import Delivery
from invoice_hub.staging import Staging
from invoice_hub.transports import TransportError, open_transport
from invoice_hub.transports.email import message_id
from tests.delivery_helpers import integration, staged_entries, start_worker, worker_log
from tests.helpers import drop, files_in
from tests.servers.mail_http import SmtpServer
from tests.servers.sshd import SshServer, free_port


@pytest.fixture
def sftp_key_conn(sftp_conn: str, sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``partner_sftp`` logging in with a key: a test session running beside this one resets the
    test user's password."""
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(auth="key"))
    return sftp_conn


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return Staging("exchange", "run-1", base_url=(tmp_path / "staging").as_uri())


def statuses(ledger: Ledger) -> dict[str, str]:
    with Session(ledger.engine) as session:
        return {d.output_name: d.status for d in session.scalars(select(Delivery))}


# --- disk full --------------------------------------------------------------------------------
@pytest.fixture
def small_disk() -> Iterator[Callable[[Path], Path]]:
    """``small_disk(folder)`` mounts a 1 MB tmpfs on ``folder`` (unmounted after the test)."""
    mounted: list[Path] = []

    def mount(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system is full."""
    filler = folder / ".filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(descriptor)
    return filler


OLD, NEW = b"<Invoice>old</Invoice>" * 1000, b"<Invoice>new</Invoice>" * 1000  # same size


def replace_on_full_disk(ledger: Ledger, tmp_path: Path, staging: Staging, hub, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Deliver over an old file of the same size on a full disk, twice; then with space back."""
    filler = fill(out)
    deliver = lambda: deliver_files(  # noqa: E731 - one delivery task, as Airflow would retry it
        ledger,
        hub,
        staged_entries(staging, {"INV-1.xml": NEW}),
        "run-1",
        lambda d: open_transport(d, tmp_path),
    )
    for _attempt in range(2):  # a retry while the disk is still full must not take the old file
        with pytest.raises(TransportError) as raised:
            deliver()
        assert raised.value.retryable
        assert (out / "INV-1.xml").read_bytes() == OLD, "the old file stays whole"
        assert statuses(ledger) == {"INV-1.xml": DeliveryStatus.PENDING}, "not recorded as delivered"
    filler.unlink()  # space is back
    deliver()
    assert (out / "INV-1.xml").read_bytes() == NEW
    assert statuses(ledger) == {"INV-1.xml": DeliveryStatus.DELIVERED}
    assert files_in(out) == ["INV-1.xml"], "no temporary file left"


def test_disk_full_during_a_local_replace_upload(
    tmp_path: Path, staging: Staging, small_disk: Callable[[Path], Path]
) -> None:
    out = small_disk(tmp_path / "out")
    drop(out, "INV-1.xml", OLD)
    hub = integration({"type": "local", "path": str(out), "if_exists": "replace"})
    replace_on_full_disk(
        Ledger(get_engine(f"sqlite:///{tmp_path / 'ledger.db'}")), tmp_path, staging, hub, out
    )


def test_disk_full_during_an_sftp_replace_upload(
    tmp_path: Path,
    staging: Staging,
    small_disk: Callable[[Path], Path],
    sshd: SshServer,
    sftp_key_conn: str,
    remote: Path,
) -> None:
    out = small_disk(remote / "out")
    sshd.chown(out)
    sshd.drop(out, "INV-1.xml", OLD)
    hub = integration({"type": "sftp", "conn_id": sftp_key_conn, "path": str(out), "if_exists": "replace"})
    replace_on_full_disk(
        Ledger(get_engine(f"sqlite:///{tmp_path / 'ledger.db'}")), tmp_path, staging, hub, out
    )


# --- the ledger's database stopped mid-send -----------------------------------------------------
class PrivatePostgres:
    """A PostgreSQL of the test's own (initdb + pg_ctl, as the postgres user) that it may stop."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = Path(bins[-1])
        self.folder = Path(tempfile.mkdtemp(prefix="ih-pg-"))  # not under tmp_path: postgres must reach it
        shutil.chown(self.folder, "postgres", "postgres")
        self.data, self.port = self.folder / "data", free_port()
        self._as_postgres(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: object) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, command)], check=True, capture_output=True
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.folder / "log"
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    engine = database._engines.pop(server.url, None)
    if engine is not None:
        engine.dispose()
    server.remove()


def email_integration():  # type: ignore[no-untyped-def]
    return integration(
        {
            "type": "email",
            "conn_id": "partner_smtp",
            "to": ["ap@customer.example"],
            "subject": "Invoice {name}",
        }
    )


INVOICES = {f"INV-{n}.xml": f"<Invoice>{n}</Invoice>".encode() for n in range(1, 6)}


def assert_each_mailed_once_but(smtpd: SmtpServer, hub, staging: Staging, repeated: str) -> None:  # type: ignore[no-untyped-def]
    """Every invoice arrived; ``repeated`` (the one in flight at the crash) twice, with one Message-ID."""
    subjects = collections.Counter(m["Subject"] for m in smtpd.messages)
    assert subjects == {f"Invoice {name}": 2 if name == repeated else 1 for name in INVOICES}
    key = "email:partner_smtp:ap@customer.example"
    expected = {
        f"Invoice {e.outputs[0].name}": message_id(delivery_id(hub.name, key, e.outputs[0].key))
        for e in staged_entries(staging, INVOICES)
    }
    for message in smtpd.messages:
        assert message["Message-ID"] == expected[message["Subject"]], "the same id on every attempt"


def test_ledger_stopped_mid_send_resends_only_the_message_in_flight(
    private_postgres: PrivatePostgres,
    smtpd: SmtpServer,
    staging: Staging,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", private_postgres.url)
    ledger = Ledger()  # through the documented connection
    hub = email_integration()
    receive = smtpd.inbox.handle_DATA

    async def stop_the_ledger_after_the_first(server, session, envelope):  # type: ignore[no-untyped-def]
        answer = await receive(server, session, envelope)
        if len(smtpd.messages) == 1:
            private_postgres.stop()  # before the hub hears 250 and records the send
        return answer

    monkeypatch.setattr(smtpd.inbox, "handle_DATA", stop_the_ledger_after_the_first)
    send = lambda: deliver_files(  # noqa: E731 - the deliver task; its retry pulls the same manifest
        ledger, hub, staged_entries(staging, INVOICES), "run-1", lambda d: open_transport(d, tmp_path)
    )

    with pytest.raises(Exception, match=r"(?i)connect|server|terminat|closed"):
        send()
    assert len(smtpd.messages) == 1, "nothing is sent once the ledger cannot note it"

    private_postgres.start()
    send()

    assert_each_mailed_once_but(smtpd, hub, staging, repeated="INV-1.xml")
    assert set(statuses(ledger).values()) == {DeliveryStatus.DELIVERED}


# --- a worker killed -----------------------------------------------------------------------------
def test_worker_killed_mid_send_resends_only_the_message_in_flight(
    ledger_db: str, smtpd: SmtpServer, staging: Staging, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = email_integration()
    receive = smtpd.inbox.handle_DATA
    worker: dict[str, subprocess.Popen] = {}

    async def kill_the_worker_at_the_third(server, session, envelope):  # type: ignore[no-untyped-def]
        answer = await receive(server, session, envelope)
        if len(smtpd.messages) == 3:
            os.kill(worker["process"].pid, signal.SIGKILL)  # received, not yet acknowledged
        return answer

    monkeypatch.setattr(smtpd.inbox, "handle_DATA", kill_the_worker_at_the_third)
    worker["process"] = start_worker(tmp_path, hub, staged_entries(staging, INVOICES))
    assert worker["process"].wait(timeout=120) == -signal.SIGKILL

    retry = start_worker(tmp_path, hub, staged_entries(staging, INVOICES))
    assert retry.wait(timeout=120) == 0, worker_log(tmp_path)

    assert_each_mailed_once_but(smtpd, hub, staging, repeated="INV-3.xml")
    assert set(statuses(Ledger(get_engine(ledger_db))).values()) == {DeliveryStatus.DELIVERED}


def test_worker_killed_mid_delivery_to_a_folder(ledger_db: str, staging: Staging, tmp_path: Path) -> None:
    """Killed between writing the 4th upload's temporary file and renaming it, uploads 1-3 complete
    but not recorded: the retry proves 1-3 by content, removes the temporary, uploads 4-8 once."""
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out)})
    invoices = {f"INV-{n}.xml": f"<Invoice>{n}</Invoice>".encode() for n in range(1, 9)}

    killed = start_worker(tmp_path, hub, staged_entries(staging, invoices), hook="kill-before-rename:4")
    assert killed.wait(timeout=120) == -signal.SIGKILL
    assert len([name for name in os.listdir(out) if name.endswith(".part")]) == 1

    retry = start_worker(tmp_path, hub, staged_entries(staging, invoices))
    assert retry.wait(timeout=120) == 0, worker_log(tmp_path)

    assert files_in(out) == sorted(invoices), "one file per output, nothing else"
    assert all((out / name).read_bytes() == content for name, content in invoices.items())
    assert statuses(Ledger(get_engine(ledger_db))) == dict.fromkeys(invoices, DeliveryStatus.DELIVERED)


def test_worker_killed_mid_delivery_to_sftp(
    ledger_db: str, staging: Staging, tmp_path: Path, sshd: SshServer, sftp_key_conn: str, remote: Path
) -> None:
    """SIGKILLed by the test (watching the server's folder) once 40 of 300 uploads are there and
    another is in flight as a temporary file: the retry leaves exactly one file per output and no
    temporary file."""
    out = remote / "out"
    hub = integration({"type": "sftp", "conn_id": sftp_key_conn, "path": str(out)})
    invoices = {f"INV-{n:03d}.xml": f"<Invoice>{n}</Invoice>".encode() * 50 for n in range(300)}
    process = start_worker(tmp_path, hub, staged_entries(staging, invoices))

    def kill_after_40() -> None:
        # Both conditions on one listing: between two uploads no temporary file exists, and a kill
        # there would leave the retry nothing to clean up (seen once in CI).
        while process.poll() is None:
            with contextlib.suppress(FileNotFoundError):
                listing = os.listdir(out)
                in_flight = any(name.endswith(".part") for name in listing)
                if in_flight and sum(not name.startswith(".") for name in listing) >= 40:
                    process.kill()
                    return
            time.sleep(0.002)

    watcher = threading.Thread(target=kill_after_40)
    watcher.start()
    assert process.wait(timeout=120) == -signal.SIGKILL, worker_log(tmp_path)
    watcher.join()
    left = os.listdir(out)
    assert sum(not name.startswith(".") for name in left) < len(invoices), "killed before the end"
    assert any(name.endswith(".part") for name in left), "uploads in flight left temporary files"

    retry = start_worker(tmp_path, hub, staged_entries(staging, invoices))
    assert retry.wait(timeout=120) == 0, worker_log(tmp_path)

    assert files_in(out) == sorted(invoices), "one file per output, nothing else"
    assert all((out / name).read_bytes() == content for name, content in invoices.items())
    assert statuses(Ledger(get_engine(ledger_db))) == dict.fromkeys(invoices, DeliveryStatus.DELIVERED)


def test_worker_killed_mid_send_over_http_repeats_at_most_one_request_with_its_key(
    ledger_db: str, httpd, staging: Staging, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Killed by the server when the third POST arrived, before it is answered: the retry sends at
    most that one again, with the same Idempotency-Key, so a receiver honouring it books each
    invoice once."""
    hub = integration({"type": "http", "conn_id": "partner_http", "path": "/api/invoices"})
    worker: dict = {}

    def kill_at_the_third(request: dict) -> None:
        if len(httpd.requests) == 3:
            worker["process"].kill()  # received, not yet acknowledged

    httpd.on_request = kill_at_the_third
    worker["process"] = process = start_worker(tmp_path, hub, staged_entries(staging, INVOICES))
    assert process.wait(timeout=120) == -signal.SIGKILL, worker_log(tmp_path)
    httpd.on_request = None
    assert len(httpd.requests) == 3
    retry = start_worker(tmp_path, hub, staged_entries(staging, INVOICES))
    assert retry.wait(timeout=120) == 0, worker_log(tmp_path)

    keys = [{k.lower(): v for k, v in r["headers"].items()}["idempotency-key"] for r in httpd.requests]
    booked = {key: request["body"] for key, request in zip(keys, httpd.requests, strict=True)}
    assert sorted(booked.values()) == sorted(INVOICES.values()), "each invoice booked once by its key"
    assert len(httpd.requests) <= len(INVOICES) + 1, "at most the request in flight is repeated"
    assert all(request["body"] == booked[key] for key, request in zip(keys, httpd.requests, strict=True)), (
        "a repeat carries the key of the same invoice"
    )
    assert set(statuses(Ledger(get_engine(ledger_db))).values()) == {DeliveryStatus.DELIVERED}
