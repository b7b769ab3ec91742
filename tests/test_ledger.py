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


def test_schema_is_migrated_to_head(ledger_url: str) -> None:
    engine = get_engine(ledger_url)
    assert {
        "source_files", "deliveries", "invoices", "invoice_exports",
        "ar_snapshots", "ar_invoices", "ar_status_changes", "alembic_version",
    } <= set(inspect(engine).get_table_names())  # fmt: skip
    with engine.connect() as connection:
        assert connection.execute(text("select version_num from alembic_version")).scalar() == head_revision()


def test_versions_become_seen_only_when_final(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
    claimed = claim(ledger, "i", "run1", "/in/a.xml", 10, 1.0, SHA_A)
    assert ledger.seen_versions("i", [("/in/a.xml", 10, 1.0)]) == set(), (
        "in progress: a crashed run retries it"
    )
    ledger.close_files([claimed.file_id], FileStatus.SUCCEEDED, {})
    assert ledger.seen_versions("i", [("/in/a.xml", 10, 1.0)]) == {("/in/a.xml", 10, 1.0)}
    assert ledger.seen_versions("i", [("/in/a.xml", 11, 2.0)]) == set(), "a changed file is new"
    assert ledger.seen_versions("other", [("/in/a.xml", 10, 1.0)]) == set(), "per integration"


def test_same_content_under_another_name_is_a_duplicate(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
    first = claim(ledger, "i", "run1", "/in/a.xml", 10, 1.0, SHA_A)
    assert first.duplicate_of is None
    ledger.close_files([first.file_id], FileStatus.SUCCEEDED, {})
    again = claim(ledger, "i", "run2", "/in/copy-of-a.xml", 10, 5.0, SHA_A)
    assert again.duplicate_of == "/in/a.xml"
    assert claim(ledger, "i", "run2", "/in/b.xml", 10, 5.0, SHA_B).duplicate_of is None
    assert claim(ledger, "other", "run1", "/in/a.xml", 10, 1.0, SHA_A).duplicate_of is None


def test_failed_content_may_be_processed_again(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
    first = claim(ledger, "i", "run1", "/in/a.xml", 10, 1.0, SHA_A)
    ledger.close_files([first.file_id], FileStatus.FAILED, {first.file_id: "bad"})
    assert claim(ledger, "i", "run2", "/in/a-fixed-name.xml", 10, 2.0, SHA_A).duplicate_of is None


def test_delivery_is_recorded_once(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
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


def test_received_invoices_are_recorded_once_and_selected_by_interval(ledger_url: str) -> None:
    import datetime as dt

    from invoice_hub.ledger.invoices import Criteria, Invoices, Received
    from invoice_hub.model import Identifier, Invoice, Party

    def received(number: str, day: str, customer: str) -> Received:
        invoice = Invoice(
            number=number,
            issue_date=dt.date.fromisoformat(day),
            buyer=Party(ids=[Identifier(value=customer)]),
        )
        return Received(invoice, None, f"/in/{number}.xml", SHA_A, "file:///s", "file:///d")

    invoices = Invoices(get_engine(ledger_url))
    batch = [
        received("1", "2026-11-01", "C1"),
        received("2", "2026-11-02", "C2"),
        received("3", "2026-11-02", "C1"),
    ]
    assert invoices.record_received("in", "run1", batch) == 3
    assert invoices.record_received("in", "run1", batch) == 0, "a retried task records nothing twice"

    def numbers(start: str, end: str, **more) -> list[str]:
        window = Criteria(start=dt.datetime.fromisoformat(start), end=dt.datetime.fromisoformat(end), **more)
        return [r.number for r in invoices.select(window)]

    assert numbers("2026-11-02T00:00+00:00", "2026-11-03T00:00+00:00") == ["2", "3"]
    assert numbers("2026-11-02T00:00+00:00", "2026-11-02T01:00+00:00") == ["2", "3"], (
        "the hour holding midnight"
    )
    assert numbers("2026-11-02T01:00+00:00", "2026-11-02T02:00+00:00") == []
    assert numbers("2026-11-01T00:00+00:00", "2026-11-03T00:00+00:00", customers=["C1"]) == ["1", "3"]
