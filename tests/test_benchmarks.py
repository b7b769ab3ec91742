"""Every benchmark runs: each ``bench/*.py`` with ``--quick`` (tiny sizes, seconds) in a fresh process.

The files are enumerated, so a new benchmark is covered without editing this test; its figures are
not looked at (no timed assertions in tests), only that it ran to the end: ``make bench`` once
crashed for months with nobody noticing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((PROJECT / "bench").glob("*.py"))
#: A quick run takes seconds; this only stops a hung benchmark from hanging the suite.
TIMEOUT = 300


def test_benchmarks_are_found() -> None:
    assert len(BENCHMARKS) >= 5, f"expected the benchmarks in {PROJECT / 'bench'}, found {BENCHMARKS}"


@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=[p.name for p in BENCHMARKS])
def test_benchmark_runs_in_quick_mode(benchmark: Path, tmp_path: Path) -> None:
    # Whatever a benchmark leaves behind goes with the test's folder. It must be traversable by
    # others (pytest's own folders are root's alone): bench/transfer.py's sshd reads its
    # authorized_keys there as the SFTP test user.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    for folder in (scratch, *scratch.parents):
        if str(folder).startswith(tempfile.gettempdir() + os.sep):
            folder.chmod(folder.stat().st_mode | 0o011)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT / "plugins"), os.environ.get("PYTHONPATH")])),
        "TMPDIR": str(scratch),
    }
    result = subprocess.run(
        [sys.executable, str(benchmark), "--quick"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (
        f"{benchmark.name} --quick exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )
    assert result.stdout.strip(), f"{benchmark.name} --quick printed no result"
