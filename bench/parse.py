"""How long Airflow takes to parse the hub's DAG folder, against a static hand-written DAG file.

Each measurement runs in a fresh child process that has imported Airflow already, as the DAG
processor's parsing children have; what is timed is Airflow's own DagBag processing of one file:
  - the hub's DAG file (dags/invoice_hub_integrations.py) with 10, 100 and 1,000 generated
    integration files, and with 1,000 of which one is broken (it is left out, the others build);
  - the hub's second DAG file (dags/invoice_hub_config_errors.py), which builds no DAG and raises the
    broken files' problems as its import error: with the 1,000 valid files, and with the broken one,
    right after the DAG file's parse (it reuses what that found) and with nothing remembered (it
    validates the folder itself). The DAG processor parses the two files in separate processes;
  - the DAG file with 1,000 files at task run time (parsing context set: only that DAG is built);
  - baseline: one static hand-written DAG file with the same five tasks;
  - loading one hostile integration file (an alias bomb, a self-referencing alias, 100,000 levels of
    nesting), each refused as a problem of that file, against loading a valid one.
Targets: 1,000 integrations parse in under 2 s; one DAG builds at task run time in under 0.2 s.

    .venv/bin/python bench/parse.py [--repeat 5] [--quick]

``--quick`` (what ``make test`` runs): 10 integrations, one run each, a few seconds; no targets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

STATIC_DAG = '''
"""A static, hand-written DAG: the baseline."""
import datetime as dt

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

with DAG(
    dag_id="static_baseline",
    schedule="@hourly",
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "x", "retries": 3, "retry_exponential_backoff": True},
    doc_md="A hand-written DAG with the same five tasks.",
) as dag:
    wait = PythonSensor(task_id="wait_for_files", python_callable=lambda: True)
    fetch = EmptyOperator(task_id="fetch")
    transform = EmptyOperator(task_id="validate_transform")
    deliver = EmptyOperator(task_id="deliver")
    archive = EmptyOperator(task_id="archive")
    wait >> fetch >> transform >> deliver >> archive
'''

INTEGRATION = """\
name: partner_{n:04d}
description: Generated integration {n} for the parse benchmark
schedule: "{minute} * * * *"
start_date: 2026-01-01
tags: [bench, partner-{group}]
source:
  type: local
  path: /srv/partners/{n:04d}/outbox
  pattern: "*.xml"
  min_age_seconds: 30
  on_success: {{move_to: /srv/partners/{n:04d}/processed}}
  on_failure: {{move_to: /srv/partners/{n:04d}/rejected}}
transform:
  output: passthrough
  filename: "{{stem}}_{{timestamp}}{{ext}}"
destinations:
  - type: local
    path: /srv/erp/inbox/{n:04d}
    if_exists: unique
notify:
  on_failure: [ops-{group}@example.com]
"""

# Runs in the child: Airflow imported first (not timed), then the DagBag of one file (timed).
CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "dags": len(bag.dags), "errors": len(bag.import_errors)}))
"""


