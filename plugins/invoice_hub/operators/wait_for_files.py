"""wait_for_files: are there new files at the source? None means the run ends skipped, not failed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from airflow.sdk import Context
from airflow.sdk.bases.sensor import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

from invoice_hub.config.models import Integration
from invoice_hub.manifest import Candidate, CandidateList
from invoice_hub.operators.base import IntegrationTaskMixin, fail_fast
from invoice_hub.transports.selection import select_candidates


class WaitForFilesSensor(IntegrationTaskMixin, BaseSensorOperator):
    """Lists the source and keeps the files that match and that this integration has not finished.

    With the default ``timeout=0`` it looks once: an hourly integration should not hold a worker
    slot for an hour waiting. A run that finds nothing is skipped, with the counts in the log.
    """

    ui_color = "#fdf2d0"

    def __init__(self, *, integration: Integration, integration_file: Path, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 0)
        kwargs.setdefault("poke_interval", 60)
        kwargs.setdefault("mode", "reschedule" if kwargs["timeout"] else "poke")
        super().__init__(**kwargs)
        self.integration = integration
        self.integration_file = integration_file

    def execute(self, context: Context) -> Any:
        # Not soft_fail: that would also turn a missing folder or a refused login into "skipped".
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            raise AirflowSkipException(f"No new files within {self.timeout} s") from exc

    @fail_fast
    def poke(self, context: Context) -> PokeReturnValue:
        source = self.integration.source
        assert source is not None
        with self.source_transport() as transport:
            listed = transport.list_files(source.path, source.recursive)
            archive = [
                transport.resolve(action.move_to)
                for action in (source.on_success, source.on_failure)
                if not isinstance(action, str)
            ]
            matching = select_candidates(listed, source, time.time(), archive)
            for notice in transport.notices_after_selection(matching):
                self.log.warning(notice)
        seen = self.ledger.seen_versions(self.integration.name, [(f.path, f.size, f.mtime) for f in matching])
        new = [f for f in matching if (f.path, f.size, f.mtime) not in seen]
        summary = (
            f"{len(listed)} file(s) in {source.path}, {len(matching)} matching {source.pattern!r} "
            f"and old enough, {len(new)} new"
        )
        self.log.info(summary)
        if new:
            candidates = CandidateList(
                candidates=[Candidate(path=f.path, size=f.size, mtime=f.mtime) for f in new]
            )
            return PokeReturnValue(is_done=True, xcom_value=candidates.to_xcom())
        if self.timeout == 0:
            raise AirflowSkipException(f"No new files: {summary}")
        return PokeReturnValue(is_done=False)
