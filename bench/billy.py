"""billy -> canonical invoices -> UBL, against the raw HTTP paging of the same billy stand-in, in one run.

N approved invoices (default 10,000: 1,000 a day over 10 days, so 10 pages of billy's largest page
size, 1,000) are booked in the billy API v2 stand-in of the tests (``tests/servers/billy.py``, a real
HTTP server on 127.0.0.1), with their lines embedded and contacts sideloaded in each page.

  - baseline: the raw paging: ``GET /v2/invoices?page=1..10&pageSize=1000`` of the interval with
    ``include=invoice.lines:embed,invoice.contact:sideload``, each page's JSON decoded (requests'
    ``.json()``), nothing else: what any client of the API pays at least;
  - hub, read + map: ``BillySource.documents`` over the interval: the entry-date windows (probes and
    one request a day), Decimal JSON, each record once by id, mapped to the canonical model;
  - hub, read + map + UBL: the same, each invoice then rendered as UBL 2.1 (``write_ubl``);
  - hub, export end to end: ``dag.test()`` of a billy export integration (a monthly interval holding
    the N invoices) in a fresh Airflow home: every invoice read, recorded in a SQLite ledger with
    its PDF (one more request each) in the document store, rendered as UBL and delivered to a local
    folder, as a scheduled run does; timed from the run's start to its end, files counted.

Invoices/s for each, the median of ``--repeat`` runs; the ratio to the baseline is the figure.
The first three fetch no PDF (each is one more request per invoice, the same for any client); the
export does, as it must.

    .venv/bin/python bench/billy.py [--invoices 10000] [--days 10] [--repeat 3]
    .venv/bin/python bench/billy.py --quick          (400 invoices over 2 days, pages of 100, once)

``BENCH_LOG_LEVEL=INFO`` prints the export run's own log (what it selected, read and delivered).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "plugins"))

from invoice_hub.accounting.billy import INCLUDE, BillyClient, BillySource  # noqa: E402
from invoice_hub.formats.ubl_writer import write_ubl  # noqa: E402
from tests.servers.billy import BillyStandIn  # noqa: E402

START = dt.date(2026, 3, 2)


def raw_paging(server: BillyStandIn, days: int, page_size: int) -> int:
    """Every page of the interval's listing, decoded; the number of invoices read."""
    import requests

    params = {
        "state": "approved",
        "minEntryDate": START.isoformat(),
        "maxEntryDate": (START + dt.timedelta(days=days - 1)).isoformat(),
        "include": INCLUDE,
        "pageSize": page_size,
    }
    count, page = 0, 1
    with requests.Session() as session:
        session.headers["X-Access-Token"] = server.token
        while True:
            body = session.get(f"{server.url}/invoices", params={**params, "page": page}, timeout=60).json()
            count += len(body["invoices"])
            if page >= body["meta"]["paging"]["pageCount"]:
                return count
            page += 1


def hub(server: BillyStandIn, days: int, page_size: int, *, render: bool) -> int:
    source = BillySource(BillyClient(server.token, base_url=server.url, page_size=page_size))
    start = dt.datetime.combine(START, dt.time(), dt.UTC)
    count = 0
    try:
        for sourced in source.documents(start, start + dt.timedelta(days=days)):
            assert sourced.invoice is not None, sourced.findings
            if render:
                write_ubl(sourced.invoice)
            count += 1
    finally:
        source.close()
    return count


EXPORT = """
name: billy_bench
kind: export
schedule: "@monthly"
start_date: 2026-03-01
source: {type: billy, conn_id: billy}
transform: {output: ubl, validate: none, filename: "{invoice_number}.xml"}
destinations: [{type: local, path: "%s"}]
"""

EXPORT_CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import datetime as dt
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.dags["billy_bench"]
for task in dag.tasks:
    task.retries = 0
began = time.perf_counter()
run = dag.test(logical_date=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))  # the interval March ends at
seconds = time.perf_counter() - began
print(json.dumps({"state": str(run.state), "seconds": seconds}))
"""


def export_end_to_end(server: BillyStandIn) -> tuple[float, int]:
    """One dag.test() of a billy export in a fresh Airflow home; (seconds, files delivered)."""
    with tempfile.TemporaryDirectory(prefix="bench-billy-") as tmp:
        root = Path(tmp)
        (root / "integrations").mkdir()
        (root / "integrations" / "billy_bench.yaml").write_text(textwrap.dedent(EXPORT % (root / "out")))
        env = {
            **os.environ,
            "PYTHONPATH": f"{PROJECT / 'plugins'}:{PROJECT}",
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
            "INVOICE_HUB_INTEGRATIONS_DIR": str(root / "integrations"),
            "AIRFLOW_CONN_INVOICE_HUB_DB": f"sqlite:///{root / 'ledger.db'}",
            "INVOICE_HUB_STAGING_URL": (root / "staging").as_uri(),
            "INVOICE_HUB_STORE_URL": (root / "store").as_uri(),
            "AIRFLOW_CONN_BILLY": server.connection(),
        }
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
        out = subprocess.run(
            [sys.executable, "-c", EXPORT_CHILD, str(PROJECT / "dags")],
            env=env,
            capture_output=True,
            text=True,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith('{"state"')]
        if out.returncode != 0 or not lines:
            raise SystemExit(f"the export run did not finish:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        result = json.loads(lines[-1])
        if result["state"] != "success":
            raise SystemExit(f"the export run ended {result['state']}:\n{out.stderr[-3000:]}")
        if os.environ.get("BENCH_LOG_LEVEL"):
            print(out.stdout[-6000:], out.stderr[-6000:])
        delivered = len(list((root / "out").glob("*.xml")))
        return result["seconds"], delivered


def timed(run, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        count = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.days, args.page_size, args.repeat = 400, 2, 100, 1

    server = BillyStandIn().generate(args.invoices, start=START, days=args.days).start()
    try:
        # warm, untimed: imports (the secrets masker pulls in Airflow's logging), the server's code
        raw_paging(server, args.days, args.page_size)
        hub(server, args.days, args.page_size, render=True)
        rows = []
        for name, run in (
            ("raw HTTP paging (baseline)", lambda: raw_paging(server, args.days, args.page_size)),
            ("hub: read + map", lambda: hub(server, args.days, args.page_size, render=False)),
            ("hub: read + map + UBL", lambda: hub(server, args.days, args.page_size, render=True)),
        ):
            seconds, count = timed(run, args.repeat)
            rows.append((name, seconds, count))
        seconds, count = export_end_to_end(server)  # once: a run at this size takes minutes
        rows.append(("hub: export end to end", seconds, count))
    finally:
        server.stop()

    baseline = rows[0][1]
    pages = -(-args.invoices // args.page_size)
    print(
        f"billy: {args.invoices} invoices over {args.days} days, {pages} pages of {args.page_size}, median of {args.repeat}"
    )
    for name, seconds, count in rows:
        print(
            f"  {name:28} {count:6d} invoices  {seconds:7.2f} s  {count / seconds:8.0f} invoices/s  {seconds / baseline:5.2f}x baseline"
        )
    for _, _, count in rows:
        assert count == rows[0][2], "every run must read the same invoices"


if __name__ == "__main__":
    main()
