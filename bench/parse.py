"""How long Airflow takes to parse the hub's DAG folder, against a static hand-written DAG file.

Each measurement runs in a fresh child process that has imported Airflow already, as the DAG
processor's parsing children have; what is timed is Airflow's own DagBag processing of the file:
  - the hub's dags/ file with 10, 100 and 1,000 generated integration files;
  - the same with 1,000 files at task run time (parsing context set: only that DAG is built);
  - baseline: one static hand-written DAG file with the same five tasks.
Targets: 1,000 integrations parse in under 2 s; one DAG builds at task run time in under 0.2 s.

    .venv/bin/python bench/parse.py [--repeat 5]
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


def measure(dag_file: Path, env: dict[str, str], repeat: int) -> tuple[float, int]:
    times, dags = [], 0
    for _ in range(repeat):
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
        if result["errors"]:
            raise SystemExit(f"import errors while parsing {dag_file}")
        times.append(result["seconds"])
        dags = result["dags"]
    return statistics.median(times), dags


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is shown")
    args = parser.parse_args()
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
        baseline, _ = measure(static, env, args.repeat)
        rows = [("static hand-written DAG (baseline)", 1, baseline)]
        hub_file = PROJECT / "dags" / "invoice_hub_integrations.py"
        for count in (10, 100, 1000):
            folder = root / f"integrations_{count}"
            folder.mkdir()
            for n in range(count):
                (folder / f"partner_{n:04d}.yaml").write_text(
                    INTEGRATION.format(n=n, minute=n % 60, group=n % 7)
                )
            seconds, dags = measure(
                hub_file, {**env, "INVOICE_HUB_INTEGRATIONS_DIR": str(folder)}, args.repeat
            )
            assert dags == count, (dags, count)
            rows.append((f"hub, {count} integrations", count, seconds))
        task_env = {
            **env,
            "INVOICE_HUB_INTEGRATIONS_DIR": str(root / "integrations_1000"),
            "_AIRFLOW_PARSING_CONTEXT_DAG_ID": "partner_0500",
            "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "fetch",
        }
        seconds, dags = measure(hub_file, task_env, args.repeat)
        assert dags == 1
        rows.append(("hub, 1 DAG at task run time (1,000 files present)", 1, seconds))

    print(f"Parse time, median of {args.repeat} runs, each in a fresh process with Airflow imported")
    print("| what | DAGs | seconds | per DAG (ms) | x baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, dags, seconds in rows:
        print(
            f"| {label} | {dags} | {seconds:.3f} | {1000 * seconds / dags:.2f} | {seconds / baseline:.1f} |"
        )
    full, task = rows[3][2], rows[4][2]
    print(
        f"\n1,000 integrations: {full:.2f} s (target < 2 s: {'met' if full < 2 else 'MISSED'}); "
        f"one DAG at task run time: {task:.3f} s (target < 0.2 s: {'met' if task < 0.2 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
