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


def ubl_invoice(number: str) -> bytes:
    """The official PEPPOL BIS 3 base example with the invoice number ``number``."""
    tree = etree.parse(str(EXAMPLE))
    tree.getroot().find(f"{{{CBC}}}ID").text = number
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
    for number in range(1, UBL_FILES + 1):
        sshd.drop(remote / "outbox", f"UBL-{number}.xml", ubl_invoice(f"CLUSTER-{number}"))
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


def test_transfers_run_on_both_workers_and_deliver_every_file_once(
    cluster: ComposeCluster, folders: Path, remote: Path
) -> None:
    for name in [*INTEGRATIONS, SFTP]:
        cluster.wait_for_dag(name, timeout=120)
    cluster.trigger(*INTEGRATIONS, SFTP)
    (sftp_run,) = cluster.wait_for_runs(SFTP, count=1, run_type="manual", timeout=240)
    runs = {
        name: cluster.wait_for_runs(name, count=1, run_type="manual", timeout=240) for name in INTEGRATIONS
    }

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
        sha256 = hashlib.sha256(ubl_invoice(f"CLUSTER-{number}")).hexdigest()
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
