"""The CLI as a user runs it (subprocesses): data alone on stdout, logs on stderr; connections found
where Airflow keeps them (``airflow connections add``); the Airflow home found, or said, never a
ledger made silently in ``~/airflow``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from invoice_hub import settings
from tests.helpers import write
from tests.servers.mail_http import HttpServer

BIN = Path(sys.executable).parent
RECEIVABLES_HEADER = [
    "invoice_ref",
    "status",
    "open_amount",
    "currency",
    "customer",
    "customer_name",
    "due_date",
    "opened_at",
    "paid_at",
    "needs_review",
]


def cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``invoice-hub ARGS`` with Airflow's default log level (INFO), not the test session's WARNING."""
    env = {k: v for k, v in env.items() if k != "AIRFLOW__LOGGING__LOGGING_LEVEL"}
    return subprocess.run(
        [str(BIN / "invoice-hub"), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_receivables_on_a_fresh_ledger_prints_only_csv(tmp_path: Path) -> None:
    """Opening a new ledger migrates it (Alembic logs INFO lines): none of that reaches stdout."""
    ledger = tmp_path / "ledger.db"
    env = {**os.environ, "AIRFLOW_CONN_INVOICE_HUB_DB": f"sqlite:///{ledger}"}
    result = cli("receivables", "nothing_yet", env=env)
    assert result.returncode == 0, result.stderr
    assert list(csv.reader(io.StringIO(result.stdout))) == [RECEIVABLES_HEADER], result.stdout
    assert ledger.is_file(), "the ledger was created and migrated"
    assert "Running upgrade" not in result.stderr, "warnings only, unless -v"

    ledger.unlink()
    verbose = cli("receivables", "nothing_yet", "-v", env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert list(csv.reader(io.StringIO(verbose.stdout))) == [RECEIVABLES_HEADER]
    assert "Running upgrade" in verbose.stderr and "Migrating the invoice hub ledger" in verbose.stderr


CHECKED = """
name: checked_db
source:
  type: local
  path: inbox
destinations:
  - type: http
    conn_id: {conn_id}
    path: /api
  - type: sftp
    conn_id: nowhere_sftp
    path: /in
"""


@pytest.mark.usefixtures("airflow_db")
def test_check_connection_finds_connections_in_airflows_database(tmp_path: Path) -> None:
    conn_id = "db_stored_http"
    server = HttpServer()
    server.start()
    airflow = [str(BIN / "airflow"), "connections"]
    added = subprocess.run(
        [*airflow, "add", conn_id, "--conn-json", server.connection()],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert added.returncode == 0, added.stdout + added.stderr
    try:
        write(tmp_path / "checked_db.yaml", CHECKED.format(conn_id=conn_id))
        (tmp_path / "inbox").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
        result = cli("check-connection", "checked_db", "--folder", str(tmp_path), env=env)
    finally:
        server.stop()
        subprocess.run([*airflow, "delete", conn_id], capture_output=True, env=os.environ.copy())
    lines = result.stdout.splitlines()
    assert lines[1] == f"destinations[0] (http:{conn_id}): OK: reachable; OPTIONS /api answered 501", (
        result.stdout + result.stderr
    )
    assert lines[2].startswith("destinations[1] (sftp:nowhere_sftp): FAILED: sftp:nowhere_sftp: no Airflow ")
    assert "airflow connections add nowhere_sftp" in lines[2]
    assert "never awaited" not in result.stderr, result.stderr
    assert result.returncode == 1


def _without_airflow_home(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AIRFLOW_HOME", "AIRFLOW_CONN_INVOICE_HUB_DB")}
    return {**env, "HOME": str(home)}


def test_the_projects_airflow_home_is_found_from_a_subfolder(tmp_path: Path) -> None:
    project, home = tmp_path / "checkout", tmp_path / "home"
    (project / ".airflow").mkdir(parents=True)
    (project / "reports" / "2026").mkdir(parents=True)
    home.mkdir()
    result = cli(
        "receivables", "nothing_yet", env=_without_airflow_home(home), cwd=project / "reports" / "2026"
    )
    assert result.returncode == 0, result.stderr
    assert list(csv.reader(io.StringIO(result.stdout))) == [RECEIVABLES_HEADER]
    assert f"Airflow home {project / '.airflow'} (found in {project})" in result.stderr
    assert "set AIRFLOW_HOME to use another" in result.stderr
    assert (project / ".airflow" / "invoice_hub" / "ledger.db").is_file()
    assert not (home / "airflow").exists(), "nothing made in ~/airflow"


def test_no_airflow_home_no_silent_ledger(tmp_path: Path) -> None:
    elsewhere, home = tmp_path / "elsewhere", tmp_path / "home"
    elsewhere.mkdir()
    home.mkdir()
    result = cli("receivables", "nothing_yet", env=_without_airflow_home(home), cwd=elsewhere)
    if (settings.PROJECT_ROOT / settings.PROJECT_AIRFLOW_HOME).is_dir():  # a checkout after make demo
        assert "the project's, beside the installed package" in result.stderr
        return
    assert result.returncode == 2 and result.stdout == ""
    assert "no Airflow home, so no ledger" in result.stderr and "Set AIRFLOW_HOME" in result.stderr
    assert not (home / "airflow").exists(), "no ledger created in ~/airflow"


def test_find_airflow_home_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, home, cwd = tmp_path / "project", tmp_path / "home", tmp_path / "work" / "deep"
    for folder in (project, home, cwd):
        folder.mkdir(parents=True)
    monkeypatch.setattr(settings, "PROJECT_ROOT", project)
    monkeypatch.setenv("HOME", str(home))
    assert settings.find_airflow_home(cwd) is None, "~/airflow without airflow.cfg does not count"
    (home / "airflow").mkdir()
    (home / "airflow" / "airflow.cfg").write_text("[core]\n")
    assert settings.find_airflow_home(cwd) == (home / "airflow", "Airflow's default")
    (project / ".airflow").mkdir()
    assert settings.find_airflow_home(cwd) == (
        project / ".airflow",
        "the project's, beside the installed package",
    )
    (tmp_path / "work" / ".airflow").mkdir()
    found = settings.find_airflow_home(cwd)
    assert found == (tmp_path / "work" / ".airflow", f"found in {tmp_path / 'work'}")


def test_verbose_before_or_after_the_command() -> None:
    from invoice_hub.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["-v", "receivables", "x"]).verbose is True
    assert parser.parse_args(["receivables", "x", "--verbose"]).verbose is True
    assert parser.parse_args(["receivables", "x"]).verbose is False
