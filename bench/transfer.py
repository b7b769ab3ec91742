"""SFTP -> SFTP throughput of the hub's tasks against rclone, on the same OpenSSH server, in one run.

N small invoice files (default 2,000, about 3 KB each) lie in a folder of a real sshd on 127.0.0.1.
  - hub: fetch, validate_transform and deliver of one run, through the library functions their
    operators adapt (``exchange.fetch``, ``exchange.deliver``): each file streamed into staging,
    claimed in a SQLite ledger, its delivery noted, uploaded under a temporary name then renamed,
    and recorded (in batches);
  - baseline: ``rclone copy`` of the same files from that folder to another (two remotes, so no
    server-side copy; hash check off: in the normal case, with no delivery pending from a crash,
    the hub reads nothing back either), with rclone's defaults otherwise.
Target: the hub within 1.5x of rclone's time.

    .venv/bin/python bench/transfer.py [--files 2000] [--repeat 3]     (runs as root: it starts sshd)
    .venv/bin/python bench/transfer.py --quick                          (20 files, once: seconds)
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
    """fetch, validate_transform and deliver of one run, through the library functions the
    operators adapt (validate_transform's operator, with the manifest fetch made, as its own)."""
    from invoice_hub.config.models import Integration
    from invoice_hub.exchange.deliver import deliver_files
    from invoice_hub.exchange.fetch import fetch_files
    from invoice_hub.ledger.store import Ledger
    from invoice_hub.manifest import Candidate, Manifest
    from invoice_hub.operators import ValidateTransformOperator
    from invoice_hub.staging import Staging
    from invoice_hub.transports import open_transport
    from invoice_hub.transports.sftp import SftpTransport

    # a key, as rclone's: the test user's password is reset by every test session on this machine
    os.environ["AIRFLOW_CONN_BENCH_SFTP"] = server.connection(auth="key", concurrency=CONCURRENCY)
    os.environ["AIRFLOW_CONN_INVOICE_HUB_DB"] = f"sqlite:///{work / f'ledger-{attempt}.db'}"
    os.environ["INVOICE_HUB_STAGING_URL"] = (work / f"staging-{attempt}").as_uri()
    integration = Integration.model_validate(
        {
            "name": "bench",
            "source": {"type": "sftp", "conn_id": "bench_sftp", "path": str(source)},
            "destinations": [{"type": "sftp", "conn_id": "bench_sftp", "path": str(target)}],
        }
    )
    ledger = Ledger()  # opened and migrated before the clock starts
    transform = ValidateTransformOperator(
        task_id="validate_transform", integration=integration, integration_file=work / "bench.yaml"
    )
    with SftpTransport("bench_sftp") as transport:  # the listing is wait_for_files' work, not timed
        listed = transport.list_files(str(source), recursive=False)
    candidates = [Candidate(path=f.path, size=f.size, mtime=f.mtime) for f in listed]
    steps: dict[str, float] = {}
    start = time.perf_counter()
    with SftpTransport("bench_sftp") as transport:
        entries = fetch_files(
            ledger, transport, Staging("bench", "bench"), candidates, integration="bench", run_id="bench"
        )
    steps["fetch"] = time.perf_counter()
    xcom = {"fetch": Manifest(files=entries).to_xcom()}
    context = {"run_id": "bench", "ti": SimpleNamespace(xcom_pull=lambda task_ids: xcom[task_ids])}
    transformed = Manifest.model_validate(transform.execute(context))  # type: ignore[arg-type]
    steps["validate_transform"] = time.perf_counter()
    deliver_files(ledger, integration, transformed.files, "bench", lambda d: open_transport(d, work))
    steps["deliver"] = time.perf_counter()
    assert all(e.status == "delivered" for e in transformed.files), "every file delivered"
    began = start
    for step, ended in steps.items():
        print(f"  {step}: {ended - began:.2f} s", file=sys.stderr)
        began = ended
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
    parser.add_argument("--quick", action="store_true", help="20 files, one run of each (make test)")
    args = parser.parse_args()
    if args.quick:
        args.files, args.repeat = 20, 1
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
    print(f"\nhub takes {ratio:.2f}x rclone's time (target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})")
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
