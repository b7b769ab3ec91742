"""dag.test(): a rejected conversion is no received invoice; two integrations sharing a source folder.

Before: an invoice whose conversion failed (it went to the failure folder) was recorded in the
ledger as received and open, so exports selected it; and the second of two integrations sharing a
source crashed in archive with a raw FileNotFoundError once the first had moved the files away,
leaving its good files unclosed and the run red on every try.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from invoice_hub.ledger.invoices import Criteria, Invoices
from invoice_hub.ledger.tables import InvoiceRecord, SourceFile
from tests.conftest import SHARED
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db", "staging_url")

EXAMPLES = SHARED / "einvoice-examples"
NO_ENDPOINTS = (EXAMPLES / "en16931/ubl-tc434-example1.xml").read_bytes()  # invoice 12115118
WITH_ENDPOINTS = (EXAMPLES / "peppol-bis3/examples_base-example.xml").read_bytes()  # invoice Snippet1

TO_PEPPOL = """
name: to_peppol
schedule: null
source:
  type: local
  path: inbox
  on_success: {move_to: done}
  on_failure: {move_to: failed}
transform: {input: ubl, validate: structure, output: peppol_bis3}
destinations: [{type: local, path: outbox}]
"""


def test_an_invoice_whose_conversion_failed_is_not_received(integrations_dir: Path, ledger_db: str) -> None:
    write(integrations_dir / "to_peppol.yaml", TO_PEPPOL)
    drop(integrations_dir / "inbox", "no-endpoints.xml", NO_ENDPOINTS)  # valid UBL, but PEPPOL needs them
    drop(integrations_dir / "inbox", "good.xml", WITH_ENDPOINTS)

    state, tasks = run_dag(load_dag("to_peppol"))

    assert state == "failed" and tasks["archive"] == "failed", "the rejected file needs a person"
    assert files_in(integrations_dir / "failed") == ["no-endpoints.xml", "no-endpoints.xml.error.json"]
    assert '"transform.output"' in (integrations_dir / "failed" / "no-endpoints.xml.error.json").read_text()
    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        assert list(connection.scalars(select(InvoiceRecord.number))) == ["Snippet1"]
    selected = Invoices(engine).select(Criteria(numbers=("12115118", "Snippet1")))
    assert [row.number for row in selected] == ["Snippet1"], "an export selects only what was received"
    engine.dispose()


SHARING = """
name: {name}
schedule: null
source:
  type: local
  path: shared
  on_success: {{move_to: done_{name}}}
  on_failure: {{move_to: failed_{name}}}
destinations: [{{type: local, path: out_{name}}}]
"""


def test_two_integrations_sharing_a_source_folder(
    integrations_dir: Path, ledger_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``second`` lists, fetches and delivers the files; before its archive runs, ``first`` (on the same
    folder) processes and moves them away, as two schedulers' runs interleave."""
    for name in ("first", "second"):
        write(integrations_dir / f"{name}.yaml", SHARING.format(name=name))
    for number in (1, 2, 3):
        drop(integrations_dir / "shared", f"INV-{number}.xml", f"<Invoice>{number}</Invoice>")
    second = load_dag("second")
    archive = second.task_dict["archive"]
    runs: list[Any] = []

    def the_other_integration_runs_first(context: Any) -> None:
        runs.append(run_dag(load_dag("first")))

    monkeypatch.setattr(archive, "pre_execute", the_other_integration_runs_first)

    state, tasks = run_dag(second)

    assert runs and runs[0][0] == "success", runs
    assert state == "success", tasks
    expected = ["INV-1.xml", "INV-2.xml", "INV-3.xml"]
    assert files_in(integrations_dir / "out_first") == expected
    assert files_in(integrations_dir / "out_second") == expected
    assert files_in(integrations_dir / "done_first") == expected, "archived once, by the first"
    assert files_in(integrations_dir / "shared") == [] and files_in(integrations_dir / "done_second") == []
    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        rows = connection.execute(select(SourceFile.integration, SourceFile.status, SourceFile.reason)).all()
    engine.dispose()
    assert sorted((i, s) for i, s, _ in rows) == [("first", "succeeded")] * 3 + [("second", "succeeded")] * 3
    reasons = [r for i, _, r in rows if i == "second"]
    assert all(r and "[archive.vanished]" in r and "no longer at the source" in r for r in reasons), reasons
    assert set(run_dag(load_dag("second"))[1].values()) == {"skipped"}
