"""billy -> canonical invoices -> UBL, against the raw HTTP paging of the same billy stand-in, in one run.

N approved invoices (default 10,000: 1,000 a day over 10 days, so 10 pages of billy's largest page
size, 1,000) are booked in the billy API v2 stand-in of the tests (``tests/servers/billy.py``, a real
HTTP server on 127.0.0.1), with their lines embedded and contacts sideloaded in each page.

  - baseline: the raw paging: ``GET /v2/invoices?page=1..10&pageSize=1000`` of the interval with
    ``include=invoice.lines:embed,invoice.contact:sideload``, each page's JSON decoded (requests'
    ``.json()``), nothing else: what any client of the API pays at least;
  - hub, read + map: ``BillySource.documents`` over the interval: the entry-date windows (probes and
    one request a day), Decimal JSON, each record once by id, mapped to the canonical model;
  - hub, read + map + UBL: the same, each invoice then rendered as UBL 2.1 (``write_ubl``).

Invoices/s for each, the median of ``--repeat`` runs; the ratio to the baseline is the figure.
PDFs are not fetched: each is one more request per invoice, the same for any client.

    .venv/bin/python bench/billy.py [--invoices 10000] [--days 10] [--repeat 3]
    .venv/bin/python bench/billy.py --quick          (400 invoices over 2 days, pages of 100, once)
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
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
