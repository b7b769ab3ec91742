"""dag.test() of SFTP integrations against a real OpenSSH server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import files_in, load_dag, run_dag, write
from tests.servers.sshd import SshServer

pytestmark = pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")

INTEGRATION = """
name: sftp_partner
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: sftp
  conn_id: partner_sftp
  path: {remote}/outbox
  pattern: "*.xml"
  min_age_seconds: 60
  ignore_root_files: true
  on_success: {{move_to: {remote}/outbox/success}}
  on_failure: {{move_to: {remote}/outbox/failure}}
destinations:
  - type: sftp
    conn_id: partner_sftp
    path: {remote}/erp/in
    if_exists: {if_exists}
"""


def integration(folder: Path, remote: Path, if_exists: str = "unique") -> None:
    write(folder / "sftp_partner.yaml", INTEGRATION.format(remote=remote, if_exists=if_exists))


def test_sftp_to_sftp_end_to_end(
    integrations_dir: Path, sshd: SshServer, sftp_conn: str, remote: Path
) -> None:
    integration(integrations_dir, remote)
    for number in (1, 2):
        sshd.drop(remote / "outbox", f"INV-{number}.xml", f"<Invoice>{number}</Invoice>")
    sshd.drop(remote / "outbox", "README.txt", "not an invoice")
    sshd.drop(remote / "outbox", "INV-3.xml", "<Invoice>3, still uploading</Invoice>", age_seconds=0)
    sshd.drop(remote / "outbox" / "sub", "INV-9.xml", "<Invoice>9</Invoice>")  # not recursive: stays

    state, tasks = run_dag(load_dag("sftp_partner"))

    assert state == "success", tasks
    assert files_in(remote / "erp" / "in") == ["INV-1.xml", "INV-2.xml"]
    assert (remote / "erp" / "in" / "INV-1.xml").read_text() == "<Invoice>1</Invoice>"
    assert files_in(remote / "outbox") == [
        "INV-3.xml",
        "README.txt",
        "sub/INV-9.xml",
        "success/INV-1.xml",
        "success/INV-2.xml",
    ]

    state, tasks = run_dag(load_dag("sftp_partner"))
    assert set(tasks.values()) == {"skipped"}, "a second run fetches nothing"


def test_delivery_refused_goes_to_the_failure_folder_on_the_server(
    integrations_dir: Path, sshd: SshServer, sftp_conn: str, remote: Path
) -> None:
    integration(integrations_dir, remote, if_exists="fail")
    sshd.drop(remote / "erp" / "in", "INV-1.xml", "already delivered by hand")
    sshd.drop(remote / "outbox", "INV-1.xml", "<Invoice>1</Invoice>")

    state, tasks = run_dag(load_dag("sftp_partner"))

    assert state == "failed" and tasks["archive"] == "failed"
    assert files_in(remote / "outbox" / "failure") == ["INV-1.xml", "INV-1.xml.error.json"]
    reason = json.loads((remote / "outbox" / "failure" / "INV-1.xml.error.json").read_text())
    assert reason["reason_code"] == "deliver.target_exists"
    assert (remote / "erp" / "in" / "INV-1.xml").read_text() == "already delivered by hand"


def test_server_down_loses_nothing_and_the_next_run_delivers_once(
    integrations_dir: Path, sshd: SshServer, sftp_conn: str, remote: Path
) -> None:
    integration(integrations_dir, remote)
    sshd.drop(remote / "outbox", "INV-1.xml", "<Invoice>1</Invoice>")
    sshd.stop()
    try:
        state, tasks = run_dag(load_dag("sftp_partner"))
    finally:
        sshd.start()
    assert state == "failed" and tasks["wait_for_files"] == "failed"
    assert files_in(remote / "outbox") == ["INV-1.xml"]

    state, tasks = run_dag(load_dag("sftp_partner"))

    assert state == "success", tasks
    assert files_in(remote / "erp" / "in") == ["INV-1.xml"]
    assert files_in(remote / "outbox") == ["success/INV-1.xml"]


def test_wrong_password_fails_at_once(
    integrations_dir: Path, sshd: SshServer, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(auth="bad-password"))
    integration(integrations_dir, remote)
    dag = load_dag("sftp_partner")
    for task in dag.tasks:
        task.retries = 3
    run = dag.test()
    (wait,) = [ti for ti in run.get_task_instances() if ti.task_id == "wait_for_files"]
    assert (str(wait.state), wait.try_number) == ("failed", 1)