def measure(
    dag_file: Path, env: dict[str, str], repeat: int, errors: int = 0, forget: Path | None = None
) -> tuple[float, int]:
    """Median seconds and the DAG count of parsing ``dag_file``, which must give ``errors`` import errors;
    ``forget``: a file removed before each run (the problems the DAG file remembered)."""
    times, dags = [], 0
    for _ in range(repeat):
        if forget is not None:
            forget.unlink(missing_ok=True)
        out = (
            subprocess.run(
                [sys.executable, "-c", CHILD, str(dag_file)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        result = json.loads(out)
        if result["errors"] != errors:
            raise SystemExit(
                f"{result['errors']} import error(s) while parsing {dag_file}, expected {errors}"
            )
        times.append(result["seconds"])
        dags = result["dags"]
    return statistics.median(times), dags


# Runs in the child: each file loaded (validated) on its own, timed; prints seconds and the first problem.
LOAD_CHILD = """
import json, sys, time
from pathlib import Path
from invoice_hub.config import load_integration
load_integration(Path(sys.argv[1]))  # warm-up: first-use costs (pydantic, imports) are not the file's
results = []
for name in sys.argv[1:]:
    start = time.perf_counter()
    entry = load_integration(Path(name))
    elapsed = time.perf_counter() - start
    results.append([elapsed, str(entry.problems[0].message) if entry.problems else ""])
print(json.dumps(results))
"""


def hostile_files(folder: Path) -> dict[str, Path]:
    """Files that once stopped the loader (an alias bomb ran past the DAG processor's timeout, a
    self-reference recursed to RecursionError, deep nesting crashed the C parser), and a valid one."""
    valid = INTEGRATION.format(n=1, minute=1, group=1)
    texts = {
        "valid integration file (baseline)": valid,
        "alias bomb, 9^9 values ('billion laughs')": valid
        + "".join(
            f"x{i}: &x{i} [" + (", ".join([f"*x{i - 1}"] * 9) if i else "lol, " * 8 + "lol") + "]\n"
            for i in range(10)
        ),
        "self-referencing alias": valid.replace("tags: [bench, partner-1]", "tags: &t [bench, *t]"),
        "nested 100,000 levels deep (200 KB)": valid + "extra: " + "[" * 100_000 + "]" * 100_000 + "\n",
    }
    paths = {}
    for index, (label, text) in enumerate(texts.items()):
        paths[label] = folder / f"hostile_{index}.yaml"
        paths[label].write_text(text)
    return paths


def measure_loads(paths: dict[str, Path], env: dict[str, str], repeat: int) -> list[tuple[str, float, str]]:
    """(label, median seconds to load, the problem found) per file, each run in a fresh process."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", LOAD_CHILD, *map(str, paths.values())],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return [
        (label, statistics.median(run[i][0] for run in runs), runs[0][i][1]) for i, label in enumerate(paths)
    ]


BROKEN = "name: partner_broken\nsource: {type: local, patern: '*.xml'}\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is shown")
    parser.add_argument("--quick", action="store_true", help="10 integrations, one run each (make test)")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    counts = (10,) if args.quick else (10, 100, 1000)
    largest = counts[-1]
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        }
        static = root / "static" / "static_dag.py"
        static.parent.mkdir()
        static.write_text(textwrap.dedent(STATIC_DAG))
        baseline, _ = measure(static, env, repeat)
        rows = [("static hand-written DAG (baseline)", 1, baseline)]
        hub_file = PROJECT / "dags" / "invoice_hub_integrations.py"
        errors_file = PROJECT / "dags" / "invoice_hub_config_errors.py"
        for count in counts:
            folder = root / f"integrations_{count}"
            folder.mkdir()
            for n in range(count):
                (folder / f"partner_{n:04d}.yaml").write_text(
                    INTEGRATION.format(n=n, minute=n % 60, group=n % 7)
                )
            seconds, dags = measure(hub_file, {**env, "INVOICE_HUB_INTEGRATIONS_DIR": str(folder)}, repeat)
            assert dags == count, (dags, count)
            rows.append((f"hub, {count} integrations", count, seconds))
        folder_env = {**env, "INVOICE_HUB_INTEGRATIONS_DIR": str(root / f"integrations_{largest}")}
        remembered = root / "airflow" / "invoice_hub" / "integration-problems.json"
        # the DAG file was parsed just now with this folder: what it found is reused
        seconds, dags = measure(errors_file, folder_env, repeat)
        assert dags == 0
        rows.append((f"second DAG file, {largest} valid, after the DAG file's parse", largest, seconds))
        seconds, _ = measure(errors_file, folder_env, repeat, forget=remembered)
        rows.append((f"second DAG file, {largest} valid, nothing remembered (validates)", largest, seconds))
        broken = root / "broken"
        broken.mkdir()
        for path in (root / f"integrations_{largest}").iterdir():
            (broken / path.name).write_text(path.read_text())
        (broken / "partner_broken.yaml").write_text(BROKEN)
        broken_env = {**env, "INVOICE_HUB_INTEGRATIONS_DIR": str(broken)}
        seconds, dags = measure(hub_file, broken_env, repeat)
        assert dags == largest, (dags, largest)
        rows.append((f"hub, {largest} integrations + 1 broken file (left out)", largest, seconds))
        seconds, dags = measure(errors_file, broken_env, repeat, errors=1)
        rows.append((f"second DAG file, {largest} + 1 broken, after the DAG file's parse", largest, seconds))
        seconds, dags = measure(errors_file, broken_env, repeat, errors=1, forget=remembered)
        rows.append((f"second DAG file, {largest} + 1 broken, nothing remembered", largest, seconds))
        task_env = {
            **folder_env,
            "_AIRFLOW_PARSING_CONTEXT_DAG_ID": "partner_0005",
            "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "fetch",
        }
        seconds, dags = measure(hub_file, task_env, repeat)
        assert dags == 1
        rows.append((f"hub, 1 DAG at task run time ({largest:,} files present)", 1, seconds))
        hostile = root / "hostile"
        hostile.mkdir()
        loads = measure_loads(hostile_files(hostile), env, repeat)

    print(f"Parse time, median of {repeat} run(s), each in a fresh process with Airflow imported")
    print("| what | DAGs | seconds | per DAG (ms) | x baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, dags, seconds in rows:
        print(
            f"| {label} | {dags} | {seconds:.3f} | {1000 * seconds / dags:.2f} | {seconds / baseline:.1f} |"
        )
    print("\nLoading one hostile integration file (refused as a problem of that file), same runs")
    print("| file | ms to load | x valid file | problem reported |")
    print("|---|---:|---:|---|")
    for label, seconds, problem in loads:
        print(
            f"| {label} | {1000 * seconds:.2f} | {seconds / loads[0][1]:.1f} | {problem[:70] or '(none)'} |"
        )
    if args.quick:
        return
    full, task = rows[len(counts)][2], rows[-1][2]
    print(
        f"\n1,000 integrations: {full:.2f} s (target < 2 s: {'met' if full < 2 else 'MISSED'}); "
        f"one DAG at task run time: {task:.3f} s (target < 0.2 s: {'met' if task < 0.2 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
