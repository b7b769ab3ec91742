"""exchange.archive.archive_files without Airflow, on a real folder: one file that cannot be archived never
fails the others, and each problem is recorded with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from invoice_hub.config.models import LocalSource
from invoice_hub.exchange.archive import archive_files
from invoice_hub.manifest import FileEntry
from invoice_hub.naming import NAME_MAX_BYTES
from invoice_hub.reasons import Reason
from invoice_hub.transports.local import LocalTransport
from tests.helpers import drop, files_in


def entry(path: Path, file_id: int, status: str = "delivered") -> FileEntry:
    made = FileEntry(source_path=str(path), size=1, mtime=0.0, status="fetched", file_id=file_id)
    if status == "failed":
        made.fail(Reason.VALIDATE_STRUCTURE, "1 fatal finding(s): no seller")
    else:
        made.status = status  # type: ignore[assignment]
    return made


def source(tmp_path: Path, on_failure: str = "failed") -> LocalSource:
    return LocalSource.model_validate(
        {
            "type": "local",
            "path": str(tmp_path / "inbox"),
            "on_success": {"move_to": str(tmp_path / "done")},
            "on_failure": {"move_to": str(tmp_path / on_failure)},
        }
    )


def test_a_vanished_file_is_recorded_and_the_others_archived(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    entries = [
        entry(drop(inbox, "INV-1.xml", "1"), 1),
        entry(inbox / "INV-2.xml", 2),
        entry(drop(inbox, "INV-3.xml", "3"), 3),
    ]

    with LocalTransport(tmp_path) as transport:
        result = archive_files(transport, source(tmp_path), entries, lambda e: {})

    assert files_in(tmp_path / "done") == ["INV-1.xml", "INV-3.xml"]
    assert result.closed == {"succeeded": [1, 2, 3]}, "the vanished one was delivered: it is closed too"
    assert [e.file_id for e in result.vanished] == [2] and not result.refused and not result.retry
    assert entries[1].archive_code == Reason.ARCHIVE_VANISHED
    assert result.ledger_reason(entries[1]).startswith("[archive.vanished]")  # type: ignore[union-attr]


def test_a_move_the_source_refuses_fails_that_file_only(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (tmp_path / "blocked").write_text("a file where the failure folder should be")
    good, bad = entry(drop(inbox, "INV-1.xml", "1"), 1), entry(drop(inbox, "BAD.xml", "x"), 2, "failed")

    with LocalTransport(tmp_path) as transport:
        result = archive_files(transport, source(tmp_path, on_failure="blocked"), [bad, good], lambda e: {})

    assert files_in(tmp_path / "done") == ["INV-1.xml"]
    assert files_in(inbox) == ["BAD.xml"], "refused: it stays at the source, nothing lost"
    assert [e.file_id for e in result.refused] == [2] and not result.retry
    assert result.closed == {"succeeded": [1]}, "refused: not closed, the next run presents it again"
    assert list(result.unclosed) == [2] and "[archive.refused]" in result.unclosed[2]
    assert bad.archive_code == Reason.ARCHIVE_REFUSED and "BAD.xml" in (bad.archive_problem or "")
    assert bad.reason_code == Reason.VALIDATE_STRUCTURE, "the file's own outcome stands"


def test_the_reason_file_beside_a_long_name_is_bounded(tmp_path: Path) -> None:
    name = "R" * 250 + ".xml"  # the disk holds it; with ".error.json" it would be 265 bytes
    failed = entry(drop(tmp_path / "inbox", name, "x"), 1, "failed")

    with LocalTransport(tmp_path) as transport:
        result = archive_files(
            transport, source(tmp_path), [failed], lambda e: {"reason_code": e.reason_code}
        )

    assert result.closed == {"failed": [1]} and not result.refused and not result.retry
    moved, reason = sorted(files_in(tmp_path / "failed"), key=len, reverse=True)
    assert moved == name and reason.endswith(".xml.error.json") and len(reason.encode()) <= NAME_MAX_BYTES
    assert json.loads((tmp_path / "failed" / reason).read_text()) == {"reason_code": "validate.structure"}


def test_the_findings_of_a_file_delivered_with_losses_are_kept_beside_the_archived_original(
    tmp_path: Path,
) -> None:
    """on_loss: warn delivers a file whose findings live only in staging, which archive removes: they
    are written beside the moved original and the ledger's reason says where and which terms; a
    delivered file without findings gets nothing beside it, and with on_success: keep the reason
    still names the terms (the log has every finding)."""
    lossy = entry(drop(tmp_path / "inbox", "LOSSY.xml", "x"), 1)
    lossy.findings_url = "staging://findings-1.json"
    clean = entry(drop(tmp_path / "inbox", "CLEAN.xml", "x"), 2)
    payload = {"file": "LOSSY.xml", "findings": [{"rule": "LOSS-BT-29", "location": "seller.identifiers[0]"}]}
    asked: list[str | None] = []

    def findings_of(e: FileEntry) -> dict:
        asked.append(e.findings_url)
        return payload

    with LocalTransport(tmp_path) as transport:
        result = archive_files(
            transport, source(tmp_path), [lossy, clean], lambda e: {}, findings_of=findings_of
        )

    assert asked == ["staging://findings-1.json"]
    assert sorted(files_in(tmp_path / "done")) == ["CLEAN.xml", "LOSSY.xml", "LOSSY.xml.findings.json"]
    assert json.loads((tmp_path / "done" / "LOSSY.xml.findings.json").read_text()) == payload
    reason = result.ledger_reason(lossy) or ""
    assert "BT-29" in reason and str(tmp_path / "done" / "LOSSY.xml.findings.json") in reason
    assert result.ledger_reason(clean) is None and result.closed == {"succeeded": [1, 2]}

    kept = entry(drop(tmp_path / "inbox2", "KEPT.xml", "x"), 3)
    kept.findings_url = "staging://findings-3.json"
    keep = LocalSource.model_validate(
        {"type": "local", "path": str(tmp_path / "inbox2"), "on_success": "keep"}
    )
    with LocalTransport(tmp_path) as transport:
        result = archive_files(transport, keep, [kept], lambda e: {}, findings_of=findings_of)
    assert files_in(tmp_path / "inbox2") == ["KEPT.xml"], "nothing a poll would take for a new file"
    assert "BT-29" in (result.ledger_reason(kept) or "") and "log" in (result.ledger_reason(kept) or "")
