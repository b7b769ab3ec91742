"""EN 16931 and PEPPOL validation speed, beside CEN's official XSLT on SaxonC-HE, same files, same run.

On the 17 official examples (``../shared/einvoice-examples``), one core, invoices per second of:

- bare lxml parsing (the floor every validator pays),
- the hub's EN 16931 rules (``check_en16931``) on a parsed tree, and end to end from bytes (the
  hub's hardened parser + the rules),
- CEN's EN 16931 UBL XSLT (``../shared/en16931-xslt``) on SaxonC-HE (``saxonche``): compiled once,
  then per document what a validator does with it: parse the bytes, transform, SVRL out,
- ``validate: peppol`` (``check_peppol``: EN 16931 and PEPPOL BIS 3 rules) from bytes.

Targets: the hub's EN 16931 validation >= 3x the XSLT's rate (end to end, both from bytes), and
``validate: peppol`` >= 200 invoices/s.

    .venv/bin/python bench/validate.py [--seconds 5] [--quick]

The contenders take turns of 50 ms (whole passes over the examples) until each has run ``--seconds``:
on a shared machine the others' load then weighs on all of them alike. ``--quick`` (what ``make test``
runs, through tests/test_benchmarks.py): a fifth of a second each; it proves the benchmark runs, its
rates are too noisy to compare with the targets.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT.parent / "shared" / "einvoice-examples"
sys.path[:0] = [str(PROJECT / "plugins"), str(PROJECT)]  # this checkout's library, not an installed copy

from invoice_hub.formats.xml import parse_xml  # noqa: E402
from invoice_hub.validation.en16931 import check_en16931  # noqa: E402
from invoice_hub.validation.peppol import check_peppol  # noqa: E402
from tests.reference_xslt import reference  # noqa: E402


def race(
    contenders: dict[str, tuple[Callable[[object], object], list]], seconds: float, turn: float = 0.05
) -> dict[str, tuple[float, float]]:
    """(documents per second, documents per CPU second of this thread) of each contender, taking
    turns of ``turn`` seconds (whole passes over its inputs) until each has run ``seconds``.

    On a shared machine the load changes from second to second; contenders that alternate every few
    hundredths of a second see the same load, so their ratio holds even when the absolute rates do not.
    The CPU-second rate is what one core does when it is not shared (SaxonC's collector threads are
    not counted in it, which favours the XSLT).
    """
    spent = dict.fromkeys(contenders, 0.0)
    cpu = dict.fromkeys(contenders, 0.0)
    done = dict.fromkeys(contenders, 0)
    while min(spent.values()) < seconds:
        for name, (work, inputs) in contenders.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            while True:
                for document in inputs:
                    work(document)
                done[name] += len(inputs)
                elapsed = time.perf_counter() - start
                if elapsed >= turn:
                    break
            spent[name] += elapsed
            cpu[name] += time.thread_time() - start_cpu
    return {name: (done[name] / spent[name], done[name] / cpu[name]) for name in contenders}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent on each (default 5)")
    parser.add_argument("--quick", action="store_true", help="tiny durations, one round: does it run?")
    args = parser.parse_args()
    if args.quick:  # the quick durations replace the defaults only: --seconds given still counts
        parser.set_defaults(seconds=0.2)
        args = parser.parse_args()
    paths = sorted(EXAMPLES.rglob("*.xml"))
    if not paths:
        raise SystemExit(f"no examples in {EXAMPLES}: the benchmark needs the shared official examples")
    documents = [p.read_bytes() for p in paths]
    trees = [etree.fromstring(d) for d in documents]
    xslt = reference()  # compiled once, before any timing
    # The XSLT's verdicts, once, to show the run compares like with like (the differential test
    # holds the hub to them document by document).
    agree = sum(
        {f.rule for f in check_en16931(t) if f.severity == "fatal"} == xslt.fatal(d)
        for t, d in zip(trees, documents, strict=True)
    )
    contenders: dict[str, tuple[Callable[[object], object], list]] = {
        "bare lxml parse": (etree.fromstring, documents),
        "hub EN 16931, parsed tree": (check_en16931, trees),
        "hub EN 16931, from bytes": (lambda d: check_en16931(parse_xml(d, "bench")), documents),
        "CEN XSLT on SaxonC-HE, from bytes": (xslt.svrl, documents),
        "validate: peppol, from bytes": (lambda d: check_peppol(parse_xml(d, "bench")), documents),
    }
    best = race(contenders, args.seconds)
    sizes = sorted(len(d) // 1024 for d in documents)
    print(
        f"{len(documents)} official examples, {sizes[0]}-{sizes[-1]} KB, one core, "
        f"{args.seconds:g} s each, taking turns; "
        f"hub and XSLT agree on {agree}/{len(documents)} verdicts"
    )
    xslt_rate, xslt_cpu = best["CEN XSLT on SaxonC-HE, from bytes"]
    print(f"{'':36} {'invoices/s':>10}  {'x XSLT':>6}  {'per CPU s':>9}  {'x XSLT':>6}")
    for name, (value, per_cpu) in best.items():
        print(
            f"{name + ':':36} {value:10.0f}  {value / xslt_rate:6.1f}  {per_cpu:9.0f}  {per_cpu / xslt_cpu:6.1f}"
        )
    hub = best["hub EN 16931, from bytes"][0] / xslt_rate
    peppol, peppol_cpu = best["validate: peppol, from bytes"]
    print(f"target hub >= 3x the XSLT:           {hub:.1f}x  {'met' if hub >= 3 else 'MISSED'}")
    print(
        f"target peppol >= 200 invoices/s:     {peppol:.0f}/s, {peppol_cpu:.0f} per CPU second  "
        f"{'met' if peppol >= 200 else 'met per CPU second only' if peppol_cpu >= 200 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
