"""An SFTP -> SFTP DAG run with S3 staging on the Celery cluster beside the same run with local
staging on the LocalExecutor, in one run.

The transfer of ``bench/transfer.py`` (N small invoices, default 2,000, about 3.4 KiB each, in a
folder of a real sshd on 127.0.0.1, to another folder of the same server), but as real DAG runs of
one integration file (``wait_for_files >> fetch >> validate_transform >> deliver >> archive``, the
originals moved to ``done/`` by archive), each timed from its trigger to its success as the metadata
database has it (``dag_run.queued_at`` to ``dag_run.end_date``):

  - baseline: the scheduler harness (``tests/servers/airflow_scheduler.py``, LocalExecutor), the
    staging area and the document store in local folders, the ledger on the machine's PostgreSQL;
  - cluster: docker-compose.yaml's topology as processes (``tests/servers/compose_cluster.py``:
    CeleryExecutor, two workers, Redis, PostgreSQL metadata and ledger), staging and the document
    store in an S3 bucket (moto's S3 server standing in for MinIO).

Both deployments run the same integration file against the same sshd, one after the other (never
both at once: the machine has two cores). Every delivered file is compared by sha256 with what was
dropped. Each round drops new invoices (new content: the ledger would skip a repeat as a duplicate).
Target: the cluster with S3 staging within 1.5x of local staging's time.

    .venv/bin/python bench/cluster.py [--files 2000] [--repeat 3] [--split]   (as root: it starts sshd)
    .venv/bin/python bench/cluster.py --quick     (20 files, once each: 1-2 min, most of it starting
                                                   the two deployments)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.servers.airflow_scheduler import POSTGRES_ADMIN_URL, AirflowScheduler, RunInfo  # noqa: E402
from tests.servers.compose_cluster import ComposeCluster  # noqa: E402
from tests.servers.sshd import SshServer, remove_server, start_server  # noqa: E402

DAG_ID = "bench_cluster"
TASKS = ("wait_for_files", "fetch", "validate_transform", "deliver", "archive")
#: SFTP requests in flight, as bench/transfer.py.
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))


def write_integration(folder: Path, remote: Path) -> None:
    """The one integration file both deployments run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{DAG_ID}.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: {DAG_ID}
            kind: transfer
            schedule: null
            start_date: 2026-01-01
            source:
              type: sftp
              conn_id: bench_sftp
              path: {remote}/outbox
              pattern: "*.xml"
              on_success: {{move_to: {remote}/done}}
            destinations:
              - type: sftp
                conn_id: bench_sftp
                path: {remote}/erp/in
            """
        )
    )


def drop_invoices(server: SshServer, remote: Path, files: int, seed: int) -> dict[str, str]:
    """``files`` new invoices in the outbox (the destination and done/ emptied); name -> sha256."""
    from invoice_hub.demo import sample_invoice

    for folder in ("outbox", "done", "erp"):
        shutil.rmtree(remote / folder, ignore_errors=True)
    outbox = remote / "outbox"
    outbox.mkdir(parents=True)
    (remote / "erp" / "in").mkdir(parents=True)
    rng = random.Random(seed)
    expected = {}
    for n in range(files):
        name = f"INV-{seed:02d}-{n:05d}.xml"
        data = sample_invoice(name[:-4], dt.date(2026, 11, 1), rng)
        (outbox / name).write_bytes(data)
        expected[name] = hashlib.sha256(data).hexdigest()
    old = time.time() - 3600  # written long ago, as a partner's finished files are
    for path in outbox.iterdir():
        os.utime(path, (old, old))
    server.chown(remote)
    return expected


def delivered(remote: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (remote / "erp" / "in").iterdir()}


def timed_run(harness: AirflowScheduler, timeout: float) -> dict:
    """Trigger one run, wait for its end; its seconds from trigger to success and each task's."""
    before = {run.run_id for run in harness.runs(DAG_ID, run_type="manual")}
    # ComposeCluster.trigger needs nothing of the cluster but the CLI environment and folder every
    # harness has: the same in-process trigger for both deployments
    ComposeCluster.trigger(harness, DAG_ID)  # type: ignore[arg-type]
    runs = harness.wait_for_runs(DAG_ID, count=len(before) + 1, run_type="manual", timeout=timeout)
    (run,) = [run for run in runs if run.run_id not in before]
    if run.state != "success":
        raise RuntimeError(f"{run.run_id} ended {run.state}: {run.tasks}\n{failed_tasks(harness, run)}")
    ((queued, ended),) = harness._rows(
        "SELECT queued_at, end_date FROM dag_run WHERE dag_id = :d AND run_id = :r", d=DAG_ID, r=run.run_id
    )
    tasks = {
        task: (duration or 0.0, hostname)
        for task, duration, hostname in harness._rows(
            "SELECT task_id, duration, hostname FROM task_instance WHERE dag_id = :d AND run_id = :r",
            d=DAG_ID,
            r=run.run_id,
        )
    }
    return {"seconds": (ended - queued).total_seconds(), "tasks": tasks}


