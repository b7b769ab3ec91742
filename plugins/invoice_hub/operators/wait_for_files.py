"""wait_for_files: are there new files at the source? None means the run ends skipped, not failed."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from invoice_hub.manifest import Candidate, CandidateList
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.transports.selection import find_candidates


class WaitForFilesOperator(IntegrationOperator):
    """Lists the source and keeps the files that match and that this integration has not finished.

    By default it looks once (``source.wait_seconds: 0``): an hourly integration should not hold a
    worker for an hour. With ``wait_seconds`` it looks again every ``poll_interval_seconds``, and in
    between the task is *deferred*: Airflow's triggerer keeps a timer, no worker slot is held, so
    hundreds of integrations can wait at once. A run that finds nothing is skipped, with the counts
    in the log.
    """

    ui_color = "#fdf2d0"

    @fail_fast
    def execute(self, context: Context, event: Any = None, started: float | None = None) -> dict:
        if started is None:  # the first look, not a resumption after deferral
            self.check_run_conf(context)
            if self.resend_request(context) is not None:  # fetch makes its manifest; no source listed
                return CandidateList(candidates=[]).to_xcom()
        started = started or time.time()
        found = self._look()
        if found is not None:
            return found
        source = self.integration.file_source
        assert source is not None
        waited = time.time() - started
        if waited + source.poll_interval_seconds > source.wait_seconds:
            raise AirflowSkipException(
                f"No new files in {source.path} matching {source.pattern!r}"
                + (f" after waiting {waited:.0f} s" if source.wait_seconds else "")
            )
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

        self.log.info(
            "No new files yet; looking again in %d s (deferred to the triggerer)",
            source.poll_interval_seconds,
        )
        self.defer(
            trigger=TimeDeltaTrigger(dt.timedelta(seconds=source.poll_interval_seconds)),
            method_name="execute",
            kwargs={"started": started},
        )
        raise AssertionError("defer() does not return")  # pragma: no cover

    def _look(self) -> dict | None:
        source = self.integration.file_source
        assert source is not None
        with self.source_transport() as transport:
            found = find_candidates(transport, source, time.time())
        for notice in found.notices:
            self.log.warning(notice)
        listed, matching = found.listed, found.candidates
        seen = self.ledger.seen_versions(self.integration.name, [(f.path, f.size, f.mtime) for f in matching])
        new = [f for f in matching if (f.path, f.size, f.mtime) not in seen]
        self.log.info(
            "%d file(s) in %s, %d matching %r and old enough, %d new",
            len(listed),
            source.path,
            len(matching),
            source.pattern,
            len(new),
        )
        if not new:
            return None
        return CandidateList(
            candidates=[Candidate(path=f.path, size=f.size, mtime=f.mtime) for f in new]
        ).to_xcom()
