"""docker-compose.yaml's CeleryExecutor cluster, run as processes: staging and the document store in
the S3 bucket, the ledger on PostgreSQL, and every assertion on what arrived (the destination and the
ledger). One cluster serves the module; the tests run in this order on it:

- 20 transfers of 50 files and an SFTP -> validate/convert -> SFTP transfer of 200 UBL invoices,
  triggered at once, with the scheduler SIGKILLed and restarted while they run;
- an export backfill over three days of the invoices received;
- a reconciliation of three open-AR snapshots;
- a worker SIGKILLed in the middle of ``deliver``: the task is retried on the other worker.

The two workers share nothing but the DAG folder, PostgreSQL, Redis and the bucket (each has its own
working directory, HOME, TMPDIR and Airflow home): a task that left a file on its worker's disk for
the next task, or kept state there, would fail or lose files when the next task runs on the other one.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.exchange.fetch import ROUND
from tests.helpers import drop, files_in, write
from tests.servers.airflow_scheduler import FINAL_RUN_STATES, RunInfo
from tests.servers.compose_cluster import BUCKET, ComposeCluster
from tests.servers.sftp_gate import GatedSshServer
from tests.servers.sshd import SshServer

pytestmark = pytest.mark.airflow

TASKS = {"archive", "deliver", "fetch", "validate_transform", "wait_for_files"}
#: 20 integrations of 50 files each, triggered at once: 1,000 deliveries.
FLOOD = [f"cluster_flood_{index:02d}" for index in range(1, 21)]
FILES_EACH = 50
#: And with them an SFTP -> validate/convert -> SFTP transfer of official UBL examples, renumbered.
SFTP = "cluster_sftp_ubl"
UBL_FILES = 200
EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "einvoice-examples"
    / "peppol-bis3"
    / "examples_base-example.xml"
)
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

#: The export backfill's days; the received UBL invoices are issued on each in turn.
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]
EXPORT = "cluster_export"

RECONCILE = "cluster_open_ar"
AR_HEADER = "Invoice No,Account,Balance,Currency,Due Date\n"

#: The transfer whose worker is killed mid-deliver: 60 files to an SFTP server that stalls the
#: session after 20 complete uploads (the others written as temporary files, or not yet).
KILLED = "cluster_worker_killed"
KILLED_FILES = 60
COMPLETE_BEFORE_KILL = 20


def issued(number: int) -> str:
    return DAYS[(number - 1) % len(DAYS)]


def ubl_invoice(number: int) -> bytes:
    """The official PEPPOL BIS 3 base example as invoice ``CLUSTER-<number>``, issued on a backfill day."""
    tree = etree.parse(str(EXAMPLE))
    tree.getroot().find(f"{{{CBC}}}ID").text = f"CLUSTER-{number}"
    tree.getroot().find(f"{{{CBC}}}IssueDate").text = issued(number)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def flood_file(name: str, number: int) -> str:
    return f"<Invoice>{name} {number}</Invoice>"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("celery-cluster")


@pytest.fixture(scope="module")
def remote(sshd: SshServer) -> Path:
    return sshd.make_folder("celery_cluster")


@pytest.fixture(scope="module")
def gated() -> Iterator[GatedSshServer]:
    """The killed transfer's destination: an SFTP server of its own that a test can stall."""
    server = GatedSshServer()
    server.server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def gated_remote(gated: GatedSshServer) -> Path:
    return gated.server.make_folder("erp")


