"""notify: on a real scheduler (``dag.test()`` cannot run notifier callbacks, apache/airflow#64649), a
real SMTP server and a real webhook receiver, three runs side by side on one harness:

- ``notify_refused`` fails (its HTTP partner refuses the file, echoing the connection's API key):
  ``on_failure`` gets one mail with the file, its reason and the task log's link, and no secret;
  the webhook gets the same as JSON;
- ``notify_rejects`` rejects one of two files by EN 16931 validation: the recipient of both
  ``on_failure`` and ``on_rejection`` gets one mail telling both, the one of ``on_rejection`` only
  gets the negative document-level notification, each with the finding ids;
- ``notify_succeeds`` delivers two invoices to two destinations: ``on_success`` gets the counts,
  ``on_failure`` nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, select

from invoice_hub.ledger.tables import SourceFile
from tests.conftest import SHARED
from tests.helpers import drop, write
from tests.servers.airflow_scheduler import AirflowScheduler, RunInfo
from tests.servers.mail_http import HttpServer, SmtpServer

pytestmark = pytest.mark.airflow

API_KEY = "pk_live_77c0ffee5ecret"  # the partner's key: in no mail, no post
WEBHOOK_TOKEN = "T0K3N-b2f4a9"  # in the webhook's URL, which lives in the connection only
EXAMPLES = SHARED / "einvoice-examples"
GOOD = (EXAMPLES / "peppol-bis3/examples_base-example.xml").read_bytes()  # invoice Snippet1
ORDER = (EXAMPLES / "en16931/ubl-tc434-example5.xml").read_bytes()  # invoice TOSL110
PAYABLE = b'<cbc:PayableAmount currencyID="EUR">1656.25</cbc:PayableAmount>'
WRONG_TOTAL = GOOD.replace(PAYABLE, PAYABLE.replace(b"1656.25", b"1000.00"))  # breaks BR-CO-16

INTEGRATIONS = {
    "notify_refused": """
        name: notify_refused
        schedule: null
        source: {type: local, path: refused_in, on_success: {move_to: refused_done}, on_failure: {move_to: refused_failed}}
        destinations: [{type: http, conn_id: partner_http, path: /api/invoices}]
        notify:
          on_failure: [ops@example.com]
          webhook: {conn_id: team_chat, events: [failure]}
        """,
    "notify_rejects": """
        name: notify_rejects
        schedule: null
        source: {type: local, path: rejects_in, on_success: {move_to: rejects_done}, on_failure: {move_to: rejects_failed}}
        transform: {input: ubl, validate: en16931, output: passthrough}
        destinations: [{type: local, path: rejects_out}]
        notify:
          on_failure: [ops@example.com]
          on_rejection: [ops@example.com, partner-desk@example.com]
          webhook: {conn_id: team_chat, events: [rejection]}
        """,
    "notify_succeeds": """
        name: notify_succeeds
        schedule: null
        source: {type: local, path: ok_in, on_success: delete}
        transform: {input: ubl, validate: structure, output: passthrough}
        destinations: [{type: local, path: ok_a}, {type: local, path: ok_b}]
        notify:
          on_failure: [ops@example.com]
          on_success: [controller@example.com]
          webhook: {conn_id: team_chat, events: [failure, success]}
        """,
}
#: Mails and webhook posts each run sends.
EXPECTED = {"notify_refused": (1, 1), "notify_rejects": (2, 1), "notify_succeeds": (1, 1)}


@dataclass
class Hub:
    airflow: AirflowScheduler
    smtp: SmtpServer
    chat: HttpServer
    ledger_url: str
    runs: dict[str, RunInfo]

    def mails(self, dag_id: str) -> dict[str, EmailMessage]:
        """This integration's mails by recipient (each recipient must get one)."""
        mine = [m for m in self.smtp.messages if f"[invoice hub] {dag_id} " in m["Subject"]]
        by_recipient: dict[str, EmailMessage] = {}
        for message in mine:
            for address in message["X-Envelope-To"].split(", "):
                assert address not in by_recipient, f"{address} got two mails of one run"
                by_recipient[address] = message
        return by_recipient

    def posts(self, dag_id: str) -> list[dict]:
        return [p for p in map(_json, self.chat.requests) if p["integration"] == dag_id]


def _json(request: dict) -> dict:
    return json.loads(request["body"])


