"""EN 16931 validation speed: invoices per second on the shared official examples, beside bare lxml
parsing of the same files in the same run (one core). Target: >= 200 invoices/s for 5-20 KB invoices.

    .venv/bin/python bench/validate.py [--seconds 3] [--quick]

--quick (what `make test` runs, through tests/test_benchmarks.py): a fifth of a second each; it
proves the benchmark runs, its rates are too noisy to compare with the target.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lxml import etree

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT.parent / "shared" / "einvoice-examples"
sys.path.insert(0, str(PROJECT / "plugins"))  # this checkout's library, not an installed copy

from invoice_hub.validation.en16931 import check_en16931  # noqa: E402


def rate(work, documents: list[bytes], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for document in documents:
            work(document)
        done += len(documents)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each (default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds: does it run?")
    args = parser.parse_args()
    if args.quick:  # the quick duration replaces the default only: --seconds given still counts
        parser.set_defaults(seconds=0.2)
        args = parser.parse_args()
    documents = [p.read_bytes() for p in sorted(EXAMPLES.rglob("*.xml"))]
    if not documents:
        raise SystemExit(f"no examples in {EXAMPLES}: the benchmark needs the shared official examples")
    sizes = sorted(len(d) // 1024 for d in documents)
    parse = rate(etree.fromstring, documents, args.seconds)
    validate = rate(lambda d: check_en16931(etree.fromstring(d)), documents, args.seconds)
    print(f"{len(documents)} official examples, {sizes[0]}-{sizes[-1]} KB, one core, {args.seconds:g} s each")
    print(f"bare lxml parse:          {parse:8.0f} invoices/s")
    print(f"parse + EN 16931 rules:   {validate:8.0f} invoices/s  ({parse / validate:.1f}x the parse time)")
    print(f"target 200 invoices/s:    {'met' if validate >= 200 else 'MISSED'}")


if __name__ == "__main__":
    main()