def write_integrations(folder: Path, folders: Path, remote: Path, gated_remote: Path) -> None:
    write(
        folder / f"{SFTP}.yaml",
        f"""
        name: {SFTP}
        kind: transfer
        schedule: null
        start_date: 2026-01-01
        source:
          type: sftp
          conn_id: partner_sftp
          path: {remote}/outbox
          pattern: "*.xml"
          on_success: {{move_to: {remote}/done}}
          on_failure: {{move_to: {remote}/failed}}
        transform:
          input: ubl
          validate: en16931
          output: ubl
        destinations:
          - type: sftp
            conn_id: partner_sftp
            path: {remote}/erp/in
        """,
    )
    write(
        folder / f"{EXPORT}.yaml",
        f"""
        name: {EXPORT}
        kind: export
        schedule: "@daily"
        start_date: {DAYS[0]}
        select: {{date_field: issue_date}}
        transform: {{output: ubl, filename: "{{invoice_number}}.xml"}}
        destinations:
          - type: local
            path: {folders / "exported"}
        """,
    )
    write(
        folder / f"{RECONCILE}.yaml",
        f"""
        name: {RECONCILE}
        kind: open_ar_reconciliation
        schedule: null
        start_date: 2026-01-01
        source:
          type: sftp
          conn_id: partner_sftp
          path: {remote}/csv_data_uploads
          pattern: "*.csv"
          on_success: {{move_to: {remote}/csv_data_uploads/processed}}
          on_failure: {{move_to: {remote}/csv_data_uploads/failed}}
        reconcile:
          columns: {{invoice_ref: "Invoice No", open_amount: "Balance", customer: "Account"}}
          max_paid_fraction: 0.5
        destinations:
          - type: local
            path: {folders / "ar-changes"}
        """,
    )
    for name in [*FLOOD, KILLED]:
        destination = (
            f"{{type: sftp, conn_id: gated_sftp, path: {gated_remote}/in}}"
            if name == KILLED
            else f"{{type: local, path: {folders / 'erp' / name / 'in'}}}"
        )
        write(
            folder / f"{name}.yaml",
            f"""
            name: {name}
            kind: transfer
            schedule: null
            start_date: 2026-01-01
            catchup: false
            source:
              type: local
              path: {folders / "partners" / name / "out"}
              on_success: {{move_to: {folders / "partners" / name / "done"}}}
            destinations:
              - {destination}
            """,
        )


@pytest.fixture(scope="module")
def cluster(
    folders: Path, sshd: SshServer, remote: Path, gated: GatedSshServer, gated_remote: Path
) -> Iterator[ComposeCluster]:
    integrations = folders / "integrations"
    write_integrations(integrations, folders, remote, gated_remote)
    for number in range(1, UBL_FILES + 1):
        sshd.drop(remote / "outbox", f"UBL-{number}.xml", ubl_invoice(number))
    for name in FLOOD:
        for number in range(1, FILES_EACH + 1):
            drop(folders / "partners" / name / "out", f"INV-{number}.xml", flood_file(name, number))
    for number in range(1, KILLED_FILES + 1):
        drop(folders / "partners" / KILLED / "out", f"K-{number:02d}.xml", f"<Invoice>K {number}</Invoice>")
    connections = {
        "AIRFLOW_CONN_PARTNER_SFTP": sshd.connection(),
        "AIRFLOW_CONN_GATED_SFTP": gated.server.connection(auth="key"),
    }
    harness = ComposeCluster(folders / "cluster", integrations, connections, workers=2)
    harness.start()
    try:
        yield harness
    finally:
        print(harness.logs())  # shown when a test fails
        harness.stop()


def delivered_count(cluster: ComposeCluster) -> int:
    return cluster.ledger_rows("SELECT count(*) FROM deliveries WHERE status = 'delivered'")[0][0]


@dataclass(frozen=True)
class Transferred:
    runs: dict[str, RunInfo]  # dag_id -> its one run
    unfinished_at_kill: list[str]  # the runs not ended when the scheduler was killed
    delivered_at_kill: int  # deliveries the ledger had then
    held_back: str  # the worker kept from the queue while the SFTP run's fetch ran on it
    schedulers: int  # SchedulerJobs the metadata database recorded: the killed one and its successor
    queued_by_successor: int  # task instances the restarted scheduler queued or took over


