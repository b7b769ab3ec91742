"""Nothing outside the source folder is ever read: links that lead out of a local source folder, a file
swapped for such a link between listing and reading, listed paths outside the folder (a hostile server,
an attachment called ``..``)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.config.models import LocalSource
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import SourceFile
from invoice_hub.transports import TransportError
from invoice_hub.transports.base import RemoteFile
from invoice_hub.transports.local import LocalTransport
from invoice_hub.transports.selection import confine, find_candidates
from tests.helpers import drop, files_in, load_dag, run_dag, write
from tests.servers.dovecot import DovecotServer

SECRET = b"<Invoice>not the partner's: outside the share</Invoice>"


@pytest.fixture
def share(tmp_path: Path) -> Path:
    """A source folder with a real file, a link inside it, and links out of it (to a file, to a folder)."""
    inbox = tmp_path / "share" / "inbox"
    drop(inbox, "INV-1.xml", "<Invoice>1</Invoice>")
    drop(inbox / "sub", "INV-2.xml", "<Invoice>2</Invoice>")
    outside = drop(tmp_path / "private", "secret.xml", SECRET)
    (inbox / "leak.xml").symlink_to(outside)
    (inbox / "sub" / "relative-leak.xml").symlink_to("../../../private/secret.xml")
    (inbox / "alias.xml").symlink_to(inbox / "INV-1.xml")  # points inside: read as INV-1.xml
    (inbox / "private-folder").symlink_to(tmp_path / "private")  # a folder outside: never listed
    (inbox / "sub-again").symlink_to(inbox / "sub")  # a folder inside: not followed (no double listing)
    return inbox


def test_links_out_of_the_source_folder_are_not_listed_and_are_reported(share: Path) -> None:
    transport = LocalTransport(share.parent, root=str(share))
    files = transport.list_files(str(share), recursive=True)
    assert sorted(os.path.relpath(f.path, share) for f in files) == [
        "INV-1.xml",
        "alias.xml",
        "sub/INV-2.xml",
    ]
    alias = next(f for f in files if f.name == "alias.xml")
    assert alias.size == len(b"<Invoice>1</Invoice>")
    notices = transport.notices_after_selection(files)
    assert any(
        f"{share / 'leak.xml'} is a link to" in n and "outside the source folder" in n for n in notices
    )
    assert any("relative-leak.xml" in n and "outside the source folder" in n for n in notices)
    assert any("private-folder" in n and "outside" in n for n in notices)
    assert any("sub-again" in n and "not followed" in n for n in notices)
    assert all("stays where it is" in n for n in notices)


def test_a_file_swapped_for_a_link_after_listing_is_not_read(share: Path, tmp_path: Path) -> None:
    transport = LocalTransport(share.parent, root=str(share))
    (listed,) = [f for f in transport.list_files(str(share), recursive=False) if f.name == "INV-1.xml"]
    os.remove(listed.path)
    os.symlink(tmp_path / "private" / "secret.xml", listed.path)  # the race: swapped after listing
    sink = io.BytesIO()
    with pytest.raises(TransportError, match="outside the source folder") as raised:
        transport.download(listed.path, sink)
    assert raised.value.retryable is False
    assert sink.getvalue() == b""


def test_a_folder_swapped_for_a_link_after_listing_is_not_read(share: Path, tmp_path: Path) -> None:
    transport = LocalTransport(share.parent, root=str(share))
    (listed,) = [f for f in transport.list_files(str(share), recursive=True) if f.name == "INV-2.xml"]
    os.rename(share / "sub", tmp_path / "moved-away")
    drop(tmp_path / "private" / "decoy", "INV-2.xml", SECRET)
    os.symlink(tmp_path / "private" / "decoy", share / "sub")
    with pytest.raises(TransportError, match="outside the source folder"):
        transport.download(listed.path, io.BytesIO())


def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(share: Path) -> None:
    transport = LocalTransport(share.parent, root=str(share))
    os.remove(share / "INV-1.xml")
    os.mkfifo(share / "INV-1.xml")
    with pytest.raises(TransportError, match="not a regular file"):
        transport.download(str(share / "INV-1.xml"), io.BytesIO())


def test_a_link_inside_the_folder_is_read_as_its_target(share: Path) -> None:
    sink = io.BytesIO()
    LocalTransport(share.parent, root=str(share)).download(str(share / "alias.xml"), sink)
    assert sink.getvalue() == b"<Invoice>1</Invoice>"


@pytest.mark.parametrize(
    "path",
    [
        "/outbox/../etc/passwd",  # a name with .. from the server
        "/etc/passwd",  # an absolute name: posixpath.join(folder, "/etc/passwd") drops the folder
        "/outbox//x.xml",
        "/outbox/./x.xml",
        "/outbox-other/x.xml",  # a sibling that merely starts with the same letters
        "/INBOX/message-id/..",  # an attachment called ".."
    ],
)
def test_listed_paths_outside_the_root_are_refused(path: str) -> None:
    inside, notices = confine([RemoteFile("/outbox/ok.xml", 1, 0.0), RemoteFile(path, 1, 0.0)], "/outbox")
    assert [f.path for f in inside] == ["/outbox/ok.xml"]
    (notice,) = notices
    assert repr(path) in notice and "outside the source folder /outbox" in notice


def test_find_candidates_keeps_only_the_files_inside(share: Path) -> None:
    source = LocalSource(type="local", path=str(share), recursive=True, pattern="*.xml")
    with LocalTransport(share.parent, root=source.path) as transport:
        found = find_candidates(transport, source, time.time())
    assert sorted(f.name for f in found.candidates) == ["INV-1.xml", "INV-2.xml", "alias.xml"]
    assert any("leak.xml" in n for n in found.notices)


INTEGRATION = """
name: share_inbound
source:
  type: local
  path: {inbox}
  recursive: true
  on_success: delete
  on_failure: {{move_to: {root}/rejected}}
