"""Building what deliver_files takes (an integration, staged outputs, manifest entries) without
Airflow, and running it in a worker process a test may kill."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from invoice_hub.config.models import Integration
from invoice_hub.manifest import FileEntry, Manifest, Output
from invoice_hub.staging import Staging

PROJECT = Path(__file__).resolve().parents[1]


def integration(*destinations: dict[str, Any], name: str = "exchange") -> Integration:
    return Integration.model_validate(
        {
            "name": name,
            "source": {"type": "local", "path": "/nonexistent-source"},
            "destinations": list(destinations),
        }
    )


def staged_entries(staging: Staging, contents: dict[str, bytes]) -> list[FileEntry]:
    """One transformed entry per (output name, content), its output staged as validate_transform does."""
    entries = []
    for index, (name, content) in enumerate(contents.items()):
        path = staging.new_path("out", str(index), f"out-{index}")
        path.write_bytes(content)
        entries.append(transformed_entry(index, name, content, str(path)))
    return entries


def transformed_entry(index: int, name: str, content: bytes, url: str) -> FileEntry:
    """The manifest entry of source ``index`` transformed into one output ``name`` staged at ``url``."""
    output = Output(name=name, url=url, sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    return FileEntry(
        source_path=f"/in/{index}", size=len(content), mtime=1.0, status="transformed", outputs=[output]
    )


def start_worker(
    tmp_path: Path, integration: Integration, entries: list[FileEntry], *, hook: str | None = None
) -> subprocess.Popen:
    """``deliver_files`` in a process of its own (tests/delivery_worker.py) with this process's
    environment (connections, ledger), so that a test can SIGKILL it mid-delivery."""
    spec = tmp_path / "worker-spec.json"
    spec.write_text(
        json.dumps(
            {
                "integration": integration.model_dump(mode="json", exclude_unset=True),
                "manifest": Manifest(files=entries).to_xcom(),
                "base_dir": str(tmp_path),
                "hook": hook,
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT / "plugins"), str(PROJECT)])}
    log = (tmp_path / "worker.log").open("a")  # a file, not a pipe: a full pipe would block the worker
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery_worker", str(spec)],
        env=env,
        cwd=PROJECT,
        stdout=log,
        stderr=log,
    )


def worker_log(tmp_path: Path) -> str:
    return (tmp_path / "worker.log").read_text()[-3000:]
