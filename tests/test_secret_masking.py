"""Secrets masked everywhere the hub writes: a partner's HTTP server that echoes the API-key header
of the connection in its error body (the real test server) leaves the key in no error file, ledger
row, XCom value, task log or notification mail; and the redaction rules on their own."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from invoice_hub import redaction
from invoice_hub.errors import HubError
from invoice_hub.manifest import FileEntry
from invoice_hub.reasons import Reason
from tests.helpers import drop, files_in, load_dag, write
from tests.servers.airflow_scheduler import AirflowScheduler
from tests.servers.mail_http import HttpServer, SmtpServer

API_KEY = "pk_live_4f9a1c7e2b8d"  # the value a partner issued; it must appear nowhere


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("X-Api-Key", True),
        ("api_key", True),
        ("Authorization", True),
        ("client_secret", True),
        ("access_token", True),
        ("private_key", True),
        ("PassPhrase", True),
        ("timeout", False),
        ("X-Partner-Account", False),
        ("host", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert redaction.is_secret_name(name) is secret


def test_connection_secrets_walk_nested_extras() -> None:
    connection = SimpleNamespace(
        login="hub",
        password="hunter22",
        extra_dejson={
            "headers": {"X-Api-Key": "nested-key-1", "Accept": "application/json"},
            "auth": {"client": {"token": "deep-token-2"}},
            "http_headers": '{"Authorization": "Bearer json-string-3"}',
            "look_for_keys": "false",
            "timeout": 10,
            "keys": ["list-key-4"],
        },
    )
    found = redaction.connection_secrets(connection)
    assert {"hunter22", "nested-key-1", "deep-token-2", "Bearer json-string-3", "list-key-4"} <= set(found)
    assert base64.b64encode(b"hub:hunter22").decode() in found, "as a Basic header carries it"
    assert "application/json" not in found and "false" in found  # "false" is then skipped as a setting
    redaction.register_secrets(found)
    assert redaction.redact("false, true") == "false, true"
    assert redaction.redact("key=nested-key-1&x=deep-token-2") == "key=***&x=***"


def test_hub_errors_are_redacted_at_construction() -> None:
    redaction.register_secrets(["s3cr3t/with space"])
    error = HubError('POST refused: {"key": "s3cr3t/with space"} s3cr3t%2Fwith%20space s3cr3t%2Fwith+space')
    assert str(error) == 'POST refused: {"key": "***"} *** ***'


def test_any_failure_reason_is_redacted_not_only_hub_errors() -> None:
    """``transform.error`` quotes whatever exception a file raised; it goes to XCom, the ledger,
    error.json and mails like every other reason."""
    redaction.register_secrets(["tok-9f8e7d6c"])
    entry = FileEntry(source_path="/in/a.xml", size=1, mtime=0.0, status="fetched")
    entry.fail(Reason.TRANSFORM_ERROR, f"ValueError: {ValueError('header was Bearer tok-9f8e7d6c')}")
    assert entry.reason == "ValueError: header was Bearer ***"
    assert "tok-9f8e7d6c" not in entry.model_dump_json()


INTEGRATION = """
name: send_secret
schedule: null
source:
  type: local
  path: inbox
  on_success: {move_to: done}
  on_failure: {move_to: failed}
destinations:
  - type: http
    conn_id: partner_http
    path: /api/invoices
notify:
  on_failure: [ap-team@example.com]
"""


def _ledger_text(url: str) -> str:
    """Every value of every row of every table of the (SQLite) ledger, as one text."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


def _xcom_text(dag_id: str) -> str:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        values = session.query(XComModel.value).filter(XComModel.dag_id == dag_id).all()
    assert values, "the run pushed its manifests"
    return "\n".join(json.dumps(v) if not isinstance(v, str) else v for (v,) in values)


@pytest.mark.usefixtures("airflow_db", "staging_url")
def test_an_echoed_api_key_is_masked_everywhere(
    integrations_dir: Path,
    ledger_db: str,
    smtpd: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = HttpServer(status=422, echo_headers=("X-Api-Key",))
    server.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_PARTNER_HTTP", server.connection(**{"X-Api-Key": API_KEY}))
        write(integrations_dir / "send_secret.yaml", INTEGRATION)
        drop(integrations_dir / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
        dag = load_dag("send_secret")
        for task in dag.tasks:
            task.retries = 0
        caplog.set_level(logging.INFO)
        run = dag.test()  # the failing task mails on_failure itself (a task-level callback)
        assert str(run.state) == "failed"
    finally:
        server.stop()

    (request,) = server.requests
    assert request["headers"]["X-Api-Key"] == API_KEY, "the key was sent, and echoed back"
    assert files_in(integrations_dir / "failed") == ["INV-1.xml", "INV-1.xml.error.json"]
    error_file = (integrations_dir / "failed" / "INV-1.xml.error.json").read_text()
    assert "422" in error_file and '\\"X-Api-Key\\": \\"***\\"' in error_file, error_file
    captured = capfd.readouterr()
    places = {
        "error.json": error_file,
        "ledger": _ledger_text(ledger_db),
        "XCom": _xcom_text("send_secret"),
        "task log": captured.out + captured.err + caplog.text,
        "mail": "\n".join(m.as_string() for m in smtpd.messages),
    }
    assert "422" in places["ledger"], "the reason was recorded"
    assert smtpd.messages, "the failure was mailed"
    leaked = [where for where, text in places.items() if API_KEY in text]
    assert leaked == []


@pytest.mark.airflow
def test_an_echoed_api_key_is_masked_in_a_real_task(
    airflow_scheduler: Callable[..., AirflowScheduler], integrations_dir: Path, ledger_db: str
) -> None:
    """The same on a running scheduler: task processes under Airflow's supervisor, whose log masking
    (``mask_secret``) and XCom are the real ones, not ``dag.test()``'s in-process ones."""
    server = HttpServer(status=422, echo_headers=("X-Api-Key",))
    server.start()
    try:
        write(integrations_dir / "send_secret.yaml", INTEGRATION.split("notify:")[0])
        drop(integrations_dir / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
        airflow = airflow_scheduler(
            {"AIRFLOW_CONN_PARTNER_HTTP": server.connection(**{"X-Api-Key": API_KEY})}
        )
        airflow.wait_for_dag("send_secret")
        airflow.unpause("send_secret")
        airflow.airflow("dags", "trigger", "send_secret")
        (run,) = airflow.wait_for_runs("send_secret", count=1, run_type="manual", timeout=180)
    finally:
        server.stop()
    assert run.tasks["deliver"] == "success" and run.tasks["archive"] == "failed", run
    (request,) = server.requests
    assert request["headers"]["X-Api-Key"] == API_KEY
    logs = "\n".join(airflow.task_log("send_secret", run.run_id, task) for task in run.tasks)
    assert "422" in logs, "the refusal was logged"
    xcom = "\n".join(str(v) for (v,) in airflow._rows("SELECT value FROM xcom WHERE dag_id = 'send_secret'"))
    places = {
        "error.json": (integrations_dir / "failed" / "INV-1.xml.error.json").read_text(),
        "ledger": _ledger_text(ledger_db),
        "XCom": xcom,
        "task logs": logs,
    }
    assert "422" in places["error.json"] and "422" in places["XCom"]
    assert [where for where, text in places.items() if API_KEY in text] == []
