"""docker-compose.yaml's CeleryExecutor cluster, run as processes: transfers whose tasks land on both
workers, with staging and the document store in the S3 bucket and the ledger on PostgreSQL.

The two workers share nothing but the DAG folder, PostgreSQL, Redis and the bucket (each has its own
working directory, HOME, TMPDIR and Airflow home): a task that left a file on its worker's disk for
the next task, or kept state there, would fail or lose files when the next task runs on the other one.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import drop, files_in, write
from tests.servers.compose_cluster import BUCKET, ComposeCluster

pytestmark = pytest.mark.airflow

#: Four integrations started at once: with two task slots per worker, four queued tasks cannot all
#: run on one worker, so both take tasks whatever the order Celery hands them out in.
INTEGRATIONS = [f"cluster_drop_{index}" for index in range(1, 5)]
FILES_EACH = 3
TASKS = {"archive", "deliver", "fetch", "validate_transform", "wait_for_files"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("celery-cluster")


@pytest.fixture(scope="module")
def cluster(folders: Path) -> Iterator[ComposeCluster]:
    integrations = folders / "integrations"
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
    harness = ComposeCluster(folders / "cluster", integrations, workers=2)
    harness.start()
    try:
        yield harness
    finally:
        print(harness.logs())  # shown when a test fails
        harness.stop()


def test_a_transfer_runs_on_both_workers_and_delivers_every_file_once(
    cluster: ComposeCluster, folders: Path
) -> None:
    for name in INTEGRATIONS:
        cluster.wait_for_dag(name, timeout=120)
    cluster.trigger(*INTEGRATIONS)
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

    # every output delivered exactly once, as the ledger on PostgreSQL has it
    deliveries = cluster.ledger_rows("SELECT integration, output_name, status FROM deliveries")
    counted = collections.Counter((integration, output) for integration, output, _ in deliveries)
    assert len(counted) == len(INTEGRATIONS) * FILES_EACH and set(counted.values()) == {1}
    assert {status for _, _, status in deliveries} == {"delivered"}

    # the tasks ran on both workers (the hostname each task instance recorded)
    hosts = {host for name in INTEGRATIONS for host in cluster.hostnames(name).values()}
    assert hosts == set(cluster.workers), hosts

    # files between tasks went through the bucket (and left it with the run), none through a disk
    uploads = cluster.s3.requests("PUT")
    for name in INTEGRATIONS:
        staged = [path for path in uploads if path.startswith(f"/{BUCKET}/staging/{name}/")]
        assert len([path for path in staged if "/in/" in path]) == FILES_EACH, (name, staged)
    assert [key for key in cluster.s3.keys(BUCKET) if key.startswith("staging/")] == []
    for worker in cluster.workers:
        home = cluster.worker_folder(worker) / "airflow-home"
        assert not (home / "invoice_hub").exists(), f"{worker} kept hub files on its disk"
