"""End to end: dag.test() of local-folder integrations on a migrated temporary Airflow home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import Delivery, SourceFile
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db")

INTEGRATION = """
name: folder_to_folder
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: local
  path: inbox
  pattern: "*.xml"
  min_age_seconds: 60
  on_success: {success}
  on_failure: {{move_to: failed}}
transform:
  output: passthrough
  {filename}
destinations:
  - type: local
    path: outbox
    if_exists: {if_exists}
"""


@pytest.fixture
def folder(integrations_dir: Path, ledger_db: str, staging_url: str) -> Path:
    return integrations_dir


def integration(
    folder: Path, success: str = "{move_to: done}", if_exists: str = "unique", filename: str = ""
) -> Path:
    text = INTEGRATION.format(
        success=success, if_exists=if_exists, filename=f'filename: "{filename}"' if filename else ""
    )
    return write(folder / "folder_to_folder.yaml", text)


def ledger_rows(ledger_db: str) -> list[tuple[str, str, str | None]]:
    with Session(get_engine(ledger_db)) as session:
        rows = session.execute(select(SourceFile.source_path, SourceFile.status, SourceFile.reason))
        return sorted((Path(path).name, status, reason) for path, status, reason in rows)


def test_files_move_end_to_end_and_a_second_run_moves_nothing(
    folder: Path, ledger_db: str, staging_url: str
) -> None:
    integration(folder)
    for number in (1, 2, 3):
        drop(folder / "inbox", f"INV-{number}.xml", f"<Invoice>{number}</Invoice>")
    drop(folder / "inbox", "notes.txt", "not an invoice")
    drop(folder / "inbox", "INV-4.xml", "<Invoice>4, still being written</Invoice>", age_seconds=0)

    state, tasks = run_dag(load_dag("folder_to_folder"))

    assert state == "success", tasks
    assert set(tasks.values()) == {"success"}
    assert files_in(folder / "outbox") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]
    assert (folder / "outbox" / "INV-2.xml").read_text() == "<Invoice>2</Invoice>"
    assert files_in(folder / "done") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]
    assert files_in(folder / "inbox") == ["INV-4.xml", "notes.txt"], "non-matching and too young stay"
    assert [status for _, status, _ in ledger_rows(ledger_db)] == ["succeeded"] * 3
    assert files_in(Path(staging_url.removeprefix("file://"))) == [], "staging is cleaned up after archive"

    state, tasks = run_dag(load_dag("folder_to_folder"))

    assert state == "success"
    assert set(tasks.values()) == {"skipped"}, "no new files: the run ends skipped"
    assert files_in(folder / "outbox") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]


def test_xcom_carries_manifests_not_contents(folder: Path) -> None:
    integration(folder)
    drop(folder / "inbox", "INV-1.xml", "<Invoice>secret amounts</Invoice>")
    dag = load_dag("folder_to_folder")
    for task in dag.tasks:
        task.retries = 0
    run = dag.test()
    fetch = next(ti for ti in run.get_task_instances() if ti.task_id == "fetch")
    manifest = fetch.xcom_pull(task_ids="fetch")
    assert "secret amounts" not in json.dumps(manifest)
    (entry,) = manifest["files"]
    assert entry["staged_url"].startswith("file://") and len(entry["sha256"]) == 64
    assert entry["status"] == "fetched"


def test_kept_files_are_not_delivered_again(folder: Path) -> None:
    integration(folder, success="keep")
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    assert run_dag(load_dag("folder_to_folder"))[0] == "success"
    _, tasks = run_dag(load_dag("folder_to_folder"))
    assert set(tasks.values()) == {"skipped"}
    assert files_in(folder / "inbox") == ["INV-1.xml"]
    assert files_in(folder / "outbox") == ["INV-1.xml"]


def test_same_content_under_a_new_name_is_archived_not_delivered(folder: Path, ledger_db: str) -> None:
    integration(folder, success="delete")
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    assert run_dag(load_dag("folder_to_folder"))[0] == "success"
    drop(folder / "inbox", "INV-1-resent.xml", "<Invoice>1</Invoice>")

    state, tasks = run_dag(load_dag("folder_to_folder"))

    assert state == "success", tasks
    assert files_in(folder / "outbox") == ["INV-1.xml"]
    assert files_in(folder / "inbox") == [], "a duplicate is handled like a success (deleted here)"
    statuses = {name: (status, reason) for name, status, reason in ledger_rows(ledger_db)}
    assert statuses["INV-1-resent.xml"][0] == "duplicate"
    assert "INV-1.xml" in statuses["INV-1-resent.xml"][1]


def test_if_exists_unique_picks_a_new_name(folder: Path) -> None:
    integration(folder, if_exists="unique")
    drop(folder / "outbox", "INV-1.xml", "partner's older file")
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    assert run_dag(load_dag("folder_to_folder"))[0] == "success"
    assert (folder / "outbox" / "INV-1.xml").read_text() == "partner's older file"
    assert (folder / "outbox" / "INV-1_1.xml").read_text() == "<Invoice>1</Invoice>"


def test_if_exists_replace_overwrites(folder: Path) -> None:
    integration(folder, if_exists="replace")
    drop(folder / "outbox", "INV-1.xml", "old")
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    assert run_dag(load_dag("folder_to_folder"))[0] == "success"
    assert files_in(folder / "outbox") == ["INV-1.xml"]
    assert (folder / "outbox" / "INV-1.xml").read_text() == "<Invoice>1</Invoice>"


def test_if_exists_fail_sends_the_file_to_failure_with_its_reason(folder: Path, ledger_db: str) -> None:
    integration(folder, if_exists="fail")
    drop(folder / "outbox", "INV-1.xml", "already there")
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    drop(folder / "inbox", "INV-2.xml", "<Invoice>2</Invoice>")

    state, tasks = run_dag(load_dag("folder_to_folder"))

    assert state == "failed", "a rejected file makes the run fail so that people are told"
    assert tasks["deliver"] == "success" and tasks["archive"] == "failed"
    assert (folder / "outbox" / "INV-1.xml").read_text() == "already there"
    assert (folder / "outbox" / "INV-2.xml").read_text() == "<Invoice>2</Invoice>", (
        "one bad file stops no other"
    )
    assert files_in(folder / "failed") == ["INV-1.xml", "INV-1.xml.error.json"]
    reason = json.loads((folder / "failed" / "INV-1.xml.error.json").read_text())
    assert reason["reason_code"] == "deliver.target_exists"
    assert "if_exists" in reason["reason"] and reason["integration"] == "folder_to_folder"
    assert files_in(folder / "done") == ["INV-2.xml"]
    assert dict((n, s) for n, s, _ in ledger_rows(ledger_db)) == {
        "INV-1.xml": "failed",
        "INV-2.xml": "succeeded",
    }


def test_a_retried_run_does_not_deliver_twice(folder: Path, ledger_db: str) -> None:
    integration(folder)
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    (folder / "done").write_text("a file where the archive folder should be: archiving fails")

    state, tasks = run_dag(load_dag("folder_to_folder"))

    assert state == "failed" and tasks["deliver"] == "success" and tasks["archive"] == "failed"
    assert files_in(folder / "inbox") == ["INV-1.xml"], "nothing is lost: the file stays at the source"
    (folder / "done").unlink()

    state, tasks = run_dag(load_dag("folder_to_folder"))

    assert state == "success", tasks
    assert files_in(folder / "outbox") == ["INV-1.xml"], "delivered once, not INV-1_1.xml as well"
    assert files_in(folder / "done") == ["INV-1.xml"]
    with Session(get_engine(ledger_db)) as session:
        assert session.scalar(select(Delivery.status)) == "delivered"
        assert len(session.scalars(select(Delivery)).all()) == 1


def test_filename_template(folder: Path) -> None:
    integration(folder, filename="{stem}_{sha8}{ext}")
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")
    assert run_dag(load_dag("folder_to_folder"))[0] == "success"
    (name,) = files_in(folder / "outbox")
    assert name.startswith("INV-1_") and name.endswith(".xml") and len(name) == len("INV-1_12345678.xml")


def test_missing_source_folder_fails_at_once_without_retries(folder: Path) -> None:
    integration(folder)
    dag = load_dag("folder_to_folder")
    for task in dag.tasks:
        task.retries = 3
    run = dag.test()
    (wait,) = [ti for ti in run.get_task_instances() if ti.task_id == "wait_for_files"]
    assert (str(run.state), str(wait.state)) == ("failed", "failed")
    assert wait.try_number == 1, "retrying cannot create a missing folder"


def test_waiting_for_files_defers_between_looks(folder: Path) -> None:
    import threading

    text = INTEGRATION.format(success="{move_to: done}", if_exists="unique", filename="")
    write(
        folder / "folder_to_folder.yaml",
        text.replace("  min_age_seconds: 60\n", "  wait_seconds: 30\n  poll_interval_seconds: 5\n"),
    )
    (folder / "inbox").mkdir()
    timer = threading.Timer(3, lambda: drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>"))
    timer.start()
    dag = load_dag("folder_to_folder")
    for task in dag.tasks:
        task.retries = 0
    run = dag.test()
    timer.join()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert files_in(folder / "outbox") == ["INV-1.xml"]


def test_a_run_configured_with_an_unknown_param_fails_before_touching_a_file(folder: Path) -> None:
    """A transfer has no params: a key in the run's conf is a mistake (for a reconciliation's
    misspelt ``aprove``, the held snapshot would silently stay held), refused in the first task."""
    integration(folder)
    drop(folder / "inbox", "INV-1.xml", "<Invoice>1</Invoice>")

    state, tasks = run_dag(load_dag("folder_to_folder"), run_conf={"aprove": ["INV-1.xml"]})

    assert state == "failed" and tasks["wait_for_files"] == "failed", tasks
    assert files_in(folder / "inbox") == ["INV-1.xml"] and files_in(folder / "outbox") == []
