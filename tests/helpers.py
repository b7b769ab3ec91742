"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path
from typing import Any


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def drop(folder: Path, name: str, content: bytes | str, age_seconds: float = 3600) -> Path:
    """A file as a partner leaves it: written, then left alone for ``age_seconds``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def load_dag(dag_id: str) -> Any:
    """The DAG as Airflow's DagBag loads it from dags/ (with no import errors)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[1] / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def run_dag(dag: Any, retries: int = 0, **test_kwargs: Any) -> tuple[str, dict[str, str]]:
    """``dag.test()``; returns the run state and each task's state. Retries off: a failure shows at once."""
    for task in dag.tasks:
        task.retries = retries
    run = dag.test(**test_kwargs)
    return str(run.state), {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def files_in(folder: Path) -> list[str]:
    """Relative paths of the files below ``folder``, sorted."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
