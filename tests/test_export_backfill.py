"""Exports on a running Airflow (scheduler, LocalExecutor): ``airflow backfill create`` over three
days exports each day's invoices once and a second backfill delivers nothing new; two transfers and
an export running at once on a PostgreSQL ledger lose and duplicate nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import InvoiceExport, InvoiceRecord, SourceFile
from tests import test_export_dag
from tests.helpers import drop, files_in, write
from tests.servers.airflow_scheduler import AirflowScheduler
from tests.test_export_dag import export, invoice

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_db", "staging_url")]
received = test_export_dag.received  # the invoices a transfer received (a fixture)

DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]


def exports(ledger: str) -> Counter[tuple[str, str]]:
    """(invoice number, status) of every export recorded."""
    with Session(get_engine(ledger)) as session:
        rows = session.execute(
            select(InvoiceRecord.number, InvoiceExport.status).join(
                InvoiceRecord, InvoiceRecord.id == InvoiceExport.invoice_id
            )
        )
        return Counter((number, status) for number, status in rows)


def test_backfill_exports_each_day_once_and_again_delivers_nothing_new(
    airflow_scheduler: Callable[..., AirflowScheduler], received: Path, integrations_dir: Path, ledger_db: str
) -> None:
    export(integrations_dir, received)
    airflow = airflow_scheduler()
    airflow.wait_for_dag("semine_send")

    first = airflow.backfill("semine_send", DAYS[0], DAYS[-1], "completed", max_active_runs=1)
    runs = airflow.wait_for_runs("semine_send", backfill_id=first.id)
    assert [(run.day, run.state) for run in runs] == [(day, "success") for day in DAYS]
    day_one = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert runs[0].data_interval == (day_one, day_one + dt.timedelta(days=1)), "a real interval per day"
    assert files_in(received / "out") == ["INV-1.xml", "INV-2.xml", "INV-4.xml"]
    assert files_in(received / "c2") == ["INV-3.xml"]
    delivered = Counter({(n, "delivered"): 1 for n in ("INV-1", "INV-2", "INV-3", "INV-4")})
    assert exports(ledger_db) == delivered, "each invoice once; INV-5's customer is not active"

    again = airflow.backfill("semine_send", DAYS[0], DAYS[-1], "completed", max_active_runs=1)
    reruns = airflow.wait_for_runs("semine_send", backfill_id=again.id)
    assert [(run.state, run.clear_number) for run in reruns] == [("success", 1)] * 3
    assert files_in(received / "out") == ["INV-1.xml", "INV-2.xml", "INV-4.xml"]
    assert files_in(received / "c2") == ["INV-3.xml"]
    assert exports(ledger_db) == delivered + Counter(
        {(n, "skipped"): 1 for n in ("INV-1", "INV-2", "INV-3", "INV-4")}
    ), "the default policy, skip: recorded, not delivered"


TRANSFER = """
name: {name}
source: {{type: local, path: {root}/{name}_in}}
transform: {{input: ubl, validate: structure, output: ubl}}
destinations: [{{type: local, path: {root}/{name}_out}}]
"""
EXPORT_ALL = """
name: export_all
kind: export
select: {{period: all, date_field: received_at}}
transform: {{output: ubl, filename: "{{invoice_number}}.xml"}}
destinations: [{{type: local, path: {root}/exported}}]
"""


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_two_transfers_and_an_export_at_once_lose_and_duplicate_nothing(
    airflow_scheduler: Callable[..., AirflowScheduler],
    integrations_dir: Path,
    tmp_path: Path,
    ledger_url: str,
) -> None:
    count = 25
    for name in ("transfer_a", "transfer_b"):
        write(integrations_dir / f"{name}.yaml", TRANSFER.format(name=name, root=tmp_path))
        for number in range(count):
            ref = f"{name[-1].upper()}-{number}"
            drop(tmp_path / f"{name}_in", f"{ref}.xml", invoice(ref, "2026-11-02", f"C{number % 3}"))
    write(integrations_dir / "export_all.yaml", EXPORT_ALL.format(root=tmp_path))
    airflow = airflow_scheduler({"AIRFLOW_CONN_INVOICE_HUB_DB": ledger_url})
    dags = ("transfer_a", "transfer_b", "export_all")
    for dag_id in dags:
        airflow.wait_for_dag(dag_id)
        airflow.unpause(dag_id)
    for dag_id in dags:  # all three at once
        airflow.airflow("dags", "trigger", dag_id)
    for dag_id in dags:
        (run,) = airflow.wait_for_runs(dag_id, count=1, run_type="manual", timeout=180)
        assert run.state == "success" or (dag_id == "export_all" and run.tasks["select"] == "skipped"), run
    airflow.airflow("dags", "trigger", "export_all")  # what the export did not see yet
    runs = airflow.wait_for_runs("export_all", count=2, run_type="manual", timeout=180)
    assert runs[-1].state == "success", runs[-1]

    every = sorted(f"{side}-{n}.xml" for side in "AB" for n in range(count))
    assert files_in(tmp_path / "transfer_a_out") + files_in(tmp_path / "transfer_b_out") == every
    assert files_in(tmp_path / "exported") == every, "each invoice exported exactly once"
    engine = get_engine(ledger_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(InvoiceRecord)) == 2 * count
        statuses = Counter(session.scalars(select(SourceFile.status)))
    assert statuses == {"succeeded": 2 * count}
    recorded = exports(ledger_url)
    delivered = Counter({key: n for key, n in recorded.items() if key[1] == "delivered"})
    assert delivered == Counter({(name[:-4], "delivered"): 1 for name in every})
    # How many invoices the first export run saw depends on when it ran beside the transfers: the
    # second run records what the first one delivered as skipped (reexport: skip), once.
    skipped = {number: n for (number, status), n in recorded.items() if status == "skipped"}
    assert set(recorded) <= {
        (number, s) for number in (n[:-4] for n in every) for s in ("delivered", "skipped")
    }
    assert all(n == 1 for n in skipped.values()), skipped
