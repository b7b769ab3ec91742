"""The hub's own storage failing mid-run is not the files' fault: no file (nor invoice) is failed for it.

A staged copy that cannot be read (staging unreachable, a disk gone, the bucket answering 500s) used
to be recorded against the file being converted, which archive then moved to the failure folder for
good. It fails the task instead (retryable), every file stays at its source, and the next run that
gets through delivers them all once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.errors import is_storage_failure
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import SourceFile
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "einvoice-examples"
    / "peppol-bis3"
    / "examples_base-example.xml"
)

INTEGRATION = """
name: staging_fault
source:
  type: local
  path: {root}/inbox
  pattern: "*.xml"
  on_success: {{move_to: "{root}/done"}}
  on_failure: {{move_to: "{root}/failed"}}
transform:
  input: ubl
  validate: structure
  output: ap_agility
destinations:
  - type: local
    path: {root}/outbox
"""


def _statuses(ledger_db: str) -> list[str]:
    with Session(get_engine(ledger_db)) as session:
        return sorted(session.scalars(select(SourceFile.status)))


def test_staging_lost_between_fetch_and_transform_fails_the_task_and_no_file(
    integrations_dir: Path, ledger_db: str, staging_url: str, tmp_path: Path
) -> None:
    write(integrations_dir / "staging_fault.yaml", INTEGRATION.format(root=tmp_path))
    example = EXAMPLE.read_text(encoding="utf-8")
    for number in (1, 2, 3):
        drop(tmp_path / "inbox", f"INV-{number}.xml", example.replace(">Snippet1<", f">INV-{number}<"))
    staging = Path(staging_url.removeprefix("file://"))

    dag = load_dag("staging_fault")
    # the staging area vanishes after fetch put the files there, before they are converted
    dag.get_task("validate_transform").pre_execute = lambda context: shutil.rmtree(staging)
    state, tasks = run_dag(dag)

    assert state == "failed" and tasks["validate_transform"] == "failed", tasks
    assert tasks["deliver"] != "success" and tasks["archive"] != "success", tasks
    assert files_in(tmp_path / "inbox") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"], "every file stays"
    assert files_in(tmp_path / "failed") == [] and files_in(tmp_path / "outbox") == []
    assert "failed" not in _statuses(ledger_db), "no file is recorded as failed for the storage's fault"

    state, tasks = run_dag(load_dag("staging_fault"))  # the storage is back: the next run delivers all

    assert state == "success", tasks
    delivered = [name.split("_")[0] for name in files_in(tmp_path / "outbox")]  # AP Agility names
    assert delivered == ["INV-1", "INV-2", "INV-3"], "each delivered once"
    archived = [name for name in files_in(tmp_path / "done") if name.endswith(".xml")]  # + findings
    assert archived == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]
    assert _statuses(ledger_db) == ["succeeded"] * 3


@pytest.mark.parametrize(
    ("error", "storage"),
    [
        (FileNotFoundError("staging/run/7/INV-1.xml"), True),
        (PermissionError("bucket policy"), True),
        (ConnectionResetError("peer reset"), True),
        (ValueError("not a number: 'x'"), False),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), False),
        (KeyError("customer"), False),
    ],
)
def test_storage_failures_are_told_from_the_files_own_problems(error: Exception, storage: bool) -> None:
    assert is_storage_failure(error) is storage


def test_a_database_gone_is_a_storage_failure_and_the_hubs_own_errors_say_themselves() -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from invoice_hub.errors import HubError

    try:
        with create_engine("postgresql://postgres@127.0.0.1:1/none").connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as exc:
        assert is_storage_failure(exc)
    else:  # pragma: no cover - nothing listens on port 1
        pytest.fail("port 1 answered")
    assert not is_storage_failure(HubError("the partner refused the file", retryable=True))


RECEIVE = """
name: fault_in
source: {{type: local, path: "{root}/in"}}
transform: {{input: ubl, validate: structure, output: ubl}}
destinations: [{{type: local, path: "{root}/erp"}}]
"""

EXPORT = """
name: fault_out
kind: export
select: {{period: all}}
transform: {{output: ubl, filename: "{{invoice_number}}.xml"}}
destinations: [{{type: local, path: "{root}/out"}}]
"""


def test_the_document_store_gone_mid_export_fails_the_task_and_no_invoice(
    integrations_dir: Path, ledger_db: str, staging_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    monkeypatch.setenv("INVOICE_HUB_STORE_URL", store.as_uri())
    write(integrations_dir / "fault_in.yaml", RECEIVE.format(root=tmp_path))
    write(integrations_dir / "fault_out.yaml", EXPORT.format(root=tmp_path))
    example = EXAMPLE.read_text(encoding="utf-8")
    for number in (1, 2):
        drop(tmp_path / "in", f"INV-{number}.xml", example.replace(">Snippet1<", f">INV-{number}<"))
    assert run_dag(load_dag("fault_in"))[0] == "success"

    dag = load_dag("fault_out")
    # the store is unreachable once the invoices are selected, while they are rendered
    dag.get_task("validate_transform").pre_execute = lambda context: store.rename(tmp_path / "away")
    state, tasks = run_dag(dag)

    assert state == "failed" and tasks["validate_transform"] == "failed", tasks
    assert files_in(tmp_path / "out") == []
    (tmp_path / "away").rename(store)  # back: the next run exports both, once
    state, tasks = run_dag(load_dag("fault_out"))
    assert state == "success", tasks
    assert files_in(tmp_path / "out") == ["INV-1.xml", "INV-2.xml"]
