"""DAG runs the dashboard starts (resend, manual export) and links into Airflow's own run and log pages.

The dashboard never delivers or exports itself: it starts a run of the integration's DAG, as the
Trigger button does, with the run's params in ``conf``. Airflow then logs it, retries it and shows
it; the hub's tasks check the params and record what they deliver. The run id comes from a token
the page made when it was shown, so a second click (or a retried request) finds the run the first
one started instead of starting another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, status

_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class StartedRun:
    dag_id: str
    run_id: str
    created: bool  # False: a run with this id existed already (the same request, again)
    state: str
    url: str


def check_token(token: str) -> str:
    if not _TOKEN.fullmatch(token or ""):
        raise HTTPException(
            422,
            "'token' must be 8 to 64 letters, digits, '-' or '_' (the page makes one; reload it)",
        )
    return token


def start_run(dag_id: str, run_id: str, conf: dict[str, Any], user_name: str, note: str) -> StartedRun:
    """A manual run of ``dag_id`` with ``conf``; the existing one when ``run_id`` was started before."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagNotFound, DagRunAlreadyExists
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunTriggeredByType

    try:
        run = trigger_dag(
            dag_id,
            run_id=run_id,
            conf=conf,
            triggered_by=DagRunTriggeredByType.UI,
            triggering_user_name=user_name,
            note=note,
        )
        created = True
    except DagRunAlreadyExists:
        run, created = None, False
    except DagNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"the DAG {dag_id!r} is not (yet) parsed by Airflow"
        ) from None
    if run is None:
        (run,) = DagRun.find(dag_id=dag_id, run_id=run_id)
    return StartedRun(dag_id, run_id, created, str(run.state), run_url(dag_id, run_id))


def _ui_root() -> str:
    """The path Airflow's UI lives under (``[api] base_url``'s path: '' unless behind a prefix)."""
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    return f"{_ui_root()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def task_log_url(dag_id: str, run_id: str, task_id: str) -> str:
    return f"{run_url(dag_id, run_id)}/tasks/{quote(task_id, safe='')}"