destinations:
  - type: local
    path: {root}/partner
"""


@pytest.mark.usefixtures("airflow_db", "staging_url")
def test_a_dag_run_never_delivers_a_file_outside_the_share(
    share: Path, tmp_path: Path, integrations_dir: Path, ledger_db: str, capfd: pytest.CaptureFixture[str]
) -> None:
    write(integrations_dir / "share_inbound.yaml", INTEGRATION.format(inbox=share, root=tmp_path))
    state, tasks = run_dag(load_dag("share_inbound"))
    assert state == "success", tasks
    delivered = {name: (tmp_path / "partner" / name).read_bytes() for name in files_in(tmp_path / "partner")}
    assert SECRET not in delivered.values()
    assert sorted(delivered) == ["INV-1.xml", "INV-2.xml"], "alias.xml has INV-1.xml's content: a duplicate"
    # the links out are left where they are, and so is what they point to
    assert (share / "leak.xml").is_symlink() and (share / "sub" / "relative-leak.xml").is_symlink()
    assert (tmp_path / "private" / "secret.xml").read_bytes() == SECRET
    assert files_in(tmp_path / "rejected") == []
    with Session(get_engine(ledger_db)) as session:
        recorded = sorted(Path(p).name for p in session.scalars(select(SourceFile.source_path)))
    assert recorded == ["INV-1.xml", "INV-2.xml", "alias.xml"]
    assert f"{share / 'leak.xml'} is a link to" in capfd.readouterr().out, "reported in wait_for_files' log"


def test_attachment_names_never_escape_the_message(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real mailbox: attachment names with ``../`` or ``..`` stay inside ``/INBOX/MESSAGE-ID/``."""
    from invoice_hub.config.models import ImapSource
    from invoice_hub.transports.mailbox import ImapTransport

    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection("imap"))
    message_id = dovecot.deliver(
        "Invoices", {"../../../etc/INV-9.xml": b"<Invoice>9</Invoice>", "..": b"<Invoice>dots</Invoice>"}
    )
    key = message_id.strip("<>")
    source = ImapSource(type="imap", conn_id="partner_mail", path="INBOX")
    with ImapTransport("partner_mail", "INBOX") as transport:
        found = find_candidates(transport, source, time.time())
    assert [f.path for f in found.candidates] == [f"/INBOX/{key}/INV-9.xml"]
    assert any(f"'/INBOX/{key}/..'" in n and "outside the source folder /INBOX" in n for n in found.notices)


def test_a_pop3_source_keeps_its_attachments_whatever_its_path(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POP3 ignores ``path``: its files are named below the mailbox read, which is their root."""
    from invoice_hub.config.models import Pop3Source
    from invoice_hub.transports.mailbox import Pop3Transport

    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection("pop3"))
    message_id = dovecot.deliver("Invoice", {"INV-1.xml": b"<Invoice>1</Invoice>"})
    source = Pop3Source(type="pop3", conn_id="partner_mail", path="/not/used")
    with Pop3Transport("partner_mail") as transport:
        found = find_candidates(transport, source, time.time())
    assert [f.path for f in found.candidates] == [f"/INBOX/{message_id.strip('<>')}/INV-1.xml"]
