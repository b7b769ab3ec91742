"""The scheduler harness: ``airflow backfill create`` over three days on a running scheduler
(LocalExecutor), then again with Airflow's default reprocess policy and with ``completed``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import Delivery
from tests.helpers import drop, files_in, write
from tests.servers.airflow_scheduler import AirflowScheduler

pytestmark = pytest.mark.airflow

DAG_ID = "daily_drop"
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]
STAMPS = [f"{day}T00:00:00+00:00" for day in DAYS]
TASKS = ["archive", "deliver", "fetch", "validate_transform", "wait_for_files"]


def deliveries(ledger_db: str) -> list[tuple[str, str, str]]:
    with Session(get_engine(ledger_db)) as session:
        rows = session.execute(select(Delivery.output_name, Delivery.status, Delivery.run_id))
        return sorted((name, status, run_id) for name, status, run_id in rows)


def test_backfill_runs_each_day_once_and_a_rerun_delivers_nothing_new(
    airflow_scheduler: Callable[..., AirflowScheduler], integrations_dir: Path, tmp_path: Path, ledger_db: str
) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    write(
        integrations_dir / f"{DAG_ID}.yaml",
        f"""
        name: {DAG_ID}
        kind: transfer
        schedule: "@daily"
        start_date: 2026-11-01
        catchup: false
        source:
          type: local
          path: {inbox}
        destinations:
          - type: local
            path: {outbox}
        """,
    )
    drop(inbox, "INV-1.xml", "<Invoice/>")
    airflow = airflow_scheduler()
    airflow.wait_for_dag(DAG_ID)

    # One run at a time, oldest first: the first day's run takes the file, the later ones find nothing
    first = airflow.backfill(DAG_ID, DAYS[0], DAYS[-1], "completed", max_active_runs=1)
    assert list(first.dates) == STAMPS and all(first.dates.values()) and not first.reasons
    runs = airflow.wait_for_runs(DAG_ID, backfill_id=first.id)
    assert [run.day for run in runs] == DAYS
    assert {run.run_type for run in runs} == {"backfill"} and {run.state for run in runs} == {"success"}
    assert [run.run_id for run in runs] == [f"backfill__{stamp}" for stamp in STAMPS]
    # "@daily" is a CronTriggerTimetable in Airflow 3: the data interval is the instant of the logical date
    midnight = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert runs[0].logical_date == midnight and runs[0].data_interval == (midnight, midnight)
    assert runs[0].tasks == dict.fromkeys(TASKS, "success")
    assert runs[1].tasks == runs[2].tasks == dict.fromkeys(TASKS, "skipped")
    assert files_in(outbox) == ["INV-1.xml"]
    assert deliveries(ledger_db) == [("INV-1.xml", "delivered", runs[0].run_id)]
    assert all(run.clear_number == 0 for run in runs)
    # no scheduled run came with unpausing the DAG (use_job_schedule is off)
    assert len(airflow.runs(DAG_ID, run_type=None)) == 3

    # Airflow's default policy ("none"): every day has a finished run, so nothing is run again
    default = airflow.backfill(DAG_ID, DAYS[0], DAYS[-1], reprocess_behavior=None)
    assert default.reprocess_behavior == "none"
    assert default.dates == dict.fromkeys(STAMPS)
    assert default.reasons == dict.fromkeys(STAMPS, "already exists")
    assert airflow.wait_for_runs(DAG_ID, count=0, backfill_id=default.id) == []
    assert [(r.run_id, r.backfill_id, r.clear_number) for r in airflow.runs(DAG_ID)] == [
        (r.run_id, first.id, 0) for r in runs
    ]

    # "completed": the same runs are cleared and run again; the ledger knows the file, nothing new goes out
    again = airflow.backfill(DAG_ID, DAYS[0], DAYS[-1], "completed", max_active_runs=1)
    assert again.dates == first.dates and not again.reasons
    reruns = airflow.wait_for_runs(DAG_ID, backfill_id=again.id)
    assert [run.run_id for run in reruns] == [run.run_id for run in runs]
    assert [(run.state, run.clear_number, run.backfill_id) for run in reruns] == [
        ("success", 1, again.id)
    ] * 3
    assert all(run.tasks == dict.fromkeys(TASKS, "skipped") for run in reruns)
    assert [run.tries["wait_for_files"] for run in reruns] == [2, 2, 2]
    assert "1 matching '*' and old enough, 0 new" in airflow.task_log(
        DAG_ID, runs[0].run_id, "wait_for_files", 2
    )
    assert files_in(outbox) == ["INV-1.xml"]
    assert len(deliveries(ledger_db)) == 1
