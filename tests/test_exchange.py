"""The library of fetch and deliver without Airflow: a ledger (SQLite and PostgreSQL), a
LocalTransport, a Staging on a tmp folder; the crash cases each as the ledger and the destination
are left by it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.exchange.deliver import deliver_files, delivery_id
from invoice_hub.exchange.fetch import fetch_files
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.status import DeliveryStatus, FileStatus
from invoice_hub.ledger.store import Ledger
from invoice_hub.ledger.tables import Delivery
from invoice_hub.manifest import Candidate
from invoice_hub.staging import Staging
from invoice_hub.transports import TransportError, open_transport
from invoice_hub.transports.local import LocalTransport
from tests.delivery_helpers import integration, staged_entries
from tests.helpers import drop, files_in


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    return Ledger(get_engine(ledger_url))


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return Staging("exchange", "run-1", base_url=(tmp_path / "staging").as_uri())


def deliver(ledger: Ledger, tmp_path: Path, hub, entries, run_id: str = "run-1") -> None:  # type: ignore[no-untyped-def]
    deliver_files(ledger, hub, entries, run_id, lambda d: open_transport(d, tmp_path))


def rows(ledger: Ledger) -> dict[str, tuple[str, str | None]]:
    with Session(ledger.engine) as session:
        return {d.output_name: (d.status, d.remote_path) for d in session.scalars(select(Delivery))}


def destination_key(out: Path) -> str:
    return f"local:{out}"


def test_each_output_is_delivered_once_and_a_rerun_delivers_nothing(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out)})
    entries = staged_entries(staging, {"INV-1.xml": b"<a/>", "INV-2.xml": b"<b/>"})
    deliver(ledger, tmp_path, hub, entries)
    assert [e.status for e in entries] == ["delivered", "delivered"]
    assert files_in(out) == ["INV-1.xml", "INV-2.xml"]
    assert entries[0].outputs[0].delivered_to == {"destinations.0": str(out / "INV-1.xml")}

    again = staged_entries(staging, {"INV-1.xml": b"<a/>", "INV-2.xml": b"<b/>"})
    deliver(ledger, tmp_path, hub, again, run_id="run-2")  # after a crash before archive: a new run
    assert files_in(out) == ["INV-1.xml", "INV-2.xml"], "recorded deliveries are not made again"
    assert all(status == DeliveryStatus.DELIVERED for status, _ in rows(ledger).values())


def pending(ledger: Ledger, hub, out: Path, entry, remote: Path) -> None:  # type: ignore[no-untyped-def]
    """The ledger as a crash between noting an upload and recording it leaves it."""
    output = entry.outputs[0]
    ledger.start_delivery(hub.name, destination_key(out), output.key, output.name, str(remote), "run-0", None)


def test_a_pending_replace_is_not_confirmed_by_an_old_file_of_the_same_size(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    """The disk-full case as the ledger sees it: the upload was noted, it failed, the old file of the
    same size is still at the target. Confirming by size took it as delivered."""
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out), "if_exists": "replace"})
    (entry,) = staged_entries(staging, {"INV-1.xml": b"new content"})
    drop(out, "INV-1.xml", b"old content")  # same size
    pending(ledger, hub, out, entry, out / "INV-1.xml")

    deliver(ledger, tmp_path, hub, [entry])

    assert (out / "INV-1.xml").read_bytes() == b"new content"
    assert rows(ledger)["INV-1.xml"] == (DeliveryStatus.DELIVERED, str(out / "INV-1.xml"))


def test_a_pending_upload_that_completed_is_recorded_by_content_without_uploading_again(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out)})  # unique
    (entry,) = staged_entries(staging, {"INV-1.xml": b"<Invoice>1</Invoice>"})
    target = drop(out, "INV-1.xml", b"<Invoice>1</Invoice>")  # the upload completed, its record did not
    before = os.stat(target).st_ino
    pending(ledger, hub, out, entry, target)

    deliver(ledger, tmp_path, hub, [entry])

    assert files_in(out) == ["INV-1.xml"], "not INV-1_1.xml: the file there is proven to be ours"
    assert os.stat(target).st_ino == before, "not uploaded again"
    assert rows(ledger)["INV-1.xml"] == (DeliveryStatus.DELIVERED, str(target))


def test_a_pending_unique_target_holding_other_content_is_not_ours(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    """Noted, crashed before uploading, then someone else wrote the name (same size): not ours."""
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out)})
    (entry,) = staged_entries(staging, {"INV-1.xml": b"ours"})
    drop(out, "INV-1.xml", b"them")
    pending(ledger, hub, out, entry, out / "INV-1.xml")

    deliver(ledger, tmp_path, hub, [entry])

    assert (out / "INV-1.xml").read_bytes() == b"them", "another writer's file is never overwritten"
    assert (out / "INV-1_1.xml").read_bytes() == b"ours"
    assert rows(ledger)["INV-1.xml"] == (DeliveryStatus.DELIVERED, str(out / "INV-1_1.xml"))


def test_temporary_files_a_killed_upload_left_are_removed(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out)})
    (entry,) = staged_entries(staging, {"INV-1.xml": b"<Invoice>1</Invoice>"})
    drop(out, ".INV-1.xml.0badc0de.part", b"<Invoice>")  # killed while writing
    drop(out, ".other.xml.0badc0de.part", b"not ours")  # another output's: not this delivery's to remove
    pending(ledger, hub, out, entry, out / "INV-1.xml")

    deliver(ledger, tmp_path, hub, [entry])

    assert files_in(out) == [".other.xml.0badc0de.part", "INV-1.xml"]


def test_one_files_permanent_error_fails_that_file_only(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    """A name taken with if_exists: fail, and a name the file system refuses (a NUL byte raises
    ValueError, not a TransportError): those two fail, the others are delivered."""
    out = tmp_path / "out"
    hub = integration({"type": "local", "path": str(out), "if_exists": "fail"})
    drop(out, "taken.xml", b"someone else's")
    entries = staged_entries(
        staging, {"INV-1.xml": b"1", "taken.xml": b"2", "bad\x00name.xml": b"3", "INV-4.xml": b"4"}
    )

    deliver(ledger, tmp_path, hub, entries)

    assert [e.status for e in entries] == ["delivered", "failed", "failed", "delivered"]
    assert entries[1].reason_code == "deliver.target_exists" and "if_exists" in (entries[1].reason or "")
    assert entries[2].reason_code == "deliver.refused" and "null byte" in (entries[2].reason or "")
    assert files_in(out) == ["INV-1.xml", "INV-4.xml", "taken.xml"]


def test_a_retryable_error_raises_after_every_other_output_was_tried(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    good, broken = tmp_path / "good", tmp_path / "broken"
    broken.write_text("a file where the destination folder should be")
    hub = integration({"type": "local", "path": str(broken)}, {"type": "local", "path": str(good)})
    entries = staged_entries(staging, {"INV-1.xml": b"1", "INV-2.xml": b"2"})

    with pytest.raises(TransportError) as raised:
        deliver(ledger, tmp_path, hub, entries)

    assert raised.value.retryable
    assert files_in(good) == ["INV-1.xml", "INV-2.xml"], "the other destination got everything"
    broken.unlink()
    deliver(ledger, tmp_path, hub, entries)  # the retry
    assert files_in(broken) == ["INV-1.xml", "INV-2.xml"] and files_in(good) == ["INV-1.xml", "INV-2.xml"]
    assert [e.status for e in entries] == ["delivered", "delivered"]


def test_http_sends_carry_the_stable_id_noted_before_sending(
    ledger: Ledger, staging: Staging, tmp_path: Path, httpd
) -> None:  # type: ignore[no-untyped-def]
    """A send noted but not recorded (the worker died after the POST) goes again with the same key."""
    hub = integration({"type": "http", "conn_id": "partner_http", "path": "/api/invoices"})
    (entry,) = staged_entries(staging, {"INV-1.xml": b"<Invoice>1</Invoice>"})
    key = "http:partner_http:/api/invoices"
    output = entry.outputs[0]
    expected = delivery_id(hub.name, key, output.key)
    ledger.start_delivery(
        hub.name, key, output.key, output.name, "/api/invoices/INV-1.xml", "run-0", None, expected
    )

    deliver(ledger, tmp_path, hub, [entry])

    (request,) = httpd.requests
    assert {k.lower(): v for k, v in request["headers"].items()}["idempotency-key"] == expected
    with Session(ledger.engine) as session:
        row = session.scalars(select(Delivery)).one()
    assert (row.status, row.delivery_id) == (DeliveryStatus.DELIVERED, expected)


def test_fetch_stages_hashes_and_registers_each_file_once(
    ledger: Ledger, staging: Staging, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    files = [drop(inbox, f"INV-{n}.xml", f"<Invoice>{n}</Invoice>") for n in (1, 2)]
    candidates = [Candidate(path=str(p), size=p.stat().st_size, mtime=p.stat().st_mtime) for p in files]
    fetch = lambda: fetch_files(  # noqa: E731
        ledger, LocalTransport(tmp_path), staging, candidates, integration="exchange", run_id="run-1"
    )

    entries = fetch()

    assert [e.status for e in entries] == ["fetched", "fetched"]
    assert entries[0].sha256 == hashlib.sha256(b"<Invoice>1</Invoice>").hexdigest()
    assert Path(entries[0].staged_url.removeprefix("file://")).read_bytes() == b"<Invoice>1</Invoice>"
    assert [e.file_id for e in fetch()] == [e.file_id for e in entries], "a retried fetch finds its rows"

    ledger.close_files([e.file_id for e in entries], FileStatus.SUCCEEDED, {})
    copy = drop(inbox, "INV-1-again.xml", "<Invoice>1</Invoice>")
    (duplicate,) = fetch_files(
        ledger,
        LocalTransport(tmp_path),
        staging,
        [Candidate(path=str(copy), size=copy.stat().st_size, mtime=copy.stat().st_mtime)],
        integration="exchange",
        run_id="run-2",
    )
    assert duplicate.status == "duplicate" and str(files[0]) in (duplicate.reason or "")


@pytest.mark.parametrize("content", [b"<Invoice>1</Invoice>", b"<Invoice>X</Invoice>"], ids=["same", "other"])
def test_ftp_confirms_a_pending_delivery_by_the_servers_hash_without_downloading(
    ledger: Ledger, staging: Staging, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    """A server offering HASH (SHA-256) proves or refutes the noted file without a download."""
    from tests.servers.ftpd import FtpServer

    root = tmp_path / "ftp-root"
    root.mkdir()
    server = FtpServer(root, "plain", hash_command=True)
    server.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_PARTNER_FTP", server.connection())
        hub = integration({"type": "ftp", "conn_id": "partner_ftp", "path": "/out"})
        (entry,) = staged_entries(staging, {"INV-1.xml": b"<Invoice>1</Invoice>"})
        drop(root / "out", "INV-1.xml", content)  # the earlier attempt's upload, or another writer's file
        output = entry.outputs[0]
        ledger.start_delivery(
            hub.name, "ftp:partner_ftp:/out", output.key, output.name, "/out/INV-1.xml", "r0", None
        )

        deliver(ledger, tmp_path, hub, [entry])
    finally:
        server.stop()

    assert server.handler.downloads == 0, "proven by the server's hash, not by reading the file back"
    delivered = {"INV-1.xml"} if content == b"<Invoice>1</Invoice>" else {"INV-1.xml", "INV-1_1.xml"}
    assert set(files_in(root / "out")) == delivered
    assert (root / "out" / max(delivered)).read_bytes() == b"<Invoice>1</Invoice>"
    assert [status for status, _ in rows(ledger).values()] == [DeliveryStatus.DELIVERED]


def test_a_name_no_http_header_can_carry_fails_that_file_only(
    ledger: Ledger, staging: Staging, tmp_path: Path, httpd
) -> None:  # type: ignore[no-untyped-def]
    """requests refuses a CR/LF in a header (InvalidHeader, a RequestException): that was taken as
    a network error and retried forever, the whole task with it."""
    hub = integration({"type": "http", "conn_id": "partner_http", "path": "/api/invoices"})
    entries = staged_entries(
        staging, {"INV-1.xml": b"1", "INV\r\nX-Injected: yes.xml": b"2", "INV-3.xml": b"3"}
    )

    deliver(ledger, tmp_path, hub, entries)

    assert [e.status for e in entries] == ["delivered", "failed", "delivered"]
    assert entries[1].reason_code == "deliver.refused" and "header" in (entries[1].reason or "")
    assert [r["body"] for r in httpd.requests] == [b"1", b"3"]


def test_a_refused_login_fails_the_destination_not_its_files(
    ledger: Ledger, staging: Staging, tmp_path: Path, sshd, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A login refused concerns every file: none is failed (sent to on_failure) for it, the other
    destination is served, and the task fails without retries (a person must fix the connection)."""
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(auth="bad-password"))
    good = tmp_path / "good"
    hub = integration(
        {"type": "sftp", "conn_id": "partner_sftp", "path": "/out"}, {"type": "local", "path": str(good)}
    )
    entries = staged_entries(staging, {"INV-1.xml": b"1", "INV-2.xml": b"2"})

    with pytest.raises(TransportError, match="login refused") as raised:
        deliver(ledger, tmp_path, hub, entries)

    assert not raised.value.retryable
    assert [e.status for e in entries] == ["transformed", "transformed"], "no file failed for it"
    assert files_in(good) == ["INV-1.xml", "INV-2.xml"]


