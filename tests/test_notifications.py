"""notify: the mails are sent by the tasks, so a mail that cannot go out shows in the failed run's
task log (Airflow 3 runs DAG-level callbacks in the DAG processor, whose log nobody reads), and a
run's success is mailed once, by its last task."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import drop, load_dag, run_dag, write
from tests.servers.airflow_scheduler import AirflowScheduler
from tests.servers.mail_http import SmtpServer

INTEGRATION = """
name: {name}
schedule: null
source: {{type: local, path: {root}/in, on_success: {{move_to: {root}/done}}, on_failure: {{move_to: {root}/failed}}}}
destinations: [{{type: local, path: {root}/out, if_exists: fail}}]
notify: {{{notify}: [ap-team@example.com]}}
"""


def integration(folder: Path, root: Path, name: str, notify: str, clash: bool) -> None:
    write(folder / f"{name}.yaml", INTEGRATION.format(name=name, root=root, notify=notify))
    drop(root / "in", "INV-1.xml", "<Invoice>1</Invoice>")
    if clash:  # the destination has the name already and may not replace it: the run fails
        drop(root / "out", "INV-1.xml", "taken")


@pytest.mark.airflow
def test_a_notification_without_smtp_connection_fails_visibly_in_the_task_log(
    airflow_scheduler: Callable[..., AirflowScheduler],
    integrations_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)  # no SMTP connection at all
    integration(integrations_dir, tmp_path / "partner", "mailing_in", "on_failure", clash=True)
    airflow = airflow_scheduler()
    airflow.wait_for_dag("mailing_in")
    airflow.unpause("mailing_in")
    airflow.airflow("dags", "trigger", "mailing_in")
    (run,) = airflow.wait_for_runs("mailing_in", count=1, run_type="manual", timeout=180)

    assert run.state == "failed" and run.tasks["archive"] == "failed", run
    log = airflow.task_log("mailing_in", run.run_id, "archive")
    assert "could not mail the failure notification of mailing_in to ap-team@example.com" in log, log
    assert "through the Airflow SMTP connection 'smtp_default'" in log, log
    assert "airflow connections add smtp_default" in log, log


@pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")
def test_success_is_mailed_once_per_run_by_its_last_task(
    integrations_dir: Path, tmp_path: Path, smtpd: SmtpServer
) -> None:
    integration(integrations_dir, tmp_path / "partner", "mailing_in", "on_success", clash=False)
    dag = load_dag("mailing_in")
    assert not dag.on_success_callback and all(t.on_success_callback for t in dag.tasks)

    state, tasks = run_dag(dag)

    assert state == "success", tasks
    (message,) = smtpd.messages  # not one per task
    assert message["X-Envelope-To"] == "ap-team@example.com"
    assert message["Subject"].startswith("[invoice hub] mailing_in succeeded: run ")