def failed_tasks(harness: AirflowScheduler, run: RunInfo) -> str:
    """The error lines of the run's failed tasks, from whichever worker's logs hold them."""
    parts = []
    for task, state in run.tasks.items():
        if state in ("failed", "up_for_retry", "upstream_failed"):
            for log in sorted(harness.folder.glob(f"**/run_id={run.run_id}/task_id={task}/attempt=*.log")):
                lines = log.read_text(errors="replace").splitlines()
                errors = [line[:2000] for line in lines if "error" in line.lower()][-5:]
                parts.append(f"--- {log}\n" + "\n".join(errors))
    return "\n".join(parts) or harness.logs()


def rounds(
    harness: AirflowScheduler, server: SshServer, remote: Path, files: int, repeat: int, seed: int
) -> list[dict]:
    harness.wait_for_dag(DAG_ID, timeout=120)
    results = []
    for attempt in range(repeat):
        expected = drop_invoices(server, remote, files, seed + attempt)
        result = timed_run(harness, timeout=600 + files)
        got = delivered(remote)
        if got != expected:
            missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
            wrong = sorted(n for n in set(got) & set(expected) if got[n] != expected[n])
            raise RuntimeError(
                f"delivered files differ: missing {missing[:5]}, extra {extra[:5]}, wrong {wrong[:5]}"
            )
        if sorted(p.name for p in (remote / "done").iterdir()) != sorted(expected):
            raise RuntimeError("the originals were not all archived to done/")
        results.append(result)
        print(f"  round {attempt + 1}: {result['seconds']:.2f} s", file=sys.stderr)
    return results


