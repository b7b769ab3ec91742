"""A run's notification as a mail (subject and HTML) and as a webhook's JSON, from its report.

One message per run tells every event of it that its recipients asked for: a run that failed
because it rejected a file mails ``on_failure`` and ``on_rejection`` once, each recipient getting
the parts of their lists. Every text that came from a file, a partner or an error passes through
:func:`invoice_hub.redaction.redact` (and HTML escaping) here, the one place messages are made.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from invoice_hub.config.models import NOTIFY_EVENTS, Notify, NotifyEvent
from invoice_hub.notifications.report import RunReport
from invoice_hub.redaction import redact

#: How many files a mail lists; the rest are counted (the ledger and the dashboard have them all).
LISTED_FILES = 50


def events_of(report: RunReport) -> list[NotifyEvent]:
    """What happened in the run: it failed or succeeded, and whether it rejected files."""
    events: list[NotifyEvent] = ["failure" if report.failed else "success"]
    if report.rejected:
        events.append("rejection")
    return [event for event in NOTIFY_EVENTS if event in events]


def mail_groups(notify: Notify, events: Sequence[NotifyEvent]) -> list[tuple[list[str], list[NotifyEvent]]]:
    """The mails of a run: recipients who asked for the same of its events share one mail."""
    wanted: dict[str, list[NotifyEvent]] = {}
    for event in events:
        for address in notify.recipients(event):
            wanted.setdefault(address, []).append(event)
    groups: dict[tuple[NotifyEvent, ...], list[str]] = {}
    for address, told in wanted.items():
        groups.setdefault(tuple(told), []).append(address)
    return [(addresses, list(told)) for told, addresses in groups.items()]


def subject(report: RunReport, events: Iterable[NotifyEvent]) -> str:
    told = set(events)
    rejected = len(report.rejected)
    head = f"[invoice hub] {report.integration}"
    if "failure" in told:
        what = "failed"
    elif "success" in told:
        what = "succeeded" + (f", {rejected} file(s) rejected" if "rejection" in told else "")
    else:
        what = f"{rejected} file(s) rejected"
    return redact(f"{head} {what}: run {report.run_id}")


def summary(report: RunReport, events: Iterable[NotifyEvent]) -> str:
    """One line for a chat message or a mail's first line."""
    told = set(events)
    parts = [subject(report, told).removeprefix("[invoice hub] ")]
    if "failure" in told and report.failed_task:
        parts.append(f"task {report.failed_task}: {_first_line(report.error)}")
    if "rejection" in told:
        parts.append("rejected: " + ", ".join(_file(f.source_path) for f in report.rejected[:5]))
    if "success" in told:
        parts.append(_counts(report))
    return redact("; ".join(parts))


def html_body(report: RunReport, events: Iterable[NotifyEvent]) -> str:
    told = set(events)
    e = _escape
    out = [
        f"<p>Integration <b>{e(report.integration)}</b>, run <code>{e(report.run_id)}</code>.</p>",
    ]
    if "failure" in told:
        task = f" in task <b>{e(report.failed_task)}</b>" if report.failed_task else ""
        out.append(f"<h3>The run failed{task}</h3>")
        if report.error:
            out.append(f"<pre>{e(report.error)}</pre>")
        failed = [f for f in report.failed_files if not f.rejected or "rejection" not in told]
        if failed:
            out.append("<p>Files that failed (they went to <code>on_failure</code>):</p>")
            out.append(_file_table(failed))
        if report.unfinished:
            out.append(
                f"<p>{len(report.unfinished)} file(s) not finished: they stay at the source and the next "
                "run takes them again: "
                + ", ".join(f"<code>{e(p)}</code>" for p in report.unfinished[:LISTED_FILES])
                + "</p>"
            )
    if "rejection" in told:
        out.append(f"<h3>{len(report.rejected)} file(s) rejected by validation or conversion</h3>")
        out.append(
            "<p>Each went to <code>on_failure</code> with its reason beside it "
            "(<code>NAME.error.json</code>, every finding with its location). Have the sender correct "
            "it and send it again.</p>"
        )
        out.append(_file_table(report.rejected))
    if "success" in told:
        out.append("<h3>The run succeeded</h3>")
        out.append(f"<p>{e(_counts(report))}</p>")
        if report.deliveries:
            rows = "".join(
                f"<tr><td>{e(destination)}</td><td>{count}</td></tr>"
                for destination, count in sorted(report.deliveries.items())
            )
            out.append(f"<table border=1><tr><th>Destination</th><th>Delivered</th></tr>{rows}</table>")
    if report.ledger_problem:
        out.append(
            f"<p>The ledger could not be read, so its files and counts are missing here: "
            f"{e(report.ledger_problem)}</p>"
        )
    if report.log_url:
        label = "Task log" if "failure" in told else "The run"
        out.append(f'<p>{label} in the Airflow UI: <a href="{e(report.log_url)}">{e(report.log_url)}</a></p>')
    return "\n".join(out)


def webhook_payload(report: RunReport, events: Sequence[NotifyEvent]) -> dict[str, Any]:
    """The JSON a webhook gets: ``text`` for chat tools (Slack, Mattermost, Teams workflows read
    it), the same facts as fields for anything else."""
    return {
        "text": summary(report, events),
        "integration": report.integration,
        "run_id": report.run_id,
        "events": list(events),
        "state": "failed" if report.failed else "success",
        "failed_task": report.failed_task,
        "error": redact(report.error) if report.error else None,
        "log_url": report.log_url,
        "rejected": [_file_json(f) for f in report.rejected[:LISTED_FILES]],
        "failed": [_file_json(f) for f in report.failed_files if not f.rejected][:LISTED_FILES],
        "unfinished": [redact(p) for p in report.unfinished[:LISTED_FILES]],
        "files": report.files,
        "invoices": report.invoices,
        "deliveries": {redact(d): n for d, n in report.deliveries.items()},
        "ledger_problem": report.ledger_problem,
    }


def _counts(report: RunReport) -> str:
    files = sum(report.files.values())
    by_status = ", ".join(f"{count} {status}" for status, count in sorted(report.files.items()))
    delivered = sum(report.deliveries.values())
    return (
        f"{files} file(s) ({by_status or 'none'}), {report.invoices} invoice(s) received, "
        f"{delivered} delivery(ies) to {len(report.deliveries)} destination(s)"
    )


def _file_table(files: Sequence[Any]) -> str:
    e = _escape
    rows = "".join(
        f"<tr><td><code>{e(f.source_path)}</code></td><td><code>{e(f.reason_code or '')}</code></td>"
        f"<td>{e(f.reason or '')}</td><td>{e(' '.join(f.finding_ids))}</td></tr>"
        for f in files[:LISTED_FILES]
    )
    more = f"<p>… and {len(files) - LISTED_FILES} more.</p>" if len(files) > LISTED_FILES else ""
    return (
        "<table border=1><tr><th>File</th><th>Code</th><th>Reason</th><th>Finding ids</th></tr>"
        f"{rows}</table>{more}"
    )


def _file_json(f: Any) -> dict[str, Any]:
    return {
        "source_path": redact(f.source_path),
        "reason_code": f.reason_code,
        "reason": redact(f.reason or ""),
        "finding_ids": list(f.finding_ids),
    }


def _escape(text: str | None) -> str:
    return html.escape(redact(text or ""))


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "(no message)"


def _file(path: str) -> str:
    return path.rsplit("/", 1)[-1]
