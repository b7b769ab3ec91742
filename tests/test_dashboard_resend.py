"""Resend on the DAG side: a run of the integration's own DAG with the ``resend`` param delivers one
stored document again through the normal deliver path, recorded once per request, source untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.tables import Delivery, InvoiceRecord
from tests.helpers import drop, files_in, load_dag, run_dag, write
from tests.test_export_dag import invoice

pytestmark = pytest.mark.usefixtures("airflow_db", "staging_url")

TRANSFER = """
name: supplier_in
source: {{type: local, path: {root}/in, on_success: {{move_to: {root}/done}}}}
transform: {{input: ubl, validate: structure, output: passthrough}}
destinations: [{{type: local, path: {root}/erp}}, {{type: local, path: {root}/archive}}]
"""


@pytest.fixture
def received(integrations_dir: Path, tmp_path: Path, ledger_db: str) -> str:
    """One invoice received and delivered to both destinations; its document's sha256."""
    write(integrations_dir / "supplier_in.yaml", TRANSFER.format(root=tmp_path))
    drop(tmp_path / "in", "INV-1.xml", invoice("INV-1", "2026-11-02", "C1"))
    state, tasks = run_dag(load_dag("supplier_in"))
    assert state == "success", tasks
    with Session(get_engine(ledger_db)) as session:
        return session.scalars(select(InvoiceRecord.source_sha256)).one()


def deliveries(ledger_db: str) -> list[tuple[str, str]]:
    with Session(get_engine(ledger_db)) as session:
        rows = session.execute(select(Delivery.destination, Delivery.status).order_by(Delivery.id))
        return [(Path(destination).name, status) for destination, status in rows]


def resend(sha256: str, token: str = "tok-12345678", destination: str = "destinations.0") -> dict:
    return {"resend": {"document": sha256, "destination": destination, "token": token}}


def test_a_resend_delivers_once_per_request_and_leaves_the_source_alone(
    received: str, tmp_path: Path, ledger_db: str
) -> None:
    assert deliveries(ledger_db) == [("erp", "delivered"), ("archive", "delivered")]

    state, tasks = run_dag(load_dag("supplier_in"), run_conf=resend(received))

    assert state == "success", tasks
    assert set(tasks.values()) == {"success"}, tasks
    assert files_in(tmp_path / "erp") == ["INV-1.xml", "INV-1_1.xml"], "a new name: if_exists unique"
    assert (tmp_path / "erp" / "INV-1_1.xml").read_bytes() == (tmp_path / "erp" / "INV-1.xml").read_bytes()
    assert files_in(tmp_path / "archive") == ["INV-1.xml"], "only the destination asked for"
    assert files_in(tmp_path / "done") == ["INV-1.xml"], "the source file is not archived again"
    assert deliveries(ledger_db)[-1] == ("erp", "delivered"), "recorded as a new delivery"
    assert len(deliveries(ledger_db)) == 3

    # the same request again (a double click that got past the run id, a cleared run): nothing new
    state, tasks = run_dag(load_dag("supplier_in"), run_conf=resend(received))
    assert state == "success", tasks
    assert files_in(tmp_path / "erp") == ["INV-1.xml", "INV-1_1.xml"]
    assert len(deliveries(ledger_db)) == 3

    # a new request is a new, deliberate delivery
    state, _ = run_dag(load_dag("supplier_in"), run_conf=resend(received, token="another-token"))
    assert state == "success"
    assert files_in(tmp_path / "erp") == ["INV-1.xml", "INV-1_1.xml", "INV-1_2.xml"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            {"document": "0" * 64, "destination": "destinations.0", "token": "tok-12345678"},
            "no stored document",
        ),
        ({"document": None, "destination": "destinations.7", "token": "tok-12345678"}, "not one of"),
        ({"document": None, "destination": "destinations.0", "token": "x"}, "'token' must be"),
    ],
)
def test_a_bad_resend_request_fails_the_run_and_delivers_nothing(
    received: str, tmp_path: Path, ledger_db: str, request_: dict, message: str
) -> None:
    request_ = {**request_, "document": request_["document"] or received}
    dag = load_dag("supplier_in")
    state, tasks = run_dag(dag, run_conf={"resend": request_})
    assert state == "failed"
    failed = [task for task, task_state in tasks.items() if task_state == "failed"]
    assert failed == ["wait_for_files"] or failed == ["fetch"], tasks
    assert files_in(tmp_path / "erp") == ["INV-1.xml"]
    assert len(deliveries(ledger_db)) == 2
    from invoice_hub.config.loader import load_integration
    from invoice_hub.errors import HubError
    from invoice_hub.exchange.resend import resend_manifest, resend_request

    # the message is what the person reads in the task log: the library function's
    entry = load_integration(next((tmp_path / "integrations").glob("*.yaml"))).integration
    assert entry is not None
    with pytest.raises(HubError, match=message):
        parsed = resend_request(entry, {"resend": request_})
        assert parsed is not None
        resend_manifest(get_engine(ledger_db), entry, parsed)