@contextlib.contextmanager
def ledger_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the LocalExecutor's ledger (the cluster's is made by its harness)."""
    admin = sa.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    name = f"invoice_hub_bench_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def local_deployment(work: Path, integrations: Path, sftp: str, ledger_url: str) -> AirflowScheduler:
    hub = work / "local-hub"
    return AirflowScheduler(
        work / "local",
        integrations,
        {
            "AIRFLOW_CONN_BENCH_SFTP": sftp,
            "AIRFLOW_CONN_INVOICE_HUB_DB": ledger_url,
            "INVOICE_HUB_STAGING_URL": (hub / "staging").as_uri(),
            "INVOICE_HUB_STORE_URL": (hub / "store").as_uri(),
            "INVOICE_HUB_OBJECT_STORE_CONN_ID": "",
            # the cluster's services get the same: this checkout's DAG and plugins folders
            "PYTHONPATH": f"{PROJECT / 'plugins'}:{PROJECT}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        },
        parallelism=4,  # the cluster's two workers' two slots each
    )


def summary(name: str, results: list[dict]) -> dict:
    seconds = statistics.median(r["seconds"] for r in results)
    tasks = {task: statistics.median(r["tasks"][task][0] for r in results) for task in TASKS}
    hosts = sorted({r["tasks"][task][1] for r in results for task in TASKS})
    return {"name": name, "seconds": seconds, "tasks": tasks, "hosts": hosts}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs on each deployment; medians are shown")
    parser.add_argument("--quick", action="store_true", help="20 files, one run on each (make test)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) for a look")
    parser.add_argument(
        "--split",
        action="store_true",
        help="also the cluster with staging and store in a folder both workers share (this machine's "
        "disk): what Celery costs, apart from S3",
    )
    args = parser.parse_args()
    if args.quick:
        args.files, args.repeat = 20, 1
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    server = start_server()
    results = {}
    try:
        remote = server.make_folder("bench_cluster")
        integrations = work / "integrations"
        write_integration(integrations, remote)
        sftp = server.connection(auth="key", concurrency=CONCURRENCY)
        with ledger_database() as ledger_url:
            local = local_deployment(work, integrations, sftp, ledger_url)
            started = time.perf_counter()
            local.start()
            print(
                f"LocalExecutor deployment started in {time.perf_counter() - started:.0f} s", file=sys.stderr
            )
            try:
                results["local"] = rounds(local, server, remote, args.files, args.repeat, seed=1)
            finally:
                local.stop()
        shared = work / "shared-disk"
        deployments = {"cluster": {}}
        if args.split:  # a deployment's override of the compose file's staging and store URLs
            deployments["cluster_disk"] = {
                "INVOICE_HUB_STAGING_URL": (shared / "staging").as_uri(),
                "INVOICE_HUB_STORE_URL": (shared / "store").as_uri(),
            }
        for seed, (name, urls) in enumerate(deployments.items(), start=5):
            cluster = ComposeCluster(
                work / name, integrations, {"AIRFLOW_CONN_BENCH_SFTP": sftp, **urls}, workers=2
            )
            started = time.perf_counter()
            cluster.start()
            print(
                f"Celery cluster ({name}) started in {time.perf_counter() - started:.0f} s", file=sys.stderr
            )
            try:
                results[name] = rounds(cluster, server, remote, args.files, args.repeat, seed=seed * 10)
            finally:
                cluster.stop()
    finally:
        remove_server(server)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}", file=sys.stderr)

    local, cluster = summary("local", results["local"]), summary("cluster", results["cluster"])
    print(
        f"SFTP -> SFTP DAG runs, {args.files} files, same sshd and integration file; "
        f"median of {args.repeat} run(s) on each, trigger to success"
    )
    print("| deployment | seconds | files/s | " + " | ".join(TASKS) + " |")
    print("|---|---:|---:|" + "---:|" * len(TASKS))
    rows = [
        ("LocalExecutor, local staging (baseline)", local),
        ("CeleryExecutor, 2 workers, S3 staging", cluster),
    ]
    if "cluster_disk" in results:
        rows.append(
            ("CeleryExecutor, 2 workers, staging on a shared disk", summary("disk", results["cluster_disk"]))
        )
    for label, row in rows:
        cells = " | ".join(f"{row['tasks'][task]:.2f}" for task in TASKS)
        print(f"| {label} | {row['seconds']:.2f} | {args.files / row['seconds']:.0f} | {cells} |")
    ratio = cluster["seconds"] / local["seconds"]
    print(f"\ntasks ran on: local {local['hosts']}, cluster {cluster['hosts']}")
    print(
        f"S3 staging on the cluster takes {ratio:.2f}x local staging's time "
        f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})"
    )
    print(
        json.dumps(
            {
                "files": args.files,
                "local_s": round(local["seconds"], 3),
                "cluster_s": round(cluster["seconds"], 3),
                "ratio": round(ratio, 3),
                "local_tasks_s": {k: round(v, 3) for k, v in local["tasks"].items()},
                "cluster_tasks_s": {k: round(v, 3) for k, v in cluster["tasks"].items()},
            }
        )
    )


if __name__ == "__main__":
    main()
