"""reconcile: each new open-AR snapshot, oldest first, against the state the previous ones left."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import Context

from invoice_hub.manifest import FileEntry, Manifest, Output
from invoice_hub.naming import safe_name
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.reasons import Reason

if TYPE_CHECKING:
    from invoice_hub.reconciliation.apply import Outcome
    from invoice_hub.staging import Staging

#: The DAG param a person sets (in the Trigger form) to apply held snapshots: file names or paths.
APPROVE_PARAM = "approve"


class OpenArReconcileOperator(IntegrationOperator):
    """Applies each fetched snapshot in the order the reports were produced (the timestamp in the file
    name, else its modification time) and writes its status changes as ``<stem>.changes.csv`` and
    ``<stem>.changes.json`` for deliver.

    A snapshot a person must look at (see :func:`~invoice_hub.reconciliation.apply.reconcile_file`)
    is *held*, and so is every later one in the run, which must not overtake it: held files stay at
    the source, are presented again on the next run, and archive fails the run with the reasons.
    Triggering the DAG with ``{"approve": ["<file name>"]}`` applies them. A snapshot applied before
    changes nothing; a file that is not a report fails with its findings.
    """

    ui_color = "#e9f5e1"

    @fail_fast
    def execute(self, context: Context) -> dict:
        from invoice_hub.config.models import Reconcile
        from invoice_hub.ledger.receivables import Receivables
        from invoice_hub.reconciliation.apply import reconcile_file
        from invoice_hub.reconciliation.snapshot import produced_at
        from invoice_hub.staging import local_file

        manifest = self.pull_manifest(context, "fetch")
        staging = self.staging(context)
        options = self.integration.reconcile or Reconcile()
        receivables = Receivables(self.ledger.engine)
        approved = set(context["params"].get(APPROVE_PARAM) or [])
        user = getattr(context.get("dag_run"), "triggering_user_name", None)
        approver = f"{context['run_id']} ({user})" if user else context["run_id"]
        fetched = [e for e in manifest.files if e.status == "fetched"]
        held_first: str | None = None
        for entry in sorted(fetched, key=lambda e: (produced_at(e.name, e.mtime), e.name)):
            if held_first is not None:
                entry.mark(
                    "held",
                    Reason.RECONCILE_WAITING,
                    f"waits for {held_first}, an earlier snapshot that is held",
                )
                continue
            assert entry.staged_url is not None and entry.sha256 is not None
            with local_file(entry.staged_url) as path:
                outcome = reconcile_file(
                    receivables,
                    self.integration.name,
                    options,
                    path,
                    source=entry.source_path,
                    sha256=entry.sha256,
                    produced_at=produced_at(entry.name, entry.mtime),
                    run_id=context["run_id"],
                    approved_by=approver if approved & {entry.name, entry.source_path} else None,
                )
            self._record(entry, outcome, staging)
            if entry.status == "held":
                held_first = entry.name
        counts = {
            s: sum(e.status == s for e in fetched) for s in ("transformed", "held", "duplicate", "failed")
        }
        self.log.info(
            "Snapshots: %(transformed)d applied, %(held)d held, %(duplicate)d applied before, "
            "%(failed)d rejected",
            counts,
        )
        return Manifest(files=manifest.files).to_xcom()

    def _record(self, entry: FileEntry, outcome: Outcome, staging: Staging) -> None:
        if outcome.status == "already_applied":
            entry.mark("duplicate", Reason.RECONCILE_APPLIED_BEFORE, outcome.reason or "")
            self.log.info("%s: %s; nothing changes", entry.source_path, outcome.reason)
            return
        if outcome.status == "rejected":
            self.log.error("%s: %s", entry.source_path, outcome.reason)
            entry.fail(Reason.RECONCILE_REJECTED, outcome.reason or "")
            if outcome.snapshot is not None:
                entry.findings_url = staging.put_findings(
                    str(entry.file_id), entry.name, outcome.snapshot.findings
                )
            return
        if outcome.status == "held":
            entry.mark(
                "held",
                Reason.RECONCILE_HELD,
                f"held, not applied: {outcome.reason}. If it is right, trigger the DAG with "
                f'{{"{APPROVE_PARAM}": ["{entry.name}"]}}',
            )
            self.log.warning("%s: %s", entry.source_path, entry.reason)
            return
        entry.outputs = self._write(entry, outcome, staging)
        entry.status = "transformed"
        assert outcome.comparison is not None
        self.log.info(
            "%s applied (%d rows, %d open before): %s%s",
            entry.source_path,
            len(outcome.snapshot.frame) if outcome.snapshot is not None else 0,
            outcome.comparison.open_before,
            ", ".join(f"{count} {change}" for change, count in outcome.comparison.counts.items()),
            f"; approved although {outcome.reason}" if outcome.reason else "",
        )
        if outcome.snapshot is not None and len(outcome.snapshot.not_applied):
            self.log.warning(
                "%s: %d row(s) changed nothing (see not_applied in the JSON): %s",
                entry.source_path,
                len(outcome.snapshot.not_applied),
                "; ".join(
                    f"row {r.row} {r.invoice_ref}: {r.why}"
                    for r in outcome.snapshot.not_applied.head(5).itertuples()
                ),
            )

    def _write(self, entry: FileEntry, outcome: Outcome, staging: Staging) -> list[Output]:
        from invoice_hub.reconciliation.outputs import write_changes_csv, write_changes_json
        from invoice_hub.staging import HashingSink

        stem = entry.name.rsplit(".", 1)[0]
        outputs = []
        for suffix, write in (
            ("csv", write_changes_csv),
            ("json", lambda o, sink: write_changes_json(o, self.integration.name, sink)),
        ):
            name = safe_name(f"{stem}.changes.{suffix}")  # the snapshot's name is the partner's
            path = staging.new_path("out", f"{entry.file_id}-{suffix}", name)
            with path.open("wb") as file:
                sink = HashingSink(file)
                write(outcome, sink)
            outputs.append(Output(name=name, url=str(path), sha256=sink.sha256.hexdigest(), size=sink.size))
        return outputs
