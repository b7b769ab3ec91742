"""validate_transform's run as a library function, without Airflow (``exchange.transform_run``): files
fetched by ``fetch_files`` into a real ledger and staging, converted, the good ones recorded as
received invoices, a bad one failed alone with its findings noted. The DAG-level behaviour is in
the *_integration_dag.py tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.config.models import Integration
from invoice_hub.exchange.fetch import fetch_files
from invoice_hub.exchange.transform_run import TransformRun, transform_files
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.invoices import Criteria, Invoices
from invoice_hub.ledger.store import Ledger
from invoice_hub.ledger.tables import SourceFile
from invoice_hub.manifest import Candidate, FileEntry
from invoice_hub.reasons import Reason
from invoice_hub.staging import Staging
from invoice_hub.transports.local import LocalTransport
from tests.conftest import SHARED
from tests.helpers import drop

BASE = (SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml").read_text()


@pytest.fixture
def ledger(ledger_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setenv("INVOICE_HUB_STORE_URL", (tmp_path / "store").as_uri())
    return Ledger(get_engine(ledger_db))


def _integration(transform: dict) -> Integration:
    return Integration.model_validate(
        {
            "name": "supplier_in",
            "source": {"type": "local", "path": "/nonexistent-source"},
            "transform": transform,
            "destinations": [{"type": "local", "path": "/nonexistent-out"}],
        }
    )


def _fetched(ledger: Ledger, staging: Staging, tmp_path: Path, files: dict[str, str]) -> list[FileEntry]:
    paths = [drop(tmp_path / "in", name, text) for name, text in files.items()]
    candidates = [Candidate(path=str(p), size=p.stat().st_size, mtime=p.stat().st_mtime) for p in paths]
    return fetch_files(
        ledger, LocalTransport(tmp_path), staging, candidates, integration="supplier_in", run_id="r1"
    )


def test_each_file_is_converted_recorded_or_failed_alone(ledger: Ledger, tmp_path: Path) -> None:
    staging = Staging("supplier_in", "r1", base_url=(tmp_path / "staging").as_uri())
    good = BASE.replace("<cbc:ID>Snippet1</cbc:ID>", "<cbc:ID>INV-1</cbc:ID>", 1)
    entries = _fetched(ledger, staging, tmp_path, {"INV-1.xml": good, "broken.xml": "<Invoice><unclosed>"})
    hub = _integration({"input": "ubl", "validate": "en16931", "output": "ap_agility"})

    transform_files(TransformRun(hub, "ap_agility", None, staging, "r1"), entries, ledger)

    converted, broken = entries
    assert converted.status == "transformed"
    (output,) = converted.outputs
    assert b"<InvoiceNumber>INV-1</InvoiceNumber>" in Path(output.url.removeprefix("file://")).read_bytes()
    assert broken.status == "failed" and broken.reason_code == Reason.FORMAT_UNREADABLE
    assert broken.findings_url is not None  # archive writes them beside the file it moves
    # the good file's invoice is received (kept in the store, with its output); the broken one is not
    (record,) = Invoices(ledger.engine).select(Criteria(numbers=("INV-1",)))
    assert record.source_file_id == converted.file_id and record.document_url
    with Session(ledger.engine) as session:
        files = {f.id: f for f in session.scalars(select(SourceFile))}
    assert json.loads(files[converted.file_id].conversion or "{}")["output"] == "ap_agility"
    assert json.loads(files[converted.file_id].validation or "{}")["level"] == "en16931"
    assert files[broken.file_id].conversion is None


def test_files_of_no_format_pass_through_unopened(ledger: Ledger, tmp_path: Path) -> None:
    """input: any, validate: none, passthrough: the staged file is the output; nothing is read, so
    nothing is received in the ledger's invoices."""
    staging = Staging("supplier_in", "r1", base_url=(tmp_path / "staging").as_uri())
    entries = _fetched(ledger, staging, tmp_path, {"scan.pdf": "%PDF-1.4 not an invoice"})
    hub = _integration({"input": "any", "validate": "none", "output": "passthrough"})
    run = TransformRun(hub, "passthrough", None, staging, "r1")
    assert run.opaque

    transform_files(run, entries, ledger)

    (entry,) = entries
    assert entry.status == "transformed" and [o.url for o in entry.outputs] == [entry.staged_url]
    assert Invoices(ledger.engine).select(Criteria(numbers=("scan",))) == []
    assert run.received == []
