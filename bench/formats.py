"""UBL -> AP Agility and UBL -> UBL conversion speed against bare lxml, and peak memory with a 200 MB
attachment.

Speed: every official example of ../shared/einvoice-examples, copied --copies times into a temporary
folder, converted file by file as the validate_transform task does (read from disk into the
canonical model, written as AP Agility XML, or as UBL again), against bare lxml parsing each file
and serialising it again. Rounds alternate between the three and the medians are compared; beside
them, the best round's CPU time of the process, which other processes on the machine disturb less.
Target (issue 13, the complete EN 16931 model): both within 2.5x.

Memory: a UBL invoice embedding a --attachment-mb PDF, converted to an AP Agility file and to a UBL
file, each in a fresh process; the figure is the process's peak resident memory above what it held
before the conversion (imports done), next to bare lxml parsing the same file. Target: under 3x the
attachment.

    .venv/bin/python bench/formats.py [--copies 30] [--repeat 7] [--attachment-mb 200] [--quick]

Instruction counts, which a loaded machine does not disturb: --rounds RUN (lxml, ap_agility or ubl;
or one part of a conversion alone: parse, walk, validate, write_ubl or write_ap_agility)
converts the 17 examples twice to warm up, then three times inside ``functools.reduce``, which
callgrind can be told to count alone; the total divided by three is one round:

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \
        .venv/bin/python bench/formats.py --rounds ap_agility

The floor, --floor: what any conversion in Python over lxml and the pydantic model costs before its
logic, each part measured alone beside the same baseline in the same run: the hub's hardened parse;
a Python loop that only reads every element's tag and text (what any reader must touch); pydantic
validating the values the reader collected (the model's construction); and emitting one f-string
per element (a writer that decides nothing). Their sum, next to the 2.5x target, shows how little
is left for the reader's and writers' logic:

    .venv/bin/python bench/formats.py --floor [--copies 10] [--repeat 7]

Build: what is measured is the build of the conversion modules the process imports, named on the
first line of the output: the compiled copies that make install builds (invoice_hub.compiled), or,
with INVOICE_HUB_PURE_PYTHON=1 (or without current copies), the interpreted sources.

--quick (what `make test` runs, through tests/test_benchmarks.py): one copy, one round, a 3 MB
attachment; it proves the benchmark runs, its figures are too small to compare with the targets.
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT.parent / "shared" / "einvoice-examples"
sys.path.insert(0, str(PROJECT / "plugins"))

MEMORY_CHILD = """
import json, resource, sys
from pathlib import Path
from lxml import etree
from invoice_hub.formats import read_document
from invoice_hub.formats.ap_agility import write_ap_agility
from invoice_hub.formats.ubl_writer import write_ubl_to

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

source, target, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
before = rss_kib()
if mode == "lxml":
    root = etree.parse(str(source), etree.XMLParser(huge_tree=True)).getroot()
    target.write_bytes(etree.tostring(root))
else:
    (invoice,) = read_document(source, "ubl", str(source)).invoices
    with target.open("wb") as sink:
        if mode == "ap_agility":
            write_ap_agility(invoice, sink)
        else:
            write_ubl_to(invoice, sink)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "peak_kib": peak}))
