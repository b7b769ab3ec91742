"""A run's notification from the ledger, on SQLite and PostgreSQL: what it counts and lists, who gets
which message (one per recipient and run), and that registered secrets never reach its text."""

from __future__ import annotations

from invoice_hub import redaction
from invoice_hub.config.models import Notify
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.status import FileStatus
from invoice_hub.ledger.store import Ledger, Noted, Planned
from invoice_hub.notifications.message import events_of, html_body, mail_groups, subject, webhook_payload
from invoice_hub.notifications.report import run_report


def test_the_report_lists_failed_rejected_and_unfinished_files_and_counts_deliveries(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
    files = [(f"/in/{name}", 1, 1.0, name[0] * 64) for name in ("bad.xml", "late.xml", "ok.xml", "taken.xml")]
    bad, late, ok, taken = (c.file_id for c in ledger.claim_many("in", "run1", files))
    ledger.claim_many("in", "run0", [("/in/other-run.xml", 1, 1.0, "o" * 64)])
    ledger.note_outcomes({bad: Noted(finding_ids="BR-CO-16")})
    ledger.close_files([bad, taken], FileStatus.FAILED, {bad: "2 fatal finding(s)", taken: "exists"},
                       {bad: "validate.en16931", taken: "deliver.target_exists"})  # fmt: skip
    ledger.close_files([ok], FileStatus.SUCCEEDED, {})
    for destination in ("local:/a", "local:/b"):
        ledger.start_deliveries("in", destination, "run1", [Planned("k" * 64, "ok.xml", "/x/ok.xml", ok)])
        ledger.finish_deliveries("in", destination, [("k" * 64, "/x/ok.xml")])

    report = run_report(ledger.engine, "in", "run1", failed=True)

    assert report.files == {"failed": 2, "fetched": 1, "succeeded": 1}
    assert [(f.source_path, f.reason_code, f.finding_ids) for f in report.failed_files] == [
        ("/in/bad.xml", "validate.en16931", ("BR-CO-16",)),
        ("/in/taken.xml", "deliver.target_exists", ()),
    ]
    assert [f.source_path for f in report.rejected] == ["/in/bad.xml"], "a delivery failure is no rejection"
    assert report.unfinished == ["/in/late.xml"] and late
    assert report.deliveries == {"local:/a": 1, "local:/b": 1} and report.invoices == 0
    assert events_of(report) == ["failure", "rejection"]


def test_one_mail_per_recipient_with_the_parts_they_asked_for_and_no_secret(ledger_url: str) -> None:
    ledger = Ledger(get_engine(ledger_url))
    (claim,) = ledger.claim_many("in", "run1", [("/in/bad.xml", 1, 1.0, "b" * 64)])
    redaction.register_secrets(["hunter2-token"])
    ledger.close_files([claim.file_id], FileStatus.FAILED, {claim.file_id: "said hunter2-token <b>"},
                       {claim.file_id: "format.unreadable"})  # fmt: skip
    report = run_report(ledger.engine, "in", "run1", failed=True)
    report.failed_task, report.error = "archive", "1 file(s) failed: hunter2-token"
    notify = Notify(on_failure=["ops@example.com"], on_rejection=["ops@example.com", "desk@example.com"])

    groups = mail_groups(notify, events_of(report))

    assert groups == [(["ops@example.com"], ["failure", "rejection"]), (["desk@example.com"], ["rejection"])]
    assert subject(report, ["rejection"]) == "[invoice hub] in 1 file(s) rejected: run run1"
    texts = [html_body(report, told) for _, told in groups] + [str(webhook_payload(report, ["failure"]))]
    assert all("hunter2-token" not in text for text in texts), texts
    assert "said *** &lt;b&gt;" in texts[1], "redacted and escaped"
    assert "The run failed" in texts[0] and "The run failed" not in texts[1]
