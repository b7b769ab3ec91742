"""A real Airflow 3.3 deployment in subprocesses, for tests that need the scheduler (backfills, schedules).

What the LocalExecutor needs to run a DAG run outside ``dag.test()``:

- ``airflow dag-processor``: parses ``dags/`` into the ``serialized_dag`` table (the scheduler and the
  backfill command only read serialized DAGs);
- ``airflow scheduler``: starts queued runs, schedules task instances and hands them to the
  LocalExecutor, whose workers run each task in a supervised child process;
- ``airflow api-server --apps execution``: the Task Execution API. Airflow 3 task processes never
  touch the metadata database: they fetch their context, connections and variables and report their
  states over HTTP at ``[core] execution_api_server_url``, authenticated by a JWT the scheduler signs
  with ``[api_auth] jwt_secret`` (the same secret must reach every process);
- ``airflow triggerer`` only for deferrable tasks (``wait_seconds`` > 0): off unless asked for.

The metadata database is a fresh PostgreSQL database of its own (dropped by :meth:`stop`), migrated
with ``airflow db migrate``: four processes write to it at once, which SQLite serialises badly.
The async URL uses psycopg 3 (Airflow would otherwise derive ``postgresql+asyncpg``, not installed).

``[scheduler] use_job_schedule`` is off by default: a DAG must be unpaused for backfill runs to start,
and unpausing would otherwise also create the latest scheduled run, racing the backfill for the same
files. Logs of every process go to files in the harness's folder; :meth:`logs` gives their tails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.servers.sshd import free_port, wait_for_port

AIRFLOW = Path(sys.executable).with_name("airflow")
POSTGRES_ADMIN_URL = os.environ.get(
    "INVOICE_HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: States a DAG run does not leave by itself.
FINAL_RUN_STATES = frozenset({"success", "failed"})


class AirflowError(RuntimeError):
    """An Airflow command failed or a wait timed out; the message carries the processes' log tails."""


@dataclass(frozen=True)
class RunInfo:
    """One DAG run as the metadata database has it."""

    run_id: str
    run_type: str
    state: str
    logical_date: Any  # datetime (UTC)
    data_interval: tuple[Any, Any]
    backfill_id: int | None
    clear_number: int  # how often the run was cleared (re-run), e.g. by a backfill reprocessing it
    tasks: dict[str, str] = field(default_factory=dict)  # task_id -> state ("none" while unset)
    tries: dict[str, int] = field(default_factory=dict)  # task_id -> try_number

    @property
    def day(self) -> str:
        return self.logical_date.date().isoformat()


@dataclass(frozen=True)
class BackfillInfo:
    """A backfill and, per logical date, the run it made or the reason it made none."""

    id: int
    dag_id: str
    reprocess_behavior: str
    max_active_runs: int
    # keyed by logical date, ISO 8601 in UTC ("2026-11-01T00:00:00+00:00"), in the backfill's order:
    dates: dict[str, int | None]  # -> dag_run.id, or None when no run was created or cleared
    reasons: dict[str, str]  # -> why not ("already exists", "in flight", ...)
    output: str  # what the CLI printed