def first_host(cluster: ComposeCluster, dag_id: str, task_id: str) -> str | None:
    (run,) = cluster.runs(dag_id, "manual")
    tries = cluster.tries(dag_id, run.run_id, task_id)
    return tries[0][1] if tries and tries[0][1] else None


@pytest.fixture(scope="module")
def transferred(cluster: ComposeCluster) -> Transferred:
    """The 21 transfers triggered at once and run to their end, the scheduler killed meanwhile.

    So that the SFTP run's tasks run on both workers whatever order Celery hands them out in, the
    worker that runs its ``fetch`` stops taking tasks until ``validate_transform`` started elsewhere.
    Then, once some deliveries are recorded and runs are still going, the scheduler is SIGKILLed and
    started again (as ``restart: always`` would): the runs must end without a file delivered twice.
    """
    names = [SFTP, *FLOOD]  # the SFTP run first: its tasks are queued ahead, its validation the longest
    for name in names:
        cluster.wait_for_dag(name, timeout=120)
    cluster.trigger(*names)

    fetched_on = cluster.wait_until(lambda: first_host(cluster, SFTP, "fetch"), 180, f"{SFTP}'s fetch")
    cluster.consume(fetched_on, False)
    try:
        cluster.wait_until(
            lambda: first_host(cluster, SFTP, "validate_transform"), 240, f"{SFTP}'s validate_transform"
        )
    finally:
        cluster.consume(fetched_on, True)

    total = len(FLOOD) * FILES_EACH + UBL_FILES
    cluster.wait_until(lambda: delivered_count(cluster) or None, 240, "the first deliveries")
    unfinished = [name for name in names if cluster.runs(name, "manual")[0].state not in FINAL_RUN_STATES]
    delivered = delivered_count(cluster)
    cluster.kill("airflow-scheduler")
    time.sleep(2)
    cluster.restart("airflow-scheduler")
    runs = {}
    for name in names:
        (runs[name],) = cluster.wait_for_runs(name, count=1, run_type="manual", timeout=400)
    assert delivered < total
    ((schedulers, successor),) = cluster.metadata_rows(
        "SELECT count(*), max(id) FROM job WHERE job_type = 'SchedulerJob'"
    )
    ((queued_after,),) = cluster.metadata_rows(
        "SELECT count(*) FROM task_instance WHERE queued_by_job_id = :j", j=successor
    )
    return Transferred(runs, unfinished, delivered, fetched_on, schedulers, queued_after)


def test_an_sftp_transfer_of_200_invoices_runs_on_both_workers_and_delivers_each_once(
    cluster: ComposeCluster, transferred: Transferred, remote: Path
) -> None:
    run = transferred.runs[SFTP]
    assert run.state == "success" and run.tasks == dict.fromkeys(TASKS, "success"), (
        run.tasks,
        cluster.logs(),
    )

    # each invoice converted and delivered once, the originals archived
    delivered = [path.read_bytes() for path in sorted((remote / "erp" / "in").iterdir())]
    numbers = sorted(etree.fromstring(data).findtext(f"{{{CBC}}}ID") for data in delivered)
    assert numbers == sorted(f"CLUSTER-{number}" for number in range(1, UBL_FILES + 1))
    assert files_in(remote / "done") == sorted(f"UBL-{number}.xml" for number in range(1, UBL_FILES + 1))
    assert files_in(remote / "outbox") == [] and not (remote / "failed").exists()
    rows = cluster.ledger_rows("SELECT output_name, status FROM deliveries WHERE integration = :i", i=SFTP)
    assert len(rows) == UBL_FILES and len({name for name, _ in rows}) == UBL_FILES
    assert {status for _, status in rows} == {"delivered"}
    # the received invoices are in the document store (by content), on the bucket
    keys = set(cluster.s3.keys(BUCKET))
    for number in range(1, UBL_FILES + 1):
        sha256 = hashlib.sha256(ubl_invoice(number)).hexdigest()
        assert f"store/{sha256[:2]}/{sha256}.xml" in keys, number

    # its tasks ran on both workers (the hostname each task instance recorded)
    hosts = cluster.hostnames(SFTP)
    assert hosts[(run.run_id, "fetch")] == transferred.held_back
    assert hosts[(run.run_id, "validate_transform")] != transferred.held_back
    assert set(hosts.values()) == set(cluster.workers), hosts


