"""POP3 and IMAP sources against a real Dovecot: attachments in, messages archived once."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoice_hub.transports import TransportError
from invoice_hub.transports.mailbox import ImapTransport, Pop3Transport
from tests.helpers import files_in, load_dag, run_dag, write
from tests.servers.dovecot import DovecotServer


@pytest.mark.parametrize("kind", ["imap", "imaps", "pop3", "pop3s"])
def test_attachments_are_the_files(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection(kind))
    message_id = dovecot.deliver("Invoice 1", {"INV-1.xml": b"<Invoice>1</Invoice>", "INV-1.pdf": b"%PDF"})
    dovecot.deliver("Just saying hello", {})
    transport = (
        ImapTransport("partner_mail", "INBOX") if kind.startswith("imap") else Pop3Transport("partner_mail")
    )
    with transport:
        files = transport.list_files("/", recursive=False)
        key = message_id.strip("<>")
        assert sorted(f.path for f in files) == [f"/INBOX/{key}/INV-1.pdf", f"/INBOX/{key}/INV-1.xml"]
        xml = next(f for f in files if f.path.endswith(".xml"))
        assert xml.size == len(b"<Invoice>1</Invoice>") and xml.mtime > 0
        notices = transport.notices_after_selection([xml])
        assert any("has no attachment" in n and "Just saying hello" in n for n in notices)
        import io

        sink = io.BytesIO()
        transport.download(xml.path, sink)
        assert sink.getvalue() == b"<Invoice>1</Invoice>"


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_wrong_password_is_not_retried(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection(kind, password="wrong"))
    transport = ImapTransport("partner_mail", "INBOX") if kind == "imap" else Pop3Transport("partner_mail")
    with pytest.raises(TransportError, match="login refused") as raised, transport:
        transport.list_files("/", recursive=False)
    assert raised.value.retryable is False


INTEGRATION = """
name: mail_inbound
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: {kind}
  conn_id: partner_mail
  path: INBOX
  pattern: "*.xml"
  on_success: {on_success}
destinations:
  - type: local
    path: erp
"""


@pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")
@pytest.mark.parametrize(
    ("kind", "on_success", "left"),
    [
        ("imap", "{move_to: Processed}", {"INBOX": 1, "Processed": 2}),
        ("pop3", "delete", {"INBOX": 1}),
    ],
)
def test_mail_integration_end_to_end(
    integrations_dir: Path,
    dovecot: DovecotServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    on_success: str,
    left: dict[str, int],
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_MAIL", dovecot.connection(f"{kind}s"))
    write(integrations_dir / "mail_inbound.yaml", INTEGRATION.format(kind=kind, on_success=on_success))
    dovecot.deliver("Invoice 1", {"INV-1.xml": b"<Invoice>1</Invoice>"})
    dovecot.deliver(
        "Invoices 2 and 3", {"INV-2.xml": b"<Invoice>2</Invoice>", "INV-3.xml": b"<Invoice>3</Invoice>"}
    )
    dovecot.deliver("Only a PDF", {"INV-4.pdf": b"%PDF"})

    state, tasks = run_dag(load_dag("mail_inbound"))

    assert state == "success", tasks
    assert files_in(integrations_dir / "erp") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]
    assert dovecot.folders() == left, "processed messages are archived; the PDF-only one stays for a person"
    _, tasks = run_dag(load_dag("mail_inbound"))
    assert set(tasks.values()) == {"skipped"}
    assert files_in(integrations_dir / "erp") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]


def test_pop3_cannot_move_messages(integrations_dir: Path) -> None:
    from invoice_hub.config import load_integration

    path = write(integrations_dir / "m.yaml", INTEGRATION.format(kind="pop3", on_success="{move_to: Done}"))
    (problem,) = load_integration(path).problems
    assert problem.key == "source.on_success" and "POP3 has no folders" in problem.message