"""


def to_ap_agility(files: list[Path]) -> None:
    from invoice_hub.formats import read_document
    from invoice_hub.formats.ap_agility import write_ap_agility

    for path in files:
        (invoice,) = read_document(path, "ubl", str(path)).invoices
        write_ap_agility(invoice, io.BytesIO())


def to_ubl(files: list[Path]) -> None:
    from invoice_hub.formats import read_document
    from invoice_hub.formats.ubl_writer import write_ubl

    for path in files:
        (invoice,) = read_document(path, "ubl", str(path)).invoices
        write_ubl(invoice)


def lxml_all(files: list[Path]) -> None:
    from lxml import etree

    for path in files:
        etree.tostring(etree.parse(str(path)).getroot())


def speed(copies: int, repeat: int, folder: Path) -> dict[str, tuple[float, float]]:
    """Invoices per second of each run: the median of the rounds' wall-clock times, and the best
    round's CPU time of this process (steadier when other processes share the machine)."""
    files = []
    for copy in range(copies):
        for example in sorted(EXAMPLES.rglob("*.xml")):
            target = folder / f"{copy:03d}-{example.name}"
            shutil.copyfile(example, target)
            files.append(target)
    runs = (("lxml", lxml_all), ("ap_agility", to_ap_agility), ("ubl", to_ubl))
    for _, run in runs:  # imports and caches warm, for all
        run(files[:17])
    wall: dict[str, list[float]] = {name: [] for name, _ in runs}
    cpu: dict[str, list[float]] = {name: [] for name, _ in runs}
    for _ in range(repeat):
        for name, run in runs:
            start, start_cpu = time.perf_counter(), time.process_time()
            run(files)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: (len(files) / statistics.median(wall[name]), len(files) / min(cpu[name])) for name, _ in runs
    }


def big_invoice(folder: Path, megabytes: int) -> Path:
    """The base example with a PDF of ``megabytes`` embedded, written without holding it in memory."""
    text = (EXAMPLES / "peppol-bis3" / "examples_base-example.xml").read_text(encoding="utf-8")
    head, tail = text.split("<cac:AccountingSupplierParty>", 1)
    path = folder / "big.xml"
    chunk = os.urandom(3 * 1024 * 1024)
    with path.open("w", encoding="utf-8") as sink:
        sink.write(head)
        sink.write(
            "<cac:AdditionalDocumentReference><cbc:ID>scan</cbc:ID><cac:Attachment>"
            '<cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="scan.pdf">'
        )
        for _ in range(megabytes * 1024 * 1024 // len(chunk)):
            sink.write(base64.b64encode(chunk).decode())
        sink.write("</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>")
        sink.write("<cac:AccountingSupplierParty>" + tail)
    return path


def memory(megabytes: int, folder: Path) -> list[tuple[str, float]]:
    source = big_invoice(folder, megabytes)
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "plugins")}
    rows = []
    for mode in ("lxml", "ap_agility", "ubl"):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(source), str(folder / f"out-{mode}.xml"), mode],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((mode, (result["peak_kib"] - result["before_kib"]) / 1024))
    return rows


def instruction_rounds(name: str) -> None:
    """Three rounds of ``name`` over the examples, each inside functools.reduce (see the docstring)."""
    files = sorted(EXAMPLES.rglob("*.xml"))
    runs = {"lxml": lxml_all, "ap_agility": to_ap_agility, "ubl": to_ubl}
    run = functools.partial(runs[name], files) if name in runs else _part(name, files)
    run()
    run()
    functools.reduce(lambda _, __: run(), range(3), None)  # three calls


#: The parts --rounds can count alone: the hardened parse, the reader's walk, pydantic's validation
#: of what the walk collected, and each writer from the finished model.
PARTS = ("parse", "walk", "validate", "write_ubl", "write_ap_agility")


def _part(name: str, files: list[Path]) -> Callable[[], object]:
    """One part of a conversion alone (PARTS), its inputs for the five rounds made beforehand."""
    import copy

    from invoice_hub.formats import read_document, ubl
    from invoice_hub.formats.ap_agility import write_ap_agility
    from invoice_hub.formats.ubl_writer import write_ubl
    from invoice_hub.formats.xml import parse_xml
    from invoice_hub.model import Invoice

    if name == "parse":
        return lambda: [parse_xml(path, str(path)) for path in files]
    if name in ("write_ubl", "write_ap_agility"):
        invoices = [read_document(path, "ubl", str(path)).invoices[0] for path in files]
        if name == "write_ubl":
            return lambda: [write_ubl(invoice) for invoice in invoices]
        return lambda: [write_ap_agility(invoice, io.BytesIO()) for invoice in invoices]
    if name == "walk":  # a fresh tree each round: reading takes the attachments' text out
        trees = iter([[parse_xml(path, str(path)) for path in files] for _ in range(5)])
        return lambda: [ubl._read(root, ubl.DOCUMENT, "x", {"type": "invoice"}) for root in next(trees)]
    collected = reader_values(files)  # validate: what the reader hands to pydantic, for each round
    values = iter([copy.deepcopy(collected) for _ in range(5)])
    return lambda: [Invoice.model_validate(invoice) for invoice in next(values)]