def test_20_integrations_of_50_files_at_once_deliver_1000_files_none_lost_none_doubled(
    cluster: ComposeCluster, transferred: Transferred, folders: Path
) -> None:
    expected = [f"INV-{number}.xml" for number in range(1, FILES_EACH + 1)]
    for name in FLOOD:
        run = transferred.runs[name]
        assert run.state == "success" and run.tasks == dict.fromkeys(TASKS, "success"), (name, run.tasks)
        arrived = folders / "erp" / name / "in"
        assert files_in(arrived) == sorted(expected), name
        assert all((arrived / f"INV-{n}.xml").read_text() == flood_file(name, n) for n in range(1, 51))
        assert files_in(folders / "partners" / name / "done") == sorted(expected), name  # archived
        assert files_in(folders / "partners" / name / "out") == []

    rows = cluster.ledger_rows(
        "SELECT integration, output_name, status FROM deliveries WHERE integration LIKE 'cluster_flood_%'"
    )
    counted = collections.Counter((integration, output) for integration, output, _ in rows)
    assert len(counted) == len(FLOOD) * FILES_EACH == 1000 and set(counted.values()) == {1}
    assert {status for _, _, status in rows} == {"delivered"}

    # the flood's tasks, too, ran on both workers, and moved files through the bucket only
    hosts = {host for name in FLOOD for host in cluster.hostnames(name).values()}
    assert hosts == set(cluster.workers), hosts
    uploads = cluster.s3.requests("PUT")
    for name in [*FLOOD, SFTP]:
        staged = [path for path in uploads if path.startswith(f"/{BUCKET}/staging/{name}/")]
        received = FILES_EACH if name != SFTP else UBL_FILES
        # fetch packs each round's small files into one object: one PUT per round, not per file
        packs = [path for path in staged if "/in/" in path]
        assert len(packs) == math.ceil(received / ROUND), (name, staged[:5])
        assert all(path.endswith(".pack") for path in packs), packs
    assert cluster.s3.keys(BUCKET, "staging/") == [], "staged files left the bucket with their runs"
    for worker in cluster.workers:
        home = cluster.worker_folder(worker) / "airflow-home"
        assert not (home / "invoice_hub").exists(), f"{worker} kept hub files on its disk"


def test_the_scheduler_killed_and_restarted_mid_run_completes_every_run_delivering_nothing_twice(
    cluster: ComposeCluster, transferred: Transferred
) -> None:
    """The delivery checks are those of the two tests above; here: the kill did land mid-run."""
    assert transferred.unfinished_at_kill, "every run had ended before the scheduler was killed"
    assert 0 < transferred.delivered_at_kill < len(FLOOD) * FILES_EACH + UBL_FILES
    assert all(run.state == "success" for run in transferred.runs.values())
    assert cluster.processes["airflow-scheduler"].poll() is None, "the restarted scheduler runs"
    assert transferred.schedulers == 2 and transferred.queued_by_successor > 0, "the successor took over"
    rows = cluster.ledger_rows(
        "SELECT integration, destination, output_name, count(*) FROM deliveries GROUP BY 1, 2, 3"
    )
    assert len(rows) == len(FLOOD) * FILES_EACH + UBL_FILES and {row[-1] for row in rows} == {1}