def test_a_name_no_mail_header_can_carry_fails_that_file_only(
    ledger: Ledger, staging: Staging, tmp_path: Path, smtpd
) -> None:  # type: ignore[no-untyped-def]
    """The subject and attachment name carry the file name; with a CR/LF in it the mail library
    refuses the message (HeaderParseError, not an SMTP error): that file fails, the others go."""
    hub = integration({"type": "email", "conn_id": "partner_smtp", "to": ["ap@customer.example"]})
    entries = staged_entries(
        staging, {"INV-1.xml": b"1", "INV\r\nBcc: x@evil.example.xml": b"2", "INV-3.xml": b"3"}
    )

    deliver(ledger, tmp_path, hub, entries)

    assert [e.status for e in entries] == ["delivered", "failed", "delivered"]
    assert entries[1].reason_code == "deliver.refused"
    assert sorted(m["Subject"] for m in smtpd.messages) == ["Invoice INV-1.xml", "Invoice INV-3.xml"]
    assert all(m["X-Envelope-To"] == "ap@customer.example" for m in smtpd.messages)


def test_sftp_connections_prefer_aes_gcm(sshd, sftp_conn: str) -> None:  # type: ignore[no-untyped-def]
    """chacha20-poly1305 (asyncssh's first choice) cost a quarter of the hub's CPU per small file."""
    import asyncio

    from invoice_hub.hooks.sftp import HubSftpHookAsync

    async def cipher() -> str:
        async with await HubSftpHookAsync(sftp_conn_id=sftp_conn)._get_conn() as connection:
            return connection.get_extra_info("send_cipher")

    assert asyncio.run(cipher()) == "aes128-gcm@openssh.com"
