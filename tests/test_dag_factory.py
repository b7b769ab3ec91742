"""Integration files become DAGs: names, tasks, schedule, policies; broken files become import errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from invoice_hub.dag_factory import (
    EXPORT_TASK_IDS,
    RECONCILE_TASK_IDS,
    TASK_IDS,
    integration_dags,
)
from tests.conftest import PROJECT
from tests.helpers import write
from tests.test_config import VALID

pytestmark = pytest.mark.usefixtures("airflow_db")


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_every_example_integration_becomes_a_dag_without_import_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INVOICE_HUB_INTEGRATIONS_DIR", raising=False)
    bag = dagbag()
    assert bag.import_errors == {}
    examples = sorted(p for p in (PROJECT / "include" / "integrations").glob("*.yaml"))
    assert examples
    assert len(bag.dags) == len(examples)
    for dag in bag.dags.values():
        if "export" in dag.tags:
            expected = EXPORT_TASK_IDS
        else:
            expected = RECONCILE_TASK_IDS if "open_ar_reconciliation" in dag.tags else TASK_IDS
        assert [t.task_id for t in _in_order(dag, expected[0])] == list(expected)


def _in_order(dag, first=TASK_IDS[0]):
    task = dag.get_task(first)
    ordered = [task]
    while task.downstream_list:
        (task,) = task.downstream_list
        ordered.append(task)
    return ordered


def test_dag_settings_come_from_the_file(integrations_dir: Path) -> None:
    write(
        integrations_dir / "a.yaml",
        VALID.replace(
            "description: test",
            "description: test\ntags: [acme]\nowner: finance-data\nnotify: {on_failure: [ap@example.com]}",
        ),
    )
    dag = dagbag().dags["supplier_inbound"]
    assert dag.dag_id == "supplier_inbound"
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.start_date == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert set(dag.tags) == {"acme", "invoice-hub", "transfer"}
    assert dag.timetable.expression == "0 * * * *"
    assert "```yaml" in dag.doc_md and 'pattern: "*.xml"' in dag.doc_md
    assert not dag.on_failure_callback, "DAG callbacks run in the DAG processor, unseen"
    assert all(t.on_failure_callback for t in dag.tasks), "each task mails notify.on_failure itself"
    for task in dag.tasks:
        assert task.owner == "finance-data"
        assert task.execution_timeout is not None
        assert task.retry_exponential_backoff
    assert dag.get_task("deliver").retries > 0
    assert dag.get_task("validate_transform").retries == 0, "validation is deterministic"


@pytest.mark.parametrize(
    ("schedule", "expected"), [("'0 6 * * 1-5'", "0 6 * * 1-5"), ("'@daily'", "0 0 * * *"), ("null", None)]
)
def test_schedules(integrations_dir: Path, schedule: str, expected: str | None) -> None:
    write(integrations_dir / "a.yaml", VALID.replace('"@hourly"', schedule))
    dag = dagbag().dags["supplier_inbound"]
    assert getattr(dag.timetable, "expression", None) == expected
    assert dag.timetable.can_be_scheduled is (expected is not None)


def test_broken_file_is_an_import_error_naming_it_and_others_still_load(integrations_dir: Path) -> None:
    write(integrations_dir / "good.yaml", VALID)
    broken = write(
        integrations_dir / "broken.yaml",
        VALID.replace("name: supplier_inbound", "name: other").replace('  pattern: "*.xml"', "  patern: x"),
    )
    bag = dagbag()
    assert list(bag.dags) == ["supplier_inbound"]
    # the problems belong to the second DAG file, never to the one that builds the valid DAGs (Airflow
    # marks every DAG of a file with an import error stale)
    ((filename, message),) = bag.import_errors.items()
    assert Path(filename) == PROJECT / "dags" / "invoice_hub_config_errors.py"
    assert f"{broken}: source.patern: unknown key" in message
    assert "the other integrations run as usual" in message


def test_two_broken_files_are_both_reported(integrations_dir: Path) -> None:
    write(integrations_dir / "one.yaml", "name: 1\n")
    write(integrations_dir / "two.yaml", "name: two\nschedule: '@hourly'\n")
    (message,) = dagbag().import_errors.values()
    assert "one.yaml: name:" in message and "two.yaml:" in message


def test_only_the_dag_being_run_is_built_at_task_run_time(
    integrations_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(integrations_dir / "a.yaml", VALID)
    write(integrations_dir / "zz_other.yaml", VALID.replace("name: supplier_inbound", "name: other_one"))
    write(integrations_dir / "broken.yaml", "name: [")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "other_one")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "fetch")
    assert list(integration_dags()) == ["other_one"]
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "supplier_inbound")
    assert list(integration_dags()) == ["supplier_inbound"]
