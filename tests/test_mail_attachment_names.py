"""Mail attachments against a real Dovecot: two of the same name, and names no file system takes.

Before: ``_parse`` kept one attachment per name (the other was dropped, and the message archived as
a success), and a NUL, CR/LF or 300-byte attachment name reached the destinations as it was.
"""

from __future__ import annotations

import datetime as dt
import io
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from invoice_hub.transports.mailbox import ImapTransport, Pop3Transport
from tests.conftest import SHARED
from tests.helpers import files_in, load_dag, run_dag, write
from tests.servers.dovecot import DovecotServer

LONG = "B" * 300 + ".xml"
#: (name as the partner's mail program wrote it, content)
HOSTILE = [
    ("invoice.xml", b"<Invoice>first</Invoice>"),
    ("invoice.xml", b"<Invoice>second, same name</Invoice>"),
    ("a\x00b.xml", b"<Invoice>NUL</Invoice>"),
    ("INV\r\n2.xml", b"<Invoice>CR LF</Invoice>"),
    (LONG, b"<Invoice>long name</Invoice>"),
]


def message(attachments: list[tuple[str, bytes]], subject: str = "Invoices") -> tuple[bytes, str]:
    """A message with these attachments, names written raw as RFC 2231 allows (a mail library refuses
    CR/LF in a header, a partner's need not); its bytes and Message-ID."""
    mail = EmailMessage()
    mail["From"] = "billing@supplier.example"
    mail["To"] = "ap@buyer.example"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    mail["Message-ID"] = make_msgid(domain="supplier.example")
    mail.set_content("Please find our invoices attached.")
    for index, (_, content) in enumerate(attachments):
        mail.add_attachment(content, maintype="application", subtype="xml", filename=f"PLACEHOLDER{index}")
    raw = mail.as_bytes()
    for index, (name, _) in enumerate(attachments):
        encoded = "".join(c if c.isalnum() or c in "._-" else f"%{ord(c):02X}" for c in name)
        raw = raw.replace(f'filename="PLACEHOLDER{index}"'.encode(), f"filename*=utf-8''{encoded}".encode())
    return raw, mail["Message-ID"]


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_every_attachment_is_a_file_of_its_own_under_stable_names(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection(kind))
    raw, _ = message(HOSTILE)
    dovecot.deliver_raw(raw)

    def listing() -> dict[str, bytes]:
        transport = (
            ImapTransport("partner_mail", "INBOX") if kind == "imap" else Pop3Transport("partner_mail")
        )
        with transport:
            contents = {}
            for remote in transport.list_files("/", recursive=False):
                sink = io.BytesIO()
                transport.download(remote.path, sink)
                contents[remote.path] = sink.getvalue()
            return contents

    first = listing()
    assert sorted(first.values()) == sorted(content for _, content in HOSTILE), "nothing dropped"
    assert listing() == first, "the same message listed again: the same names"
    names = [path.rsplit("/", 1)[1] for path in first]
    assert "invoice.xml" in names and "INV\r\n2.xml" in names and LONG in names, "originals kept"
    assert "a\ufffdb.xml" in names, "NUL, which no ledger database holds, replaced"


INTEGRATION = """
name: mail_names
schedule: null
source:
  type: imap
  conn_id: partner_mail
  path: INBOX
  pattern: "*.xml"
  on_success: {{move_to: Processed}}
transform:
  input: {input}
  validate: {validate}
  output: passthrough
destinations:
  - type: local
    path: erp
"""


@pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")
def test_hostile_attachments_all_delivered_and_the_message_archived(
    integrations_dir: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection("imaps"))
    write(integrations_dir / "mail_names.yaml", INTEGRATION.format(input="any", validate="none"))
    dovecot.deliver_raw(message(HOSTILE)[0])

    state, tasks = run_dag(load_dag("mail_names"))

    assert state == "success", tasks
    delivered = files_in(integrations_dir / "erp")
    assert len(delivered) == len(HOSTILE) and "invoice.xml" in delivered
    assert sorted((integrations_dir / "erp" / n).read_bytes() for n in delivered) == sorted(
        content for _, content in HOSTILE
    )
    assert all(len(n.encode()) <= 200 and "\r" not in n and "\x00" not in n for n in delivered)
    assert dovecot.folders() == {"INBOX": 0, "Processed": 1}
    assert set(run_dag(load_dag("mail_names"))[1].values()) == {"skipped"}


@pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")
def test_a_message_is_archived_only_when_both_attachments_of_a_name_succeeded(
    integrations_dir: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection("imaps"))
    write(integrations_dir / "mail_names.yaml", INTEGRATION.format(input="ubl", validate="structure"))
    good = (SHARED / "einvoice-examples/en16931/ubl-tc434-example1.xml").read_bytes()
    dovecot.deliver_raw(message([("invoice.xml", good), ("invoice.xml", b"<Invoice>not UBL")])[0])

    state, tasks = run_dag(load_dag("mail_names"))

    assert state == "failed" and tasks["archive"] == "failed", "the rejected one needs a person"
    assert files_in(integrations_dir / "erp") == ["invoice.xml"]
    assert dovecot.folders() == {"INBOX": 1}, "one attachment failed: the message stays, nothing is lost"


@pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")
def test_an_attachment_the_pattern_does_not_match_does_not_keep_the_message(
    integrations_dir: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoice and its picture: once the XML (``pattern: *.xml``) is delivered, the message is
    archived (before, the PDF, which is no input, kept it in the mailbox on every run)."""
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection("imaps"))
    write(integrations_dir / "mail_names.yaml", INTEGRATION.format(input="any", validate="none"))
    dovecot.deliver("Invoice 7", {"INV-7.xml": b"<Invoice>7</Invoice>", "INV-7.pdf": b"%PDF"})

    state, tasks = run_dag(load_dag("mail_names"))

    assert state == "success", tasks
    assert files_in(integrations_dir / "erp") == ["INV-7.xml"]
    assert dovecot.folders() == {"INBOX": 0, "Processed": 1}
