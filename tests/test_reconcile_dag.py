"""dag.test() of an open-AR reconciliation reading snapshots from a real sshd with an SSH key, as
Kolleno's exchange does (seeds/003): reports in csv_data_uploads/, status changes delivered."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.receivables import Receivables
from tests.helpers import files_in, load_dag, run_dag, write
from tests.servers.sshd import SshServer

pytestmark = pytest.mark.usefixtures("airflow_db", "staging_url")

INTEGRATION = """
name: kolleno_open_ar
kind: open_ar_reconciliation
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: sftp
  conn_id: kolleno_sftp
  path: {remote}/csv_data_uploads
  pattern: "*.csv"
  on_success: {{move_to: {remote}/csv_data_uploads/processed}}
  on_failure: {{move_to: {remote}/csv_data_uploads/failed}}
reconcile:
  columns: {{invoice_ref: "Invoice No", open_amount: "Balance", customer: "Account"}}
  max_paid_fraction: 0.5
destinations:
  - type: local
    path: {out}
"""
HEADER = "Invoice No,Account,Balance,Currency,Due Date,Region\n"


@pytest.fixture
def kolleno(
    integrations_dir: Path, sshd: SshServer, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The integration, logging in with the SSH key (no password), and the folder changes go to."""
    monkeypatch.setenv("AIRFLOW_CONN_KOLLENO_SFTP", sshd.connection(auth="key"))
    write(integrations_dir / "kolleno_open_ar.yaml", INTEGRATION.format(remote=remote, out=tmp_path / "out"))
    return tmp_path / "out"


def upload(sshd: SshServer, remote: Path, day: int, rows: str) -> None:
    sshd.drop(remote / "csv_data_uploads", f"open_ar_2026-11-{day:02d}.csv", HEADER + rows)


def changes(out: Path, day: int) -> list[tuple[str, str, str, str]]:
    with (out / f"open_ar_2026-11-{day:02d}.changes.csv").open(newline="") as file:
        return [
            (r["invoice_ref"], r["change"], r["previous_open_amount"], r["open_amount"])
            for r in csv.DictReader(file)
        ]


def test_snapshots_in_order_paid_detection_hold_and_approval(
    kolleno: Path, sshd: SshServer, remote: Path, ledger_db: str
) -> None:
    receivables = Receivables(get_engine(ledger_db))
    upload(
        sshd,
        remote,
        1,
        "A-1,C1,100.00,EUR,2026-12-01,North\nA-2,C1,50.00,EUR,2026-12-01,North\n"
        "A-3,C2,75.00,EUR,2026-12-15,South\nA-4,C2,10.00,EUR,,South\n",
    )
    state, tasks = run_dag(load_dag("kolleno_open_ar"))
    assert state == "success", tasks
    assert tasks["reconcile"] == "success"
    assert changes(kolleno, 1) == [
        ("A-1", "opened", "", "100.00"), ("A-2", "opened", "", "50.00"),
        ("A-3", "opened", "", "75.00"), ("A-4", "opened", "", "10.00"),
    ]  # fmt: skip

    # Two reports at once: applied in the order they were produced, not listed.
    upload(
        sshd,
        remote,
        3,
        "A-1,C1,100.00,EUR,2026-12-01,North\nA-3,C2,75.00,EUR,2026-12-15,South\nA-5,C3,5.00,EUR,,West\n",
    )
    upload(
        sshd,
        remote,
        2,
        "A-1,C1,100.00,EUR,2026-12-01,North\nA-2,C1,20.00,EUR,2026-12-01,North\n"
        "A-3,C2,75.00,EUR,2026-12-15,South\nA-4,C2,10.00,EUR,,South\nA-5,C3,5.00,EUR,,West\n",
    )
    state, tasks = run_dag(load_dag("kolleno_open_ar"))
    assert state == "success", tasks
    assert changes(kolleno, 2) == [("A-2", "partially_paid", "50.00", "20.00"), ("A-5", "opened", "", "5.00")]
    assert sorted(changes(kolleno, 3)) == [("A-2", "paid", "20.00", ""), ("A-4", "paid", "10.00", "")]
    document = json.loads((kolleno / "open_ar_2026-11-03.changes.json").read_text())
    assert document["counts"]["paid"] == 2 and document["open_before"] == 5
    assert files_in(remote / "csv_data_uploads") == [
        f"processed/open_ar_2026-11-0{day}.csv" for day in (1, 2, 3)
    ]
    paid = {i.invoice_ref: i for i in receivables.invoices("kolleno_open_ar", "paid")}
    assert sorted(paid) == ["A-2", "A-4"]
    assert paid["A-2"].paid_at.isoformat().startswith("2026-11-03")

    # A report that pays (nearly) everything is held: the run fails with the counts; the file waits.
    upload(sshd, remote, 4, "A-9,C9,1.00,EUR,,North\n")
    state, tasks = run_dag(load_dag("kolleno_open_ar"))
    assert state == "failed" and tasks["archive"] == "failed" and tasks["reconcile"] == "success"
    assert files_in(remote / "csv_data_uploads")[0] == "open_ar_2026-11-04.csv", "held at the source"
    assert sorted(i.invoice_ref for i in receivables.invoices("kolleno_open_ar", "open")) == [
        "A-1",
        "A-3",
        "A-5",
    ]
    (held,) = [s for s in receivables.snapshots("kolleno_open_ar") if s.status == "held"]
    assert "3 of 3 open invoices paid" in (held.reason or "")

    state, tasks = run_dag(load_dag("kolleno_open_ar"), run_conf={"approve": ["open_ar_2026-11-04.csv"]})
    assert state == "success", tasks
    assert sorted(i.invoice_ref for i in receivables.invoices("kolleno_open_ar", "open")) == ["A-9"]
    assert [s.status for s in receivables.snapshots("kolleno_open_ar")] == ["applied"] * 4
    assert receivables.snapshots("kolleno_open_ar")[3].approved_by is not None

    state, tasks = run_dag(load_dag("kolleno_open_ar"))
    assert set(tasks.values()) == {"skipped"}, "nothing new: nothing runs"


def test_a_file_that_is_not_a_report_fails_with_its_findings(
    kolleno: Path, sshd: SshServer, remote: Path, ledger_db: str
) -> None:
    sshd.drop(remote / "csv_data_uploads", "open_ar_2026-11-01.csv", "Customer,Amount\nC1,10\n")
    state, tasks = run_dag(load_dag("kolleno_open_ar"))
    assert state == "failed" and tasks["archive"] == "failed"
    assert files_in(remote / "csv_data_uploads") == [
        "failed/open_ar_2026-11-01.csv",
        "failed/open_ar_2026-11-01.csv.error.json",
    ]
    reason = json.loads(
        (remote / "csv_data_uploads" / "failed" / "open_ar_2026-11-01.csv.error.json").read_text()
    )
    assert reason["reason_code"] == "reconcile.rejected"
    assert any(f["rule"] == "CSV-HEADER" for f in reason["findings"])


def test_a_misspelt_approve_is_refused_not_ignored(kolleno: Path, ledger_db: str) -> None:
    """Without the check a misspelt ``aprove`` left the held snapshot held and the run said nothing."""
    from invoice_hub.errors import HubError
    from invoice_hub.operators.base import check_params

    dag = load_dag("kolleno_open_ar")
    integration = dag.get_task("reconcile").integration
    check_params(integration, {"approve": []}, dag.params.keys())
    with pytest.raises(HubError, match=r"unknown param\(s\) 'aprove'.*allowed params are approve"):
        check_params(integration, {"aprove": ["open_ar.csv"]}, dag.params.keys())
