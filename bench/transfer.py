"""SFTP -> SFTP throughput of the hub's tasks against rclone, on the same OpenSSH server, in one run.

N small invoice files (default 2,000, about 3 KB each) lie in a folder of a real sshd on 127.0.0.1.
  - hub: the operators of an integration DAG run as Airflow runs them (fetch, validate_transform,
    deliver), streaming each file into staging, recording it in a SQLite ledger and uploading it
    under a temporary name then renaming it;
  - baseline: ``rclone copy`` of the same files from that folder to another (two remotes, so no
    server-side copy; hash check off, as the hub checks sizes only), with rclone's defaults otherwise.
Target: the hub within 2x of rclone's files per second.

    .venv/bin/python bench/transfer.py [--files 2000] [--repeat 3]     (runs as root: it starts sshd)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

PROJECT = Path(__file__).resolve().parents[1]
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
sys.path.insert(0, str(PROJECT))


def hub_transfer(server, source: Path, target: Path, work: Path, attempt: int) -> float:
    from invoice_hub.config.models import Integration
    from invoice_hub.manifest import Candidate, CandidateList
    from invoice_hub.operators import DeliverOperator, FetchOperator, ValidateTransformOperator
    from invoice_hub.transports.sftp import SftpTransport

    os.environ["AIRFLOW_CONN_BENCH_SFTP"] = server.connection(concurrency=CONCURRENCY)
    os.environ["AIRFLOW_CONN_INVOICE_HUB_DB"] = f"sqlite:///{work / f'ledger-{attempt}.db'}"
    os.environ["INVOICE_HUB_STAGING_URL"] = (work / f"staging-{attempt}").as_uri()
    integration = Integration.model_validate(
        {
            "name": "bench",
            "source": {"type": "sftp", "conn_id": "bench_sftp", "path": str(source)},
            "destinations": [{"type": "sftp", "conn_id": "bench_sftp", "path": str(target)}],
        }
    )
    xcom: dict[str, object] = {}
    context = {"run_id": "bench", "ti": SimpleNamespace(xcom_pull=lambda task_ids: xcom[task_ids])}
    operators = [
        cls(task_id=task_id, integration=integration, integration_file=work / "bench.yaml")
        for cls, task_id in (
            (FetchOperator, "fetch"),
            (ValidateTransformOperator, "validate_transform"),
            (DeliverOperator, "deliver"),
        )
    ]
    operators[0].ledger  # noqa: B018 - open and migrate the ledger before the clock starts
    with SftpTransport("bench_sftp") as transport:  # the listing is wait_for_files' work, not timed
        listed = transport.list_files(str(source), recursive=False)
    xcom["wait_for_files"] = CandidateList(
        candidates=[Candidate(path=f.path, size=f.size, mtime=f.mtime) for f in listed]
    ).to_xcom()
    start = time.perf_counter()
    for operator in operators:
        began = time.perf_counter()
        xcom[operator.task_id] = operator.execute(context)
        print(f"  {operator.task_id}: {time.perf_counter() - began:.2f} s", file=sys.stderr)
    return time.perf_counter() - start


def rclone_transfer(server, source: Path, target: Path, work: Path) -> float:
    known_hosts = work / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {server.host_key}\n")
    env = {**os.environ, "RCLONE_CONFIG": str(work / "rclone.conf")}
    for remote in ("SRC", "DST"):
        env.update(
            {
                f"RCLONE_CONFIG_{remote}_TYPE": "sftp",
                f"RCLONE_CONFIG_{remote}_HOST": "127.0.0.1",
                f"RCLONE_CONFIG_{remote}_PORT": str(server.port),
                f"RCLONE_CONFIG_{remote}_USER": "invoicehub-test",
                f"RCLONE_CONFIG_{remote}_KEY_FILE": str(server.client_key),
                f"RCLONE_CONFIG_{remote}_KNOWN_HOSTS_FILE": str(known_hosts),
            }
        )
    start = time.perf_counter()
    subprocess.run(
        ["rclone", "copy", f"src:{source}", f"dst:{target}", "--sftp-disable-hashcheck", "--no-check-dest"],
        env=env,
        check=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved; medians are shown")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    os.environ.update(
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
    )
    from invoice_hub.demo import sample_invoice
    from tests.servers.sshd import remove_server, start_server

    server = start_server()
    try:
        source = server.make_folder("outbox")
        rng = random.Random(7)
        import datetime as dt

        for n in range(args.files):
            (source / f"INV-{n:05d}.xml").write_bytes(
                sample_invoice(f"INV-{n:05d}", dt.date(2026, 11, 1), rng)
            )
        server.chown(source)
        size = sum(p.stat().st_size for p in source.iterdir())
        rclone_runs, hub_runs = [], []
        for attempt in range(args.repeat):  # interleaved, so that both see the same machine
            rclone_runs.append(
                rclone_transfer(server, source, server.make_folder(f"rclone-in-{attempt}"), work)
            )
            hub_runs.append(
                hub_transfer(server, source, server.make_folder(f"hub-in-{attempt}"), work, attempt)
            )
            copied = {
                name: len(list((server.files / f"{name}-{attempt}").iterdir()))
                for name in ("rclone-in", "hub-in")
            }
            assert copied == {"rclone-in": args.files, "hub-in": args.files}, copied
        rclone_seconds, hub_seconds = statistics.median(rclone_runs), statistics.median(hub_runs)
    finally:
        remove_server(server)
        shutil.rmtree(work, ignore_errors=True)

    rclone_rate, hub_rate = args.files / rclone_seconds, args.files / hub_seconds
    print(
        f"SFTP -> SFTP, {args.files} files, {size / args.files / 1024:.1f} KiB each on average, same sshd; "
        f"median of {args.repeat} interleaved runs"
    )
    print("| what | seconds | files/s |")
    print("|---|---:|---:|")
    print(f"| rclone copy (baseline) | {rclone_seconds:.2f} | {rclone_rate:.0f} |")
    print(f"| hub: fetch + validate_transform + deliver | {hub_seconds:.2f} | {hub_rate:.0f} |")
    ratio = hub_seconds / rclone_seconds
    print(f"\nhub takes {ratio:.2f}x rclone's time (target <= 2x: {'met' if ratio <= 2 else 'MISSED'})")
    print(
        json.dumps(
            {
                "files": args.files,
                "rclone_s": round(rclone_seconds, 3),
                "hub_s": round(hub_seconds, 3),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