def reader_values(files: list[Path]) -> list[dict]:
    """The values the UBL reader hands to pydantic for each file (its validation swapped for a
    collector), so that validation can be measured alone."""
    from invoice_hub.formats import ubl
    from invoice_hub.formats.xml import parse_xml
    from invoice_hub.model import Invoice

    collected: list[dict] = []
    ubl.Invoice = type("Collect", (), {"model_validate": staticmethod(collected.append)})  # type: ignore[misc]
    try:
        for path in files:
            ubl.ubl_from_root(parse_xml(path, str(path)), str(path))
    finally:
        ubl.Invoice = Invoice  # type: ignore[misc]
    return collected


def floor(copies: int, repeat: int) -> dict[str, float]:
    """CPU milliseconds (best round) of the baseline and of each floor part over the examples ``copies``
    times; every part starts from what the one before produced, measured outside its timing."""
    import copy

    from lxml import etree

    from invoice_hub.formats.xml import parse_xml
    from invoice_hub.model import Invoice

    files = sorted(EXAMPLES.rglob("*.xml")) * copies
    collected = reader_values(files)
    real_validate = Invoice.model_validate
    roots = [parse_xml(path, str(path)) for path in files]
    touched = [[(e.tag, e.text) for e in root.iter()] for root in roots]

    def baseline() -> None:
        for path in files:
            etree.tostring(etree.parse(str(path)).getroot())

    def parse() -> None:
        for path in files:
            parse_xml(path, str(path))

    def touch() -> None:
        for root in roots:
            [(element.tag, element.text) for element in root.iter()]

    def emit() -> None:
        for elements in touched:
            "".join([f"<{tag}>{text}</{tag}>" for tag, text in elements]).encode()

    parts = {"baseline": baseline, "parse": parse, "touch": touch, "emit": emit}
    best = {name: float("inf") for name in (*parts, "validate")}
    for _ in range(repeat):
        for name, run in parts.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
        values = copy.deepcopy(collected)
        start = time.process_time()
        for invoice in values:
            real_validate(invoice)
        best["validate"] = min(best["validate"], time.process_time() - start)
    return {name: seconds * 1000 for name, seconds in best.items()}


def print_floor(copies: int, repeat: int) -> None:
    ms = floor(copies, repeat)
    labels = {
        "parse": "the hub's hardened lxml parse",
        "touch": "Python reading every element's tag and text, nothing else",
        "validate": "pydantic validating the values the reader collected",
        "emit": "one f-string per element joined into bytes, nothing decided",
    }
    print(f"Floor: the 17 examples x {copies}, CPU time, best of {repeat} rounds")
    print("| part | ms | x baseline |")
    print("|---|---:|---:|")
    print(f"| bare lxml parse + serialise (baseline) | {ms['baseline']:.1f} | 1.00 |")
    for name, label in labels.items():
        print(f"| {label} | {ms[name]:.1f} | {ms[name] / ms['baseline']:.2f} |")
    total = sum(ms[name] for name in labels) / ms["baseline"]
    print(
        f"\nfloor: {total:.2f}x the baseline before any logic; the 2.5x target leaves "
        f"{2.5 - total:.2f}x for the reader's and writer's logic"
    )