def _html(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return body.get_content()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One scheduler for the module's three runs (a harness costs ~30 s to start)."""
    root = tmp_path_factory.mktemp("notify")
    integrations = root / "integrations"
    for name, text in INTEGRATIONS.items():
        write(integrations / f"{name}.yaml", text)
    drop(integrations / "refused_in", "INV-1.xml", "<Invoice>1</Invoice>")
    drop(integrations / "rejects_in", "good.xml", GOOD)
    drop(integrations / "rejects_in", "wrong-total.xml", WRONG_TOTAL)
    drop(integrations / "ok_in", "base.xml", GOOD)
    drop(integrations / "ok_in", "order.xml", ORDER)
    smtp, chat = SmtpServer(), HttpServer(status=200)
    partner = HttpServer(status=422, echo_headers=("X-Api-Key",))
    for server in (smtp, chat, partner):
        server.start()
    ledger_url = f"sqlite:///{root / 'ledger.db'}"
    airflow = AirflowScheduler(
        root / "airflow",
        integrations,
        {
            "AIRFLOW_CONN_INVOICE_HUB_DB": ledger_url,
            "INVOICE_HUB_STAGING_URL": (root / "staging").as_uri(),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp.connection(),
            "AIRFLOW_CONN_PARTNER_HTTP": partner.connection(**{"X-Api-Key": API_KEY}),
            "AIRFLOW_CONN_TEAM_CHAT": json.dumps(
                {"conn_type": "http", "host": f"http://127.0.0.1:{chat.port}/hooks/{WEBHOOK_TOKEN}"}
            ),
        },
    )
    try:
        airflow.start()
        for dag_id in INTEGRATIONS:
            airflow.wait_for_dag(dag_id)
            airflow.unpause(dag_id)
            airflow.airflow("dags", "trigger", dag_id)
        runs = {
            dag_id: airflow.wait_for_runs(dag_id, count=1, run_type="manual", timeout=180)[0]
            for dag_id in INTEGRATIONS
        }
        found = Hub(airflow, smtp, chat, ledger_url, runs)

        def all_sent() -> bool | None:
            sent = {d: (len(found.mails(d)), len(found.posts(d))) for d in INTEGRATIONS}
            mails = {d: sum(len(m["X-Envelope-To"].split(", ")) for m in smtp.messages if d in m["Subject"])
                     for d in INTEGRATIONS}  # fmt: skip
            return (
                True
                if all(mails[d] >= EXPECTED[d][0] and sent[d][1] >= EXPECTED[d][1] for d in sent)
                else None
            )

        airflow.wait_until(all_sent, 60, "every run's mails and webhook posts")
        yield found
    finally:
        print(airflow.logs())
        airflow.stop()
        for server in (smtp, chat, partner):
            server.stop()


def test_a_failed_run_mails_each_failed_file_its_reason_and_the_log_link_and_no_secret(hub: Hub) -> None:
    run = hub.runs["notify_refused"]
    assert run.state == "failed" and run.tasks["archive"] == "failed", run
    (to, mail), *others = hub.mails("notify_refused").items()
    assert to == "ops@example.com" and not others
    assert mail["Subject"] == f"[invoice hub] notify_refused failed: run {run.run_id}"
    html = _html(mail)
    assert "The run failed in task <b>archive</b>" in html
    assert "INV-1.xml" in html and "deliver.refused" in html and "422" in html, html
    log_url = f"http://127.0.0.1:{hub.airflow.port}/dags/notify_refused/runs/{quote(run.run_id)}"
    assert f'href="{log_url}/tasks/archive?try_number=1"' in html, html
    (post,) = hub.posts("notify_refused")
    assert post["events"] == ["failure"] and post["state"] == "failed" and post["failed_task"] == "archive"
    assert [(f["source_path"].rsplit("/", 1)[-1], f["reason_code"]) for f in post["failed"]] == [
        ("INV-1.xml", "deliver.refused")
    ]
    assert post["text"].startswith(f"notify_refused failed: run {run.run_id}; task archive: ")
    assert hub.chat.requests[0]["path"] == f"/hooks/{WEBHOOK_TOKEN}"
    everything = "\n".join(
        [m.as_string() for m in hub.smtp.messages] + [r["body"].decode() for r in hub.chat.requests]
    )
    assert API_KEY not in everything and WEBHOOK_TOKEN not in everything
    assert "s3cret" not in everything, "the partner connection's password"


def test_a_rejected_file_is_mailed_once_to_each_recipient_with_its_finding_ids(hub: Hub) -> None:
    run = hub.runs["notify_rejects"]
    assert run.state == "failed" and run.tasks["deliver"] == "success", "the good file went out"
    engine = create_engine(hub.ledger_url)
    with engine.connect() as connection:
        (ids,) = connection.execute(
            select(SourceFile.finding_ids).where(SourceFile.source_path.endswith("wrong-total.xml"))
        ).one()
    engine.dispose()
    assert "BR-CO-16" in ids.split()
    mails = hub.mails("notify_rejects")
    assert sorted(mails) == ["ops@example.com", "partner-desk@example.com"]
    both, rejection = _html(mails["ops@example.com"]), _html(mails["partner-desk@example.com"])
    assert mails["ops@example.com"]["Subject"] == f"[invoice hub] notify_rejects failed: run {run.run_id}"
    assert "The run failed in task <b>archive</b>" in both and "1 file(s) rejected by validation" in both
    assert mails["partner-desk@example.com"]["Subject"] == (
        f"[invoice hub] notify_rejects 1 file(s) rejected: run {run.run_id}"
    )
    assert "The run failed" not in rejection, "on_rejection alone: the document-level notification"
    for html in (both, rejection):
        assert "wrong-total.xml" in html and "validate.en16931" in html and ids in html, html
        assert "good.xml" not in html, "a delivered file is no rejection"
    (post,) = hub.posts("notify_rejects")
    assert post["events"] == ["rejection"]
    (rejected,) = post["rejected"]
    assert rejected["reason_code"] == "validate.en16931" and rejected["finding_ids"] == ids.split()


def test_a_succeeding_run_mails_a_summary_with_counts_per_destination(hub: Hub) -> None:
    run = hub.runs["notify_succeeds"]
    assert run.state == "success", run
    mails = hub.mails("notify_succeeds")
    assert list(mails) == ["controller@example.com"], "on_failure is told nothing of a run that succeeded"
    mail = mails["controller@example.com"]
    assert mail["Subject"] == f"[invoice hub] notify_succeeds succeeded: run {run.run_id}"
    html = _html(mail)
    assert "2 file(s) (2 succeeded), 2 invoice(s) received, 4 delivery(ies) to 2 destination(s)" in html, html
    assert html.count("<td>2</td>") == 2, "two deliveries to each destination"
    (post,) = hub.posts("notify_succeeds")
    assert post["events"] == ["success"] and post["invoices"] == 2 and post["files"] == {"succeeded": 2}
    assert sorted(post["deliveries"].values()) == [2, 2]