def test_an_export_backfill_renders_each_days_invoices_once_from_the_bucket(
    cluster: ComposeCluster, transferred: Transferred, folders: Path
) -> None:
    """The invoices the SFTP transfer received, exported by ``airflow backfill create`` over three
    days, each run on any worker, the documents read back from the store on the bucket."""
    assert transferred.runs[SFTP].state == "success"
    cluster.wait_for_dag(EXPORT, timeout=60)
    backfill = cluster.backfill(EXPORT, DAYS[0], DAYS[-1], "completed", max_active_runs=3)
    runs = cluster.wait_for_runs(EXPORT, backfill_id=backfill.id, timeout=240)
    assert [(run.day, run.state) for run in runs] == [(day, "success") for day in DAYS], [
        r.tasks for r in runs
    ]
    expected = sorted(f"CLUSTER-{number}.xml" for number in range(1, UBL_FILES + 1))
    assert files_in(folders / "exported") == expected
    for number in range(1, UBL_FILES + 1):
        exported = etree.parse(str(folders / "exported" / f"CLUSTER-{number}.xml")).getroot()
        assert exported.findtext(f"{{{CBC}}}IssueDate") == issued(number)
    rows = cluster.ledger_rows("SELECT invoice_id, status FROM invoice_exports")
    assert len(rows) == UBL_FILES and {status for _, status in rows} == {"delivered"}
    assert len({invoice for invoice, _ in rows}) == UBL_FILES, "each invoice exported once"


def ar_changes(folder: Path, day: int) -> list[tuple[str, str, str, str]]:
    with (folder / f"open_ar_2026-11-{day:02d}.changes.csv").open(newline="") as file:
        return sorted(
            (r["invoice_ref"], r["change"], r["previous_open_amount"], r["open_amount"])
            for r in csv.DictReader(file)
        )


def test_a_reconciliation_of_three_open_ar_snapshots_through_the_bucket(
    cluster: ComposeCluster, transferred: Transferred, sshd: SshServer, remote: Path, folders: Path
) -> None:
    """Each snapshot uploaded, reconciled by a run of its own (any task on any worker, the report
    staged on the bucket), and the receivables' statuses in the PostgreSQL ledger checked after it."""
    snapshots = {
        1: "A-1,C1,100.00,EUR,2026-12-01\nA-2,C1,50.00,EUR,2026-12-01\nA-3,C2,75.00,EUR,2026-12-15\n",
        2: "A-1,C1,100.00,EUR,2026-12-01\nA-2,C1,20.00,EUR,2026-12-01\nA-3,C2,75.00,EUR,2026-12-15\n"
        "A-4,C3,10.00,EUR,\n",
        3: "A-1,C1,100.00,EUR,2026-12-01\nA-2,C1,20.00,EUR,2026-12-01\nA-4,C3,10.00,EUR,\n",
    }
    receivables = {
        1: {"A-1": ("open", "100.00"), "A-2": ("open", "50.00"), "A-3": ("open", "75.00")},
        2: {"A-1": ("open", "100.00"), "A-2": ("open", "20.00"), "A-3": ("open", "75.00"),
            "A-4": ("open", "10.00")},
        3: {"A-1": ("open", "100.00"), "A-2": ("open", "20.00"), "A-3": ("paid", "75.00"),
            "A-4": ("open", "10.00")},
    }  # fmt: skip
    changes = {
        1: [("A-1", "opened", "", "100.00"), ("A-2", "opened", "", "50.00"), ("A-3", "opened", "", "75.00")],
        2: [("A-2", "partially_paid", "50.00", "20.00"), ("A-4", "opened", "", "10.00")],
        3: [("A-3", "paid", "75.00", "")],
    }
    out = folders / "ar-changes"
    cluster.wait_for_dag(RECONCILE, timeout=60)
    for day, rows in snapshots.items():
        sshd.drop(remote / "csv_data_uploads", f"open_ar_2026-11-{day:02d}.csv", AR_HEADER + rows)
        cluster.trigger(RECONCILE)
        runs = cluster.wait_for_runs(RECONCILE, count=day, run_type="manual", timeout=180)
        assert runs[-1].state == "success", (day, runs[-1].tasks, cluster.logs())
        assert ar_changes(out, day) == changes[day], day
        ledger = cluster.ledger_rows(
            "SELECT invoice_ref, status, open_amount FROM ar_invoices WHERE integration = :i", i=RECONCILE
        )
        assert {ref: (status, f"{amount:.2f}") for ref, status, amount in ledger} == receivables[day], day
    statuses = cluster.ledger_rows(
        "SELECT source_path, status FROM ar_snapshots WHERE integration = :i ORDER BY id", i=RECONCILE
    )
    assert [(Path(path).name, status) for path, status in statuses] == [
        (f"open_ar_2026-11-0{day}.csv", "applied") for day in (1, 2, 3)
    ]
    assert files_in(remote / "csv_data_uploads") == [f"processed/open_ar_2026-11-0{d}.csv" for d in (1, 2, 3)]
    staged = [p for p in cluster.s3.requests("PUT") if p.startswith(f"/{BUCKET}/staging/{RECONCILE}/")]
    assert len([path for path in staged if "/in/" in path]) == 3, staged


