"""The ledger: file versions, content duplicates and exactly-once deliveries."""

from __future__ import annotations

from sqlalchemy import inspect, text

from invoice_hub.ledger.database import get_engine, head_revision
from invoice_hub.ledger.status import DeliveryStatus, FileStatus
from invoice_hub.ledger.store import Ledger

SHA_A, SHA_B = "a" * 64, "b" * 64


def claim(ledger: Ledger, integration: str, run_id: str, path: str, size: int, mtime: float, sha: str):
    (result,) = ledger.claim_many(integration, run_id, [(path, size, mtime, sha)])
    return result


def delivery(ledger: Ledger, integration: str, destination: str, sha: str):
    return ledger.deliveries(integration, destination, [sha]).get(sha)


def test_schema_is_migrated_to_head(ledger_db: str) -> None:
    engine = get_engine(ledger_db)
    assert {"source_files", "deliveries", "alembic_version"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("select version_num from alembic_version")).scalar() == head_revision()


def test_versions_become_seen_only_when_final(ledger_db: str) -> None:
    ledger = Ledger(get_engine(ledger_db))
    claimed = claim(ledger, "i", "run1", "/in/a.xml", 10, 1.0, SHA_A)
    assert ledger.seen_versions("i", [("/in/a.xml", 10, 1.0)]) == set(), (
        "in progress: a crashed run retries it"
    )
    ledger.close_files([claimed.file_id], FileStatus.SUCCEEDED, {})
    assert ledger.seen_versions("i", [("/in/a.xml", 10, 1.0)]) == {("/in/a.xml", 10, 1.0)}
    assert ledger.seen_versions("i", [("/in/a.xml", 11, 2.0)]) == set(), "a changed file is new"
    assert ledger.seen_versions("other", [("/in/a.xml", 10, 1.0)]) == set(), "per integration"


def test_same_content_under_another_name_is_a_duplicate(ledger_db: str) -> None:
    ledger = Ledger(get_engine(ledger_db))
    first = claim(ledger, "i", "run1", "/in/a.xml", 10, 1.0, SHA_A)
    assert first.duplicate_of is None
    ledger.close_files([first.file_id], FileStatus.SUCCEEDED, {})
    again = claim(ledger, "i", "run2", "/in/copy-of-a.xml", 10, 5.0, SHA_A)
    assert again.duplicate_of == "/in/a.xml"
    assert claim(ledger, "i", "run2", "/in/b.xml", 10, 5.0, SHA_B).duplicate_of is None
    assert claim(ledger, "other", "run1", "/in/a.xml", 10, 1.0, SHA_A).duplicate_of is None


def test_failed_content_may_be_processed_again(ledger_db: str) -> None:
    ledger = Ledger(get_engine(ledger_db))
    first = claim(ledger, "i", "run1", "/in/a.xml", 10, 1.0, SHA_A)
    ledger.close_files([first.file_id], FileStatus.FAILED, {first.file_id: "bad"})
    assert claim(ledger, "i", "run2", "/in/a-fixed-name.xml", 10, 2.0, SHA_A).duplicate_of is None


def test_delivery_is_recorded_once(ledger_db: str) -> None:
    ledger = Ledger(get_engine(ledger_db))
    assert delivery(ledger, "i", "local:/out", SHA_A) is None
    ledger.start_delivery("i", "local:/out", SHA_A, "a.xml", "/out/a.xml", "run1", None)
    assert delivery(ledger, "i", "local:/out", SHA_A).status == DeliveryStatus.PENDING
    ledger.start_delivery("i", "local:/out", SHA_A, "a.xml", "/out/a_1.xml", "run1", None)
    ledger.finish_delivery("i", "local:/out", SHA_A, "/out/a_1.xml")
    done = delivery(ledger, "i", "local:/out", SHA_A)
    assert (done.status, done.remote_path) == (DeliveryStatus.DELIVERED, "/out/a_1.xml")
    assert done.delivered_at is not None
    assert delivery(ledger, "i", "local:/elsewhere", SHA_A) is None


def test_ledger_url_from_the_airflow_connection(monkeypatch, tmp_path) -> None:
    import json

    import pytest

    from invoice_hub.ledger.database import LedgerConfigError, ledger_url

    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", f"sqlite:///{tmp_path}/l.db")
    assert ledger_url() == f"sqlite:///{tmp_path}/l.db"
    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", "postgresql://hub:s3cret@db.example:5433/ledger")
    assert ledger_url() == "postgresql://hub:s3cret@db.example:5433/ledger"
    generic = {"conn_type": "generic", "extra": {"sqlalchemy_url": f"sqlite:///{tmp_path}/x.db"}}
    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", json.dumps(generic))
    assert ledger_url() == f"sqlite:///{tmp_path}/x.db"
    untyped = {"conn_type": "generic", "password": "s3cret"}
    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", json.dumps(untyped))
    with pytest.raises(LedgerConfigError, match="has type 'generic'") as raised:
        ledger_url()
    assert "s3cret" not in str(raised.value)
    monkeypatch.delenv("AIRFLOW_CONN_INVOICE_HUB_DB")
    assert ledger_url().endswith("/invoice_hub/ledger.db")
