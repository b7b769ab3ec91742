"""A billy export on a running Airflow (scheduler, LocalExecutor): ``airflow backfill create`` over
three days reads billy for each day and exports each day's invoices once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import InvoiceExport, InvoiceRecord
from tests import test_billy_export_dag
from tests.helpers import files_in
from tests.servers.airflow_scheduler import AirflowScheduler
from tests.servers.billy import BillyStandIn
from tests.servers.mail_http import SmtpServer
from tests.test_billy_export_dag import DAYS, GATEWAY, MAILED, export, mailed, numbers

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_db", "staging_url")]
books = test_billy_export_dag.books  # billy with an invoice a day for three customers (a fixture)


def test_a_backfill_over_three_days_exports_each_day_once(
    airflow_scheduler: Callable[..., AirflowScheduler],
    books: BillyStandIn,
    integrations_dir: Path,
    ledger_db: str,
    sftp_conn: str,
    remote: Path,
    smtpd: SmtpServer,
) -> None:
    export(integrations_dir, remote)
    airflow = airflow_scheduler()
    airflow.wait_for_dag("billy_send")
    first, last = DAYS[0].isoformat(), DAYS[-1].isoformat()
    backfill = airflow.backfill("billy_send", first, last, "completed", max_active_runs=1)
    runs = airflow.wait_for_runs("billy_send", backfill_id=backfill.id)
    assert [(run.day, run.state) for run in runs] == [(day.isoformat(), "success") for day in DAYS]
    assert all(run.tries["select"] == 1 for run in runs), "each day read billy once"
    assert files_in(remote) == sorted(f"{n}.xml" for n in numbers(books, GATEWAY))
    assert mailed(smtpd) == sorted(f"{n}.xml" for n in numbers(books, MAILED))
    with Session(get_engine(ledger_db)) as session:
        rows = session.execute(
            select(InvoiceRecord.number, InvoiceExport.status, InvoiceExport.run_id).join(
                InvoiceRecord, InvoiceRecord.id == InvoiceExport.invoice_id
            )
        ).all()
    assert Counter((number, status) for number, status, _ in rows) == Counter(
        {(n, "delivered"): 1 for n in numbers(books, GATEWAY) + numbers(books, MAILED)}
    ), "each invoice once; the customer not activated never"
    run_of = {number: run_id for number, _, run_id in rows}
    for run, day in zip(runs, DAYS, strict=True):
        day_numbers = numbers(books, GATEWAY, day) + numbers(books, MAILED, day)
        assert {run_of[n] for n in day_numbers} == {run.run_id}, f"{day}'s invoices by {day}'s run"