def build_in_use() -> str:
    """Which build of the conversion modules this process runs (invoice_hub.compiled): make install
    compiles them; INVOICE_HUB_PURE_PYTHON=1 measures the interpreted sources instead."""
    from invoice_hub.compiled import copies_in_use

    if copies_in_use():
        return "compiled copies (plugins/invoice_hub/_compiled, Cython)"
    return "pure Python (the sources interpreted: no current compiled copies, or INVOICE_HUB_PURE_PYTHON=1)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=30, help="copies of the 17 examples (default 30)")
    parser.add_argument("--repeat", type=int, default=7, help="alternating rounds; medians shown")
    parser.add_argument("--attachment-mb", type=int, default=200, help="size of the embedded PDF")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds: does it run?")
    parser.add_argument(
        "--rounds",
        choices=("lxml", "ap_agility", "ubl", *PARTS),
        help="only three rounds of one run (or one part of a conversion), for callgrind",
    )
    parser.add_argument("--floor", action="store_true", help="what conversion costs before its logic")
    args = parser.parse_args()
    if args.floor:
        print(f"Build: {build_in_use()}\n")
        print_floor(min(args.copies, 10), args.repeat)
        return
    if args.rounds:
        print(f"Build: {build_in_use()}")
        instruction_rounds(args.rounds)
        return
    if args.quick:  # the quick sizes replace the defaults only: options given still count
        parser.set_defaults(copies=1, repeat=1, attachment_mb=3)
        args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        folder = Path(tmp)
        (folder / "speed").mkdir()
        measured = speed(args.copies, args.repeat, folder / "speed")
        peaks = dict(memory(args.attachment_mb, folder))
    rates = {name: wall for name, (wall, _) in measured.items()}
    ratios = {name: rates["lxml"] / rates[name] for name in ("ap_agility", "ubl")}
    cpu_ratios = {name: measured["lxml"][1] / measured[name][1] for name in ("ap_agility", "ubl")}
    print(f"Build: {build_in_use()}\n")
    print(f"Speed: {17 * args.copies} files, median of {args.repeat} alternating rounds")
    print("| what | invoices/s | x baseline time | x baseline CPU time (best round) |")
    print("|---|---:|---:|---:|")
    print(f"| bare lxml parse + serialise (baseline) | {rates['lxml']:,.0f} | 1.0 | 1.0 |")
    for name, label in (
        ("ap_agility", "hub: UBL -> canonical model -> AP Agility XML"),
        ("ubl", "hub: UBL -> canonical model -> UBL"),
    ):
        print(f"| {label} | {rates[name]:,.0f} | {ratios[name]:.2f} | {cpu_ratios[name]:.2f} |")
    print(f"\nMemory: one UBL invoice embedding a {args.attachment_mb} MB PDF")
    print("| what | peak memory above start (MB) | x attachment |")
    print("|---|---:|---:|")
    labels = (
        ("lxml", "bare lxml parse + serialise"),
        ("ap_agility", "hub: UBL -> AP Agility file"),
        ("ubl", "hub: UBL -> UBL file"),
    )
    for mode, label in labels:
        print(f"| {label} | {peaks[mode]:,.0f} | {peaks[mode] / args.attachment_mb:.2f} |")
    verdicts = []
    for name in ("ap_agility", "ubl"):
        peak = peaks[name] / args.attachment_mb
        verdicts.append(
            f"{name}: {ratios[name]:.2f}x bare lxml (target <= 2.5x: {'met' if ratios[name] <= 2.5 else 'MISSED'}; "
            f"CPU time {cpu_ratios[name]:.2f}x), "
            f"memory {peak:.2f}x the attachment (target < 3x: {'met' if peak < 3 else 'MISSED'})"
        )
    print("\n" + "\n".join(verdicts) + "\n")
    print_floor(min(args.copies, 10), args.repeat)


if __name__ == "__main__":
    main()
