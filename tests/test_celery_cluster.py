"""docker-compose.yaml's CeleryExecutor cluster, run as processes: transfers whose tasks land on both
workers, with staging and the document store in the S3 bucket and the ledger on PostgreSQL.

The two workers share nothing but the DAG folder, PostgreSQL, Redis and the bucket (each has its own
working directory, HOME, TMPDIR and Airflow home): a task that left a file on its worker's disk for
the next task, or kept state there, would fail or lose files when the next task runs on the other one.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from tests.helpers import drop, files_in, write
from tests.servers.airflow_scheduler import RunInfo
from tests.servers.compose_cluster import BUCKET, ComposeCluster
from tests.servers.sshd import SshServer

pytestmark = pytest.mark.airflow

#: Four integrations started at once: with two task slots per worker, four queued tasks cannot all
#: run on one worker, so both take tasks whatever the order Celery hands them out in.
INTEGRATIONS = [f"cluster_drop_{index}" for index in range(1, 5)]
FILES_EACH = 3
TASKS = {"archive", "deliver", "fetch", "validate_transform", "wait_for_files"}
#: And an SFTP -> validate/convert -> SFTP transfer of official UBL examples, renumbered.
SFTP = "cluster_sftp_ubl"
UBL_FILES = 6
EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "einvoice-examples"
    / "peppol-bis3"
    / "examples_base-example.xml"
)
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


#: The export backfill's days; the received UBL invoices are issued two on each.
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]
EXPORT = "cluster_export"


def issued(number: int) -> str:
    return DAYS[(number - 1) % len(DAYS)]


def ubl_invoice(number: int) -> bytes:
    """The official PEPPOL BIS 3 base example as invoice ``CLUSTER-<number>``, issued on a backfill day."""
    tree = etree.parse(str(EXAMPLE))
    tree.getroot().find(f"{{{CBC}}}ID").text = f"CLUSTER-{number}"
    tree.getroot().find(f"{{{CBC}}}IssueDate").text = issued(number)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("celery-cluster")


@pytest.fixture(scope="module")
def remote(sshd: SshServer) -> Path:
    return sshd.make_folder("celery_cluster")


@pytest.fixture(scope="module")
def cluster(folders: Path, sshd: SshServer, remote: Path) -> Iterator[ComposeCluster]:
    integrations = folders / "integrations"
    write(
        integrations / f"{SFTP}.yaml",
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
        integrations / f"{EXPORT}.yaml",
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
    for number in range(1, UBL_FILES + 1):
        sshd.drop(remote / "outbox", f"UBL-{number}.xml", ubl_invoice(number))
    for name in INTEGRATIONS:
        write(
            integrations / f"{name}.yaml",
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
              - type: local
                path: {folders / "erp" / name / "in"}
            """,
        )
        for number in range(1, FILES_EACH + 1):
            drop(
                folders / "partners" / name / "out",
                f"INV-{number}.xml",
                f"<Invoice>{name} {number}</Invoice>",
            )
    harness = ComposeCluster(
        folders / "cluster", integrations, {"AIRFLOW_CONN_PARTNER_SFTP": sshd.connection()}, workers=2
    )
    harness.start()
    try:
        yield harness
    finally:
        print(harness.logs())  # shown when a test fails
        harness.stop()


@pytest.fixture(scope="module")
def transferred(cluster: ComposeCluster) -> dict[str, list[RunInfo]]:
    """Every transfer triggered at once and run to its end: dag_id -> its one run."""
    names = [*INTEGRATIONS, SFTP]
    for name in names:
        cluster.wait_for_dag(name, timeout=120)
    cluster.trigger(*names)
    return {name: cluster.wait_for_runs(name, count=1, run_type="manual", timeout=240) for name in names}


def test_transfers_run_on_both_workers_and_deliver_every_file_once(
    cluster: ComposeCluster, transferred: dict[str, list[RunInfo]], folders: Path, remote: Path
) -> None:
    (sftp_run,) = transferred[SFTP]
    runs = {name: transferred[name] for name in INTEGRATIONS}

    for name, (run,) in runs.items():
        assert run.state == "success", (name, run.tasks, cluster.logs())
        assert run.tasks == dict.fromkeys(TASKS, "success"), name
        expected = [f"INV-{number}.xml" for number in range(1, FILES_EACH + 1)]
        assert files_in(folders / "erp" / name / "in") == expected, name
        assert files_in(folders / "partners" / name / "done") == expected, name  # originals archived
        assert files_in(folders / "partners" / name / "out") == []

    # SFTP -> validate/convert -> SFTP: each invoice converted and delivered once, originals archived
    assert sftp_run.state == "success" and sftp_run.tasks == dict.fromkeys(TASKS, "success"), sftp_run.tasks
    delivered = [path.read_bytes() for path in sorted((remote / "erp" / "in").iterdir())]
    numbers = sorted(etree.fromstring(data).findtext(f"{{{CBC}}}ID") for data in delivered)
    assert numbers == sorted(f"CLUSTER-{number}" for number in range(1, UBL_FILES + 1))
    assert files_in(remote / "done") == sorted(f"UBL-{number}.xml" for number in range(1, UBL_FILES + 1))
    assert files_in(remote / "outbox") == []
    # the received invoices are in the document store (by content), on the bucket
    keys = set(cluster.s3.keys(BUCKET))
    for number in range(1, UBL_FILES + 1):
        sha256 = hashlib.sha256(ubl_invoice(number)).hexdigest()
        assert f"store/{sha256[:2]}/{sha256}.xml" in keys, (number, sorted(keys))

    # every output delivered exactly once, as the ledger on PostgreSQL has it
    deliveries = cluster.ledger_rows("SELECT integration, output_name, status FROM deliveries")
    counted = collections.Counter((integration, output) for integration, output, _ in deliveries)
    assert len(counted) == len(INTEGRATIONS) * FILES_EACH + UBL_FILES and set(counted.values()) == {1}
    assert {status for _, _, status in deliveries} == {"delivered"}

    # the tasks ran on both workers (the hostname each task instance recorded)
    hosts = {host for name in [*INTEGRATIONS, SFTP] for host in cluster.hostnames(name).values()}
    assert hosts == set(cluster.workers), hosts

    # files between tasks went through the bucket (and left it with the run), none through a disk
    uploads = cluster.s3.requests("PUT")
    for name in [*INTEGRATIONS, SFTP]:
        staged = [path for path in uploads if path.startswith(f"/{BUCKET}/staging/{name}/")]
        received = FILES_EACH if name != SFTP else UBL_FILES
        assert len([path for path in staged if "/in/" in path]) == received, (name, staged)
    assert [key for key in cluster.s3.keys(BUCKET) if key.startswith("staging/")] == []
    for worker in cluster.workers:
        home = cluster.worker_folder(worker) / "airflow-home"
        assert not (home / "invoice_hub").exists(), f"{worker} kept hub files on its disk"


def test_an_export_backfill_renders_each_days_invoices_once_from_the_bucket(
    cluster: ComposeCluster, transferred: dict[str, list[RunInfo]], folders: Path
) -> None:
    """The invoices the SFTP transfer received, exported by ``airflow backfill create`` over three
    days, each run on any worker, the documents read back from the store on the bucket."""
    assert transferred[SFTP][0].state == "success"
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
