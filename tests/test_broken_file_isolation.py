"""On a running Airflow (DAG processor and scheduler, not a DagBag): a broken integration file beside valid
ones never stops them. The valid DAGs stay active and keep their scheduled runs, the problem is the import
error of another DAG file, and fixing the file brings its DAG back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import drop, files_in, write
from tests.servers.airflow_scheduler import AirflowScheduler

pytestmark = pytest.mark.airflow

SCHEDULED = """
name: {name}
schedule: "* * * * *"
start_date: 2026-01-01
source:
  type: local
  path: {root}/{name}/in
  pattern: "*.xml"
destinations:
  - type: local
    path: {root}/{name}/out
"""


def test_a_broken_file_never_stops_the_valid_dags_of_a_running_airflow(
    airflow_scheduler: Callable[..., AirflowScheduler], integrations_dir: Path, tmp_path: Path
) -> None:
    for name in ("alpha", "beta"):
        write(integrations_dir / f"{name}.yaml", SCHEDULED.format(name=name, root=tmp_path))
        drop(tmp_path / name / "in", f"{name.upper()}-1.xml", f"<Invoice>{name}</Invoice>")
    broken = write(
        integrations_dir / "gamma.yaml",
        SCHEDULED.format(name="gamma", root=tmp_path).replace('  pattern: "*.xml"', '  patern: "*.xml"'),
    )
    airflow = airflow_scheduler(use_job_schedule=True)

    errors = airflow.wait_until(lambda: airflow.import_errors() or None, 90, "the broken file's import error")
    # the problem is visible, as the import error of the second DAG file, not of the file building the DAGs
    assert set(errors) == {"invoice_hub_config_errors.py"}, errors
    message = errors["invoice_hub_config_errors.py"]
    assert f"{broken}: source.patern: unknown key; did you mean 'pattern'?" in message
    active = {"alpha": False, "beta": False}
    airflow.wait_until(lambda: airflow.dag_states() == active or None, 60, "alpha and beta parsed and active")
    for name in ("alpha", "beta"):
        airflow.unpause(name)

    # the valid DAGs keep being scheduled, minute after minute: two successful scheduled runs of each
    # (the first delivers the file, the next finds nothing new)
    def scheduled_runs_done() -> dict[str, list] | None:
        runs = {name: airflow.runs(name, "scheduled") for name in ("alpha", "beta")}
        done = all(sum(run.state == "success" for run in r) >= 2 for r in runs.values())
        return runs if done else None

    airflow.wait_until(scheduled_runs_done, 240, "two successful scheduled runs of alpha and of beta")
    assert files_in(tmp_path / "alpha" / "out") == ["ALPHA-1.xml"]
    assert files_in(tmp_path / "beta" / "out") == ["BETA-1.xml"]
    # ... and, after many parses of both DAG files, they are still active, not stale
    parsed_at = airflow.last_parsed("alpha")
    assert parsed_at > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    assert airflow.dag_states() == {"alpha": False, "beta": False}
    assert set(airflow.import_errors()) == {"invoice_hub_config_errors.py"}

    # fixing the file brings its DAG back and clears the import error
    broken.write_text(broken.read_text().replace("patern:", "pattern:"))

    def fixed() -> bool | None:
        return True if "gamma" in airflow.dag_states() and not airflow.import_errors() else None

    airflow.wait_until(fixed, 90, "gamma's DAG parsed and the import error gone")
    assert airflow.dag_states() == {"alpha": False, "beta": False, "gamma": False}