class AirflowScheduler:
    """Scheduler, DAG processor and Execution API server (and optionally a triggerer) on a fresh database.

    ``integrations_dir`` becomes ``INVOICE_HUB_INTEGRATIONS_DIR``; ``env`` is added to the processes'
    environment (``AIRFLOW_CONN_*``, ``INVOICE_HUB_*``, ``AIRFLOW__SECTION__KEY`` overrides), on top of
    the test process's own. Set them before :meth:`start`: processes read them once.
    """

    PROCESSES = ("api-server", "dag-processor", "scheduler")

    def __init__(
        self,
        folder: Path,
        integrations_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        triggerer: bool = False,
        use_job_schedule: bool = False,
        parallelism: int = 4,
        admin_url: str = POSTGRES_ADMIN_URL,
        api_apps: str = "execution",
    ) -> None:
        self.folder = folder
        self.api_apps = api_apps  # "all": also the UI, the public API and plugins' apps (the dashboard)
        self.home = folder / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.database = f"invoice_hub_airflow_{uuid.uuid4().hex[:12]}"
        admin = sa.make_url(admin_url)
        self._admin_url = admin.set(drivername="postgresql+psycopg")
        self.url = self._admin_url.set(database=self.database)
        db_url = self.url.render_as_string(hide_password=False)
        async_url = self.url.set(drivername="postgresql+psycopg_async").render_as_string(hide_password=False)
        self.processes: dict[str, subprocess.Popen] = {}
        self.names = [*self.PROCESSES, *(["triggerer"] if triggerer else [])]
        self._engine: sa.Engine | None = None
        self._created = False
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": async_url,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(use_job_schedule),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # the supervisor of a task process looks at it at least this often (s): a finished task
            # whose exit it missed waited up to 5 s (the default) before being reported
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            # a new or edited integration file shows up within seconds (default: 30 s / 5 min)
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # into the log files only
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "INVOICE_HUB_INTEGRATIONS_DIR": str(integrations_dir),
            **(env or {}),
        }

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> AirflowScheduler:
        try:
            with self._admin() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
            self._created = True
            self.airflow("db", "migrate", timeout=120)
            commands = {
                "api-server": ["api-server", "--apps", self.api_apps, "--port", str(self.port)],
                "dag-processor": ["dag-processor"],
                "scheduler": ["scheduler", "--skip-serve-logs"],
                "triggerer": ["triggerer", "--skip-serve-logs"],
            }
            for name in self.names:
                log = (self.folder / f"{name}.log").open("ab")
                self.processes[name] = subprocess.Popen(
                    [str(AIRFLOW), *commands[name]],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self.env,
                    cwd=self.folder,
                    start_new_session=True,  # a process group each: stop() ends their children too
                )
                log.close()
            wait_for_port(self.port, timeout)
            scheduler = "SELECT count(*) FROM job WHERE job_type = 'SchedulerJob'"
            self._wait(lambda: self._scalar(scheduler) or None, timeout, "the scheduler's first heartbeat")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to each process, SIGKILL to its process group after ``timeout``; drop the database.

        Only the leaders get SIGTERM: the scheduler then ends its LocalExecutor workers itself (with
        the whole group signalled it could wait for its killed workers until the SIGKILL).
        """
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            # workers and task processes may outlive their parent: end the whole group in any case
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._created:
            with self._admin() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._created = False

    # -- commands -----------------------------------------------------------------------------------

    def airflow(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """An ``airflow`` CLI command against this deployment; output as text."""
        result = subprocess.run(
            [str(AIRFLOW), *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AirflowError(
                f"airflow {' '.join(args)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}\n{self.logs()}"
            )
        return result

    def wait_for_dag(self, dag_id: str, timeout: float = 60.0) -> None:
        """Until the DAG processor has serialized ``dag_id`` (only then can it be run or backfilled)."""

        def parsed() -> int | None:
            errors = self._rows("SELECT filename, stacktrace FROM import_error")
            if errors:
                raise AirflowError(f"import errors while parsing the DAGs: {errors}")
            return self._scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = :d", d=dag_id) or None

        self._wait(parsed, timeout, f"DAG {dag_id!r} serialized")

    def unpause(self, dag_id: str) -> None:
        self.airflow("dags", "unpause", dag_id)

    def backfill(
        self,
        dag_id: str,
        from_date: str,
        to_date: str,
        reprocess_behavior: str | None = "completed",
        *,
        max_active_runs: int | None = None,
        unpause: bool = True,
        extra_args: Sequence[str] = (),
    ) -> BackfillInfo:
        """``airflow backfill create`` (``reprocess_behavior=None``: Airflow's default, ``none``).

        Backfill runs of a paused DAG stay queued, so the DAG is unpaused first unless told not to.
        ``max_active_runs`` (Airflow's default: 10) is the backfill's own: the DAG's ``max_active_runs``
        does not limit backfill runs. Waits first for an earlier backfill of the DAG to be marked
        complete, as Airflow refuses a second one while the first is open.
        """
        # Airflow allows one unfinished backfill per DAG: the previous one must be marked complete
        for (previous,) in self._rows(
            "SELECT id FROM backfill WHERE dag_id = :d AND completed_at IS NULL", d=dag_id
        ):
            self.wait_for_backfill(previous)
        if unpause:
            self.unpause(dag_id)
        args = ["backfill", "create", "--dag-id", dag_id, "--from-date", from_date, "--to-date", to_date]
        if reprocess_behavior is not None:
            args += ["--reprocess-behavior", reprocess_behavior]
        if max_active_runs is not None:
            args += ["--max-active-runs", str(max_active_runs)]
        result = self.airflow(*args, *extra_args)
        row = self._rows(
            "SELECT id, reprocess_behavior, max_active_runs FROM backfill WHERE dag_id = :d ORDER BY id DESC",
            d=dag_id,
        )
        if not row:
            raise AirflowError(f"no backfill recorded for {dag_id}\n{result.stdout}\n{result.stderr}")
        backfill_id, behavior, max_runs = row[0]
        dates: dict[str, int | None] = {}
        reasons: dict[str, str] = {}
        for logical_date, run, reason in self._rows(
            "SELECT logical_date, dag_run_id, exception_reason FROM backfill_dag_run "
            "WHERE backfill_id = :b ORDER BY sort_ordinal",
            b=backfill_id,
        ):
            stamp = logical_date.astimezone(dt.UTC).isoformat()
            dates[stamp] = run
            if reason:
                reasons[stamp] = reason
        return BackfillInfo(
            backfill_id, dag_id, behavior, max_runs, dates, reasons, result.stdout + result.stderr
        )

    def wait_for_runs(
        self,
        dag_id: str,
        count: int | None = None,
        run_type: str | None = "backfill",
        *,
        backfill_id: int | None = None,
        timeout: float = 90.0,
    ) -> list[RunInfo]:
        """Until at least ``count`` runs (of ``run_type``; of ``backfill_id``) exist and all are final.

        With ``backfill_id`` and no ``count``: the runs that backfill created or cleared. Runs come by
        logical date. ``run_type`` None: runs of every type. The backfill itself is marked complete
        later (see :meth:`wait_for_backfill`).
        """
        if count is None and backfill_id is None:
            raise ValueError("give count, backfill_id or both")

        def done() -> list[RunInfo] | None:
            runs = self.runs(dag_id, run_type, backfill_id=backfill_id)
            expected = count
            if expected is None:
                expected = self._scalar(
                    "SELECT count(dag_run_id) FROM backfill_dag_run WHERE backfill_id = :b", b=backfill_id
                )
            if len(runs) >= expected and all(run.state in FINAL_RUN_STATES for run in runs):
                return runs
            return None

        what = f"{count or 'the'} {run_type or ''} runs of {dag_id} to end"
        if backfill_id is not None:
            what += f" (backfill {backfill_id})"
        return self._wait(done, timeout, what)

    def wait_for_backfill(self, backfill_id: int, timeout: float = 60.0) -> None:
        """Until the scheduler marks the backfill complete: it looks every 30 s (fixed in Airflow 3.3)."""
        sql = "SELECT completed_at FROM backfill WHERE id = :b"
        self._wait(lambda: self._scalar(sql, b=backfill_id), timeout, f"backfill {backfill_id} complete")

    def runs(
        self, dag_id: str, run_type: str | None = None, *, backfill_id: int | None = None
    ) -> list[RunInfo]:
        """The DAG's runs now, by logical date, with each task instance's state and try number."""
        where, params = ["dag_id = :d"], {"d": dag_id}
        if run_type is not None:
            where.append("run_type = :t")
            params["t"] = run_type
        if backfill_id is not None:
            where.append("backfill_id = :b")
            params["b"] = backfill_id
        rows = self._rows(
            "SELECT run_id, run_type, state, logical_date, data_interval_start, data_interval_end, "
            f"backfill_id, clear_number FROM dag_run WHERE {' AND '.join(where)} ORDER BY logical_date",
            **params,
        )
        runs = []
        for run_id, kind, state, logical, start, end, backfill, clears in rows:
            tasks = self._rows(
                "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = :d AND run_id = :r "
                "ORDER BY task_id",
                d=dag_id,
                r=run_id,
            )
            runs.append(
                RunInfo(
                    run_id=run_id,
                    run_type=kind,
                    state=state,
                    logical_date=logical,
                    data_interval=(start, end),
                    backfill_id=backfill,
                    clear_number=clears,
                    tasks={task: str(s or "none") for task, s, _ in tasks},
                    tries={task: tries for task, _, tries in tasks},
                )
            )
        return runs

    def task_log(self, dag_id: str, run_id: str, task_id: str, attempt: int | None = None) -> str:
        """A task instance's log as its worker wrote it: one attempt, or all of them in order."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        pattern = f"attempt={attempt}.log" if attempt is not None else "attempt=*.log"
        paths = sorted(folder.glob(pattern), key=lambda p: int(p.stem.split("=")[1]))
        return "\n".join(p.read_text(errors="replace") for p in paths)

    def logs(self, lines: int = 40) -> str:
        """The last ``lines`` of each process's log, for failure messages."""
        parts = []
        for name in self.names:
            path = self.folder / f"{name}.log"
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            state = self.processes[name].poll() if name in self.processes else "not started"
            parts.append(f"--- {name} (exit: {state}) {path}\n" + "\n".join(text))
        return "\n".join(parts)

    def dags(self) -> list[dict[str, Any]]:
        """``airflow dags list -o json`` (its last line: warnings are printed to stdout before it)."""
        return json.loads(self.airflow("dags", "list", "-o", "json").stdout.strip().splitlines()[-1])

    def import_errors(self) -> dict[str, str]:
        """DAG file name (without folder) -> its import error's text, as the UI lists them."""
        return {Path(f).name: text for f, text in self._rows("SELECT filename, stacktrace FROM import_error")}

    def dag_states(self) -> dict[str, bool]:
        """dag_id -> is_stale, for every DAG the DAG processor has recorded (a stale DAG is not scheduled)."""
        return dict(self._rows("SELECT dag_id, is_stale FROM dag"))

    def last_parsed(self, dag_id: str) -> Any:
        """When the DAG processor last parsed the file of ``dag_id`` (datetime, UTC), or None."""
        return self._scalar("SELECT last_parsed_time FROM dag WHERE dag_id = :d", d=dag_id)

    def wait_until(self, probe: Any, timeout: float, what: str) -> Any:
        """Until ``probe()`` returns something other than None (returned); fails with the logs after ``timeout``."""
        return self._wait(probe, timeout, what)

    # -- internals ----------------------------------------------------------------------------------

    def _admin(self) -> contextlib.AbstractContextManager[sa.Connection]:
        engine = sa.create_engine(self._admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        return engine.connect()

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, poolclass=sa.NullPool)
        return self._engine

    def _rows(self, sql: str, **params: Any) -> list[sa.Row]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params))

    def _scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()

    def _wait(self, probe: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            dead = [name for name, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise AirflowError(f"{', '.join(dead)} exited while waiting for {what}\n{self.logs()}")
            result = probe()  # None: not yet
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise AirflowError(f"timed out after {timeout} s waiting for {what}\n{self.logs()}")
            time.sleep(0.5)
