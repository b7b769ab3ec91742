"""Open-AR reconciliation of a 1,000,000-row snapshot against a bare pandas anti-join of the same files.

Two generated open-AR reports (Kolleno-like columns, ISO dates, 2-decimal amounts): previous.csv with
--rows invoices, and current.csv without 5 % of them (paid), with a lower open amount for 2 %
(partially paid) and 1 % new rows (opened), in another order.
  - hub: in a fresh process on a SQLite ledger that holds previous.csv already (applied once, in
    another process, timed apart as setup), ``reconcile_file`` on current.csv as the reconcile
    operator calls it (read and check the report, compare it with the open invoices, write the
    changes to the ledger in one transaction), then the changes as CSV and JSON, as the operator
    writes them;
  - baseline: in a fresh process, ``pd.read_csv`` of both files with every cell as text (the hub
    reads text, for exact amounts), an outer merge on the invoice number with an indicator (both
    anti-joins), and the open amounts of the invoices in both compared as floats.
Each verifies its counts; the hub's change file is checked invoice by invoice against what was
generated. Targets: the hub within 3x the baseline's time, and under 2 GB peak resident memory.

    .venv/bin/python bench/reconcile.py [--rows 1000000] [--repeat 3] [--quick]

--quick (what `make test` runs, through tests/test_benchmarks.py): 2,000 rows, one run; every
result is still checked, the times are too small to compare with the targets.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "plugins"))

HEADER = ["Invoice Number", "Customer ID", "Customer Name", "Issue Date", "Due Date", "Currency"]
HEADER += ["Amount", "Open Amount"]
PREVIOUS, CURRENT = "open_ar_2026-11-01.csv", "open_ar_2026-11-02.csv"
INTEGRATION = "bench_reconcile"
TARGET_RATIO, TARGET_MB = 3.0, 2000.0


@dataclass
class Truth:
    """What current.csv changes: invoice numbers paid and opened, and the new open amount of partial ones."""

    paid: set[str]
    opened: set[str]
    partial: dict[str, str]

    def counts(self) -> dict[str, int]:
        return {
            "opened": len(self.opened),
            "reopened": 0,
            "paid": len(self.paid),
            "partially_paid": len(self.partial),
            "amount_changed": 0,
        }


def generate(folder: Path, rows: int, seed: int = 7) -> Truth:
    """previous.csv and current.csv in ``folder``, with numpy's string ufuncs (no Python loop per row)."""
    rng = np.random.default_rng(seed)
    paid_count, partial_count, new_count = rows * 5 // 100, rows * 2 // 100, rows // 100
    total = rows + new_count
    customer = rng.integers(0, 20_000, total).astype(str)
    issued = np.datetime64("2025-01-01") + rng.integers(0, 600, total).astype("timedelta64[D]")
    amount = rng.integers(1_000, 5_000_000, total)  # cents
    opened = amount - np.where(rng.random(total) < 0.2, amount // 3, 0)  # a fifth paid in part before
    columns = [
        np.strings.add("INV-", np.strings.zfill(np.arange(total).astype(str), 8)),
        np.strings.add("C", np.strings.zfill(customer, 5)),
        np.strings.add("Customer ", customer),
        issued.astype(str),
        (issued + np.timedelta64(30, "D")).astype(str),
        np.array(["EUR", "USD", "GBP"])[rng.integers(0, 3, total)],
        cents_text(amount),
    ]
    # Lines without the open amount, as Python strings (object arrays add them at C speed).
    fixed = functools.reduce(lambda line, cell: line + "," + cell, (c.astype(object) for c in columns))
    open_amount = cents_text(opened)

    def write(name: str, order: np.ndarray) -> None:
        lines = fixed[order] + "," + open_amount[order].astype(object)
        (folder / name).write_text("\n".join([",".join(HEADER), *lines.tolist(), ""]))

    write(PREVIOUS, np.arange(rows))
    shuffled = rng.permutation(rows)
    paid, partial = shuffled[:paid_count], shuffled[paid_count : paid_count + partial_count]
    lower = np.maximum(opened[partial] * rng.uniform(0.1, 0.9, partial_count), 1).astype(np.int64)
    open_amount[partial] = cents_text(lower)
    keep = np.ones(total, dtype=bool)
    keep[paid] = False
    write(CURRENT, rng.permutation(np.flatnonzero(keep)))
    refs = columns[0]
    return Truth(
        paid=set(refs[paid].tolist()),
        opened=set(refs[rows:].tolist()),
        partial=dict(zip(refs[partial].tolist(), open_amount[partial].tolist(), strict=True)),
    )


def cents_text(cents: np.ndarray) -> np.ndarray:
    """Amounts in cents as text with two decimals: 1234 -> "12.34", 5 -> "0.05"."""
    fraction = np.strings.zfill((cents % 100).astype(str), 2)
    return np.strings.add(np.strings.add((cents // 100).astype(str), "."), fraction)


# -- the measured work, each in a child process of its own -------------------------------------------


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``getrusage``'s ru_maxrss: Linux carries that
    over from the parent across fork + exec, so every child would report at least the parent's peak."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kib * 1024 / 1e6


def bare_join(folder: Path) -> dict:
    ref, amount = "Invoice Number", "Open Amount"
    start = time.perf_counter()
    before = pd.read_csv(folder / PREVIOUS, dtype=str)
    now = pd.read_csv(folder / CURRENT, dtype=str)
    joined = before[[ref, amount]].merge(now[[ref, amount]], on=ref, how="outer", indicator=True)
    both = joined[joined["_merge"] == "both"]
    lower = both[f"{amount}_y"].astype(float) < both[f"{amount}_x"].astype(float)
    counts = {
        "paid": int((joined["_merge"] == "left_only").sum()),
        "opened": int((joined["_merge"] == "right_only").sum()),
        "partially_paid": int(lower.sum()),
    }
    return {"seconds": time.perf_counter() - start, "counts": counts, "peak_mb": peak_mb()}


def timed(function, label: str, stages: dict[str, float]):
    """``function``, adding the seconds of each call to ``stages[label]``."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            stages[label] = stages.get(label, 0.0) + time.perf_counter() - began

    return run


def hub_apply(folder: Path, ledger: Path, name: str, outputs: bool) -> dict:
    """``reconcile_file`` on ``name`` (and its change files, with ``outputs``), as the operator runs it."""
    from invoice_hub.config.models import Reconcile
    from invoice_hub.ledger.database import get_engine
    from invoice_hub.ledger.receivables import Receivables
    from invoice_hub.reconciliation import apply as apply_module
    from invoice_hub.reconciliation.apply import reconcile_file
    from invoice_hub.reconciliation.outputs import write_changes_csv, write_changes_json
    from invoice_hub.reconciliation.snapshot import produced_at

    stages: dict[str, float] = {}  # where reconcile_file's time goes: its steps, timed where it calls them
    for label, owner, attribute in (
        ("read and check the report", apply_module, "read_snapshot"),
        ("the open invoices from the ledger", Receivables, "open_state"),
        ("compare (and look up earlier payments)", apply_module, "compare"),
        ("ledger write (one transaction)", Receivables, "apply"),
    ):
        setattr(owner, attribute, timed(getattr(owner, attribute), label, stages))
    engine = get_engine(f"sqlite:///{ledger}")
    path = folder / name
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()  # fetch's work, not the operator's
    start = time.perf_counter()
    outcome = reconcile_file(
        Receivables(engine),
        INTEGRATION,
        Reconcile(),
        path,
        source=f"/outbox/{name}",
        sha256=sha256,
        produced_at=produced_at(name, path.stat().st_mtime),
        run_id="bench",
    )
    reconciled = time.perf_counter()
    stages["the rest of reconcile_file"] = reconciled - start - sum(stages.values())
    if outputs and outcome.status == "applied":
        with (folder / "changes.csv").open("wb") as sink:
            write_changes_csv(outcome, sink)
        with (folder / "changes.json").open("wb") as sink:
            write_changes_json(outcome, INTEGRATION, sink)
        stages["the changes as CSV and JSON"] = time.perf_counter() - reconciled
    seconds = time.perf_counter() - start
    with engine.connect() as connection:  # leave the whole ledger in ledger.db, to be copied
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        states = dict(
            connection.exec_driver_sql("SELECT status, count(*) FROM ar_invoices GROUP BY status").all()
        )
    engine.dispose()
    return {
        "seconds": seconds,
        "stages": stages,
        "status": outcome.status,
        "reason": outcome.reason,
        "counts": outcome.comparison.counts if outcome.comparison is not None else None,
        "states": states,
        "peak_mb": peak_mb(),
    }


def child(args: list[str]) -> dict:
    """Run one measurement in a fresh process; its result is the last line it prints."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- checking -----------------------------------------------------------------------------------


def check(what: str, got: object, expected: object) -> None:
    """Stop the benchmark when a result is wrong: a fast wrong reconciliation proves nothing."""
    if got == expected:
        return
    if isinstance(got, set | dict) and isinstance(expected, set | dict) and len(expected) > 10:
        if isinstance(got, dict) and isinstance(expected, dict):
            differ = [k for k, v in expected.items() if k not in got or got[k] != v]
        else:
            differ = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        raise SystemExit(
            f"WRONG: {what}: {len(got):,} instead of {len(expected):,}; {len(differ):,} missing or "
            f"different (e.g. {differ[:3]}), {len(extra):,} unexpected (e.g. {extra[:3]})"
        )
    raise SystemExit(f"WRONG: {what}: got {got}, expected {expected}")


def check_changes(folder: Path, truth: Truth) -> None:
    """The hub's change file, invoice by invoice, against what the generator changed."""
    changes = pd.read_csv(folder / "changes.csv", dtype=str, keep_default_na=False)
    by_kind = {kind: group for kind, group in changes.groupby("change")}
    check("the kinds of change in changes.csv", set(by_kind), {"paid", "partially_paid", "opened"})
    check("the invoices paid", set(by_kind["paid"]["invoice_ref"]), truth.paid)
    check("the invoices opened", set(by_kind["opened"]["invoice_ref"]), truth.opened)
    partial = by_kind["partially_paid"]
    amounts = dict(zip(partial["invoice_ref"], partial["open_amount"], strict=True))
    check("the partial payments' open amounts", amounts, truth.partial)
    document = json.loads((folder / "changes.json").read_bytes())
    check("the counts in changes.json", document["counts"], truth.counts())
    check("the changes in changes.json", len(document["changes"]), len(changes))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="invoices in previous.csv")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; medians shown")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds: does it run?")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:  # the quick sizes replace the defaults only: options given still count
        parser.set_defaults(rows=2_000, repeat=1)
        args = parser.parse_args()
    if args.child:
        mode, folder, *rest = args.child
        if mode == "baseline":
            result = bare_join(Path(folder))
        else:
            result = hub_apply(Path(folder), Path(rest[0]), rest[1], outputs=mode == "hub")
        print(json.dumps(result, default=str))
        return

    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
        setup, runs = measure(Path(tmp), args.rows, args.repeat)
    report(args.rows, args.repeat, setup, runs)


def measure(folder: Path, rows: int, repeat: int) -> tuple[dict, dict[str, list[dict]]]:
    """The setup, then ``repeat`` baseline and hub runs, alternating; every result checked."""
    began = time.perf_counter()
    truth = generate(folder, rows)
    expected = truth.counts()
    size = (folder / CURRENT).stat().st_size / 1e6
    progress(
        f"generated {rows:,} + {len(truth.opened):,} rows in {time.perf_counter() - began:.1f} s ({size:.0f} MB)"
    )
    setup = child(["setup", str(folder), str(folder / "setup.db"), PREVIOUS])
    check("applying previous.csv", (setup["status"], setup["counts"]["opened"]), ("applied", rows))
    progress(f"setup: previous.csv applied in {setup['seconds']:.1f} s")
    runs: dict[str, list[dict]] = {"baseline": [], "hub": []}
    for attempt in range(repeat):
        baseline = child(["baseline", str(folder)])
        check("the baseline's counts", baseline["counts"], {k: expected[k] for k in baseline["counts"]})
        ledger = folder / f"ledger-{attempt}.db"
        shutil.copyfile(folder / "setup.db", ledger)
        hub = child(["hub", str(folder), str(ledger), CURRENT])
        ledger.unlink()
        check("the hub's outcome", (hub["status"], hub["reason"]), ("applied", None))
        check("the hub's counts", hub["counts"], expected)
        open_now = rows - expected["paid"] + expected["opened"]
        check("the ledger's receivables", hub["states"], {"open": open_now, "paid": expected["paid"]})
        check_changes(folder, truth)
        runs["baseline"].append(baseline)
        runs["hub"].append(hub)
        progress(f"run {attempt + 1}: baseline {baseline['seconds']:.2f} s, hub {hub['seconds']:.2f} s")
    return setup, runs


def progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def report(rows: int, repeat: int, setup: dict, runs: dict[str, list[dict]]) -> None:
    seconds = {name: statistics.median(r["seconds"] for r in done) for name, done in runs.items()}
    peaks = {name: max(r["peak_mb"] for r in done) for name, done in runs.items()}
    baseline, hub = seconds["baseline"], seconds["hub"]
    ratio = hub / baseline
    counts = runs["hub"][0]["counts"]
    print(
        f"previous.csv: {rows:,} invoices; current.csv: {counts['paid']:,} of them paid, "
        f"{counts['partially_paid']:,} partially paid, {counts['opened']:,} new; "
        f"median of {repeat} alternating runs, each in a fresh process; peak RSS: the highest"
    )
    print("| what | seconds | x baseline time | peak RSS (MB) |")
    print("|---|---:|---:|---:|")
    print(
        "| pandas: both files read as text, outer merge with indicator, amounts compared (baseline) "
        f"| {baseline:.2f} | 1.0 | {peaks['baseline']:,.0f} |"
    )
    print(f"| hub: reconcile_file + the change files | {hub:.2f} | {ratio:.2f} | {peaks['hub']:,.0f} |")
    for stage in runs["hub"][0]["stages"]:
        spent = statistics.median(r["stages"][stage] for r in runs["hub"])
        print(f"| - {stage} | {spent:.2f} | {spent / baseline:.2f} | |")
    print(
        f"| setup (not the target): previous.csv into an empty ledger | {setup['seconds']:.2f} | "
        f"{setup['seconds'] / baseline:.2f} | {setup['peak_mb']:,.0f} |"
    )
    print(
        f"\nhub takes {ratio:.2f}x the bare join's time (target <= {TARGET_RATIO:g}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}); peak RSS {peaks['hub']:,.0f} MB "
        f"(target < {TARGET_MB:,.0f} MB: {'met' if peaks['hub'] < TARGET_MB else 'MISSED'}); "
        "every change checked against the generated ones"
    )
    summary = {
        "rows": rows,
        "baseline_s": baseline,
        "hub_s": hub,
        "ratio": ratio,
        "setup_s": setup["seconds"],
    }
    summary = {k: round(v, 3) for k, v in summary.items()}
    print(json.dumps(summary | {f"{name}_peak_mb": round(peak) for name, peak in peaks.items()}))


if __name__ == "__main__":
    main()
