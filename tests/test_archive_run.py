"""The archive task's run as a library function, without Airflow (``exchange.archive_run``): files
fetched by ``fetch_files`` into a real ledger and staging, archived at a real folder, their records
closed; a file a retry can archive left unclosed while the others close, and the retry finishing
it. The DAG-level behaviour is in the *_integration_dag.py tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from invoice_hub.config.models import LocalSource
from invoice_hub.exchange.archive_run import ArchiveRun, archive_run, problems, summary
from invoice_hub.exchange.fetch import fetch_files
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.status import FileStatus
from invoice_hub.ledger.store import Ledger
from invoice_hub.ledger.tables import SourceFile
from invoice_hub.manifest import Candidate, FileEntry
from invoice_hub.reasons import Reason
from invoice_hub.staging import Staging
from invoice_hub.transports.base import TransportError
from invoice_hub.transports.local import LocalTransport
from invoice_hub.validation.findings import Finding
from tests.helpers import drop, files_in


@pytest.fixture
def ledger(ledger_db: str) -> Ledger:
    return Ledger(get_engine(ledger_db))


def _run(tmp_path: Path) -> ArchiveRun:
    source = LocalSource.model_validate(
        {
            "type": "local",
            "path": str(tmp_path / "inbox"),
            "on_success": {"move_to": str(tmp_path / "done")},
            "on_failure": {"move_to": str(tmp_path / "failed")},
        }
    )
    return ArchiveRun("supplier_in", source, "r1")


def _fetched(ledger: Ledger, staging: Staging, tmp_path: Path, names: list[str]) -> list[FileEntry]:
    paths = [drop(tmp_path / "inbox", name, f"<Invoice>{name}</Invoice>") for name in names]
    candidates = [Candidate(path=str(p), size=p.stat().st_size, mtime=p.stat().st_mtime) for p in paths]
    return fetch_files(
        ledger, LocalTransport(tmp_path), staging, candidates, integration="supplier_in", run_id="r1"
    )


def _statuses(ledger: Ledger) -> dict[str, tuple[str, str | None]]:
    with Session(ledger.engine) as session:
        return {Path(f.source_path).name: (f.status, f.reason) for f in session.scalars(select(SourceFile))}


class _FlakyMoves(LocalTransport):
    """The real folder, but moving ``flaky`` fails as a lost connection does, until ``healed``."""

    def __init__(self, root: Path, flaky: str) -> None:
        super().__init__(root)
        self.flaky, self.healed = flaky, False

    def move(self, path: str, folder: str) -> str:
        if Path(path).name == self.flaky and not self.healed:
            raise TransportError(f"{path}: connection lost", retryable=True)
        return super().move(path, folder)


def test_each_file_is_archived_by_its_outcome_and_closed_with_its_reason(
    ledger: Ledger, tmp_path: Path
) -> None:
    staging = Staging("supplier_in", "r1", base_url=(tmp_path / "staging").as_uri())
    delivered, failed = _fetched(ledger, staging, tmp_path, ["INV-1.xml", "BAD.xml"])
    delivered.status, delivered.delivered_to = "delivered", ["erp"]
    failed.fail(Reason.VALIDATE_EN16931, "1 fatal finding(s): BR-02")
    finding = Finding(rule="BR-02", severity="fatal", message="An Invoice shall have an Invoice number")
    failed.findings_url = staging.put_findings(str(failed.file_id), failed.name, [finding])

    with LocalTransport(tmp_path) as transport:
        result = archive_run(_run(tmp_path), transport, [delivered, failed], ledger)

    assert files_in(tmp_path / "done") == ["INV-1.xml"]
    assert files_in(tmp_path / "failed") == ["BAD.xml", "BAD.xml.error.json"]
    beside = json.loads((tmp_path / "failed" / "BAD.xml.error.json").read_text())
    assert beside["reason_code"] == "validate.en16931" and beside["findings"] == [finding.model_dump()]
    assert beside["integration"] == "supplier_in" and beside["run_id"] == "r1"
    assert _statuses(ledger) == {
        "INV-1.xml": (FileStatus.SUCCEEDED, None),
        "BAD.xml": (FileStatus.FAILED, "1 fatal finding(s): BR-02"),
    }
    message = problems([delivered, failed], result) or ""
    assert message.startswith("1 file(s) failed and went to on_failure:")
    assert "BAD.xml: [validate.en16931] 1 fatal finding(s): BR-02" in message
    assert summary([delivered, failed], result).startswith("Archived 2 file(s): 1 succeeded")


def test_a_file_a_retry_can_archive_stays_unclosed_and_the_retry_closes_only_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    staging = Staging("supplier_in", "r1", base_url=(tmp_path / "staging").as_uri())
    entries = _fetched(ledger, staging, tmp_path, ["INV-1.xml", "INV-2.xml", "INV-3.xml"])
    for entry in entries:
        entry.status = "delivered"
    transport = _FlakyMoves(tmp_path, flaky="INV-2.xml")

    with pytest.raises(TransportError, match=r"1 file.*retried.*INV-2\.xml: connection lost") as raised:
        archive_run(_run(tmp_path), transport, entries, ledger)

    assert raised.value.retryable
    assert files_in(tmp_path / "done") == ["INV-1.xml", "INV-3.xml"]
    assert {name: status for name, (status, _) in _statuses(ledger).items()} == {
        "INV-1.xml": FileStatus.SUCCEEDED,
        "INV-2.xml": FileStatus.FETCHED,  # not final: the retry presents it again
        "INV-3.xml": FileStatus.SUCCEEDED,
    }

    transport.healed = True
    result = archive_run(_run(tmp_path), transport, entries, ledger)  # the task's retry

    assert result.closed == {FileStatus.SUCCEEDED: [entries[1].file_id]}, "the others were closed already"
    assert files_in(tmp_path / "done") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]
    assert problems(entries, result) is None