def test_a_worker_killed_mid_deliver_the_retry_runs_on_the_other_worker_and_delivers_each_once(
    cluster: ComposeCluster, gated: GatedSshServer, gated_remote: Path, folders: Path
) -> None:
    """The destination's SFTP server stalls the upload session after 20 complete uploads; with the
    ledger showing the deliveries pending, the worker running ``deliver`` is SIGKILLed (all its
    processes). It stays down: the scheduler finds the task without heartbeat, the retry runs on the
    other worker and proves or redoes each pending delivery, so every file arrives once."""
    gated.hold(after=COMPLETE_BEFORE_KILL)
    cluster.wait_for_dag(KILLED, timeout=60)
    cluster.trigger(KILLED)
    cluster.wait_until(lambda: gated.stalled() or None, 180, "the delivery stalled at the SFTP server")
    pending = cluster.ledger_rows(
        "SELECT count(*) FROM deliveries WHERE integration = :i AND status = 'pending'", i=KILLED
    )[0][0]
    (run,) = cluster.runs(KILLED, "manual")
    ((_, victim, state),) = cluster.tries(KILLED, run.run_id, "deliver")
    assert state == "running" and victim in cluster.workers
    cluster.kill(victim)
    gated.open()  # the dead worker's stalled session ends; new sessions pass

    arrived = gated_remote / "in"
    at_kill = files_in(arrived)
    complete = [name for name in at_kill if not name.startswith(".")]
    assert len(complete) == COMPLETE_BEFORE_KILL and pending == KILLED_FILES, (complete, pending)
    assert any(name.endswith(".part") for name in at_kill), "uploads in flight left temporary files"

    (run,) = cluster.wait_for_runs(KILLED, count=1, run_type="manual", timeout=300)
    assert run.state == "success" and run.tasks == dict.fromkeys(TASKS, "success"), (
        run.tasks,
        cluster.logs(),
    )
    tries = cluster.tries(KILLED, run.run_id, "deliver")
    (survivor,) = set(cluster.workers) - {victim}
    assert [host for _, host, _ in tries] == [victim, survivor], tries
    assert victim in cluster.killed and victim not in cluster.processes, "the killed worker stayed down"

    expected = [f"K-{number:02d}.xml" for number in range(1, KILLED_FILES + 1)]
    assert files_in(arrived) == expected, "one file per output, no temporary file left"
    assert all((arrived / f"K-{n:02d}.xml").read_text() == f"<Invoice>K {n}</Invoice>" for n in range(1, 61))
    rows = cluster.ledger_rows("SELECT output_name, status FROM deliveries WHERE integration = :i", i=KILLED)
    assert sorted(rows) == [(name, "delivered") for name in expected]
    assert files_in(folders / "partners" / KILLED / "done") == expected
