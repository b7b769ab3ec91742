"""dag.test() of integrations delivering by e-mail (real SMTP server) and HTTP (real HTTP server)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from invoice_hub.exchange.deliver import delivery_id
from tests.helpers import drop, files_in, load_dag, run_dag, write
from tests.servers.mail_http import HttpServer, SmtpServer

pytestmark = pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")

INTEGRATION = """
name: send_out
schedule: null
source:
  type: local
  path: inbox
  on_success: {{move_to: done}}
  on_failure: {{move_to: failed}}
destinations:
{destinations}
"""

EMAIL = """  - type: email
    conn_id: partner_smtp
    to: [ap@customer.example, archive@customer.example]
    subject: "Invoice {name} from ACME"
"""

HTTP = """  - type: http
    conn_id: partner_http
    path: /api/invoices
"""


def integration(folder: Path, destinations: str) -> None:
    write(folder / "send_out.yaml", INTEGRATION.format(destinations=destinations))


def test_email_destination_sends_each_file_once(integrations_dir: Path, smtpd: SmtpServer) -> None:
    integration(integrations_dir, EMAIL)
    drop(integrations_dir / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    drop(integrations_dir / "inbox", "INV-2.pdf", b"%PDF-1.7 fake")

    state, tasks = run_dag(load_dag("send_out"))

    assert state == "success", tasks
    assert sorted(m["Subject"] for m in smtpd.messages) == [
        "Invoice INV-1.xml from ACME",
        "Invoice INV-2.pdf from ACME",
    ]
    message = next(m for m in smtpd.messages if "INV-1" in m["Subject"])
    assert message["X-Envelope-To"] == "ap@customer.example, archive@customer.example"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "INV-1.xml"
    assert attachment.get_content().strip() in (b"<Invoice>1</Invoice>", "<Invoice>1</Invoice>")

    drop(integrations_dir / "inbox", "INV-1-again.xml", "<Invoice>1</Invoice>")
    assert run_dag(load_dag("send_out"))[0] == "success"
    assert len(smtpd.messages) == 2, "same content, same recipients: not mailed again"


def test_http_destination_posts_with_idempotency_key(integrations_dir: Path, httpd: HttpServer) -> None:
    integration(integrations_dir, HTTP)
    drop(integrations_dir / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")

    state, tasks = run_dag(load_dag("send_out"))

    assert state == "success", tasks
    (request,) = httpd.requests
    assert request["path"] == "/api/invoices"
    assert request["body"] == b"<Invoice>1</Invoice>"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/xml"
    assert 'filename="INV-1.xml"' in headers["content-disposition"]
    digest = hashlib.sha256(b"<Invoice>1</Invoice>").hexdigest()
    # stable per integration, destination and output: every attempt of this delivery carries it
    assert headers["idempotency-key"] == delivery_id("send_out", "http:partner_http:/api/invoices", digest)
    assert headers["authorization"] == "Basic " + base64.b64encode(b"hub:s3cret").decode()
    assert headers["x-partner-account"] == "ACME-42", "headers come from the connection's extra"


def test_http_client_error_fails_the_file_server_error_retries(
    integrations_dir: Path, httpd: HttpServer
) -> None:
    integration(integrations_dir, HTTP)
    drop(integrations_dir / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    httpd.status = 422
    state, tasks = run_dag(load_dag("send_out"))
    assert state == "failed" and tasks["deliver"] == "success" and tasks["archive"] == "failed"
    assert files_in(integrations_dir / "failed") == ["INV-1.xml", "INV-1.xml.error.json"]
    assert "422" in (integrations_dir / "failed" / "INV-1.xml.error.json").read_text()

    drop(integrations_dir / "inbox", "INV-2.xml", "<Invoice>2</Invoice>")
    httpd.status = 503
    state, tasks = run_dag(load_dag("send_out"))
    assert state == "failed" and tasks["deliver"] == "failed", "a 503 is worth retrying: the task fails"
    assert files_in(integrations_dir / "inbox") == ["INV-2.xml"], "nothing lost"
    httpd.status = 200
    assert run_dag(load_dag("send_out"))[0] == "success"
    assert [r["body"] for r in httpd.requests][-1] == b"<Invoice>2</Invoice>"


def test_notify_on_failure_mails_the_people_named(integrations_dir: Path, smtpd: SmtpServer) -> None:
    text = INTEGRATION.format(destinations="  - {type: local, path: outbox, if_exists: fail}\n")
    write(integrations_dir / "send_out.yaml", text + "notify:\n  on_failure: [ap-team@example.com]\n")
    drop(integrations_dir / "outbox", "INV-1.xml", "taken")
    drop(integrations_dir / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    dag = load_dag("send_out")
    for task in dag.tasks:
        task.retries = 0
    run = dag.test()
    assert str(run.state) == "failed"

    # The task that failed mailed, from its own process (task-level callbacks: DAG-level ones run in
    # the DAG processor, where a mail that cannot go out is seen by nobody); once, not per task.
    (message,) = smtpd.messages
    assert message["X-Envelope-To"] == "ap-team@example.com"
    assert message["Subject"] == f"[invoice hub] send_out failed: run {run.run_id}"
    body = message.get_body(preferencelist=("html",)).get_content()
    assert "task <b>archive</b>" in body and "[deliver.target_exists]" in body, body
