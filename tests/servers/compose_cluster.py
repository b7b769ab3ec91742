"""docker-compose.yaml's Airflow topology as processes on this machine (no Docker engine runs here).

The compose file is the thing under test: ``docker-compose config`` resolves it with ``.env``-style
values the test supplies (fresh database names, the S3 server's keys, generated secrets), and every
Airflow service runs with its resolved ``command`` and ``environment``, the ``x-airflow-common``
anchor included. What Docker would provide, the harness provides instead:

- the network: host names in the environment (``postgres``, ``redis``, ``minio``, ``airflow-apiserver``)
  become 127.0.0.1 ports: the machine's PostgreSQL (a fresh metadata and ledger database each, dropped
  at :meth:`ComposeCluster.stop`), the machine's Redis with a database number of its own (flushed), and
  moto's S3 server on a free port for MinIO (``minio-init``'s bucket is made through its API);
- the containers: each service gets its own empty working directory, ``HOME``, ``TMPDIR`` and Airflow
  home, and a ``HOSTNAME`` (recorded by Airflow as the task instances' hostname); the port a container
  would have to itself is a free port (``[api] port``, the log servers, the scheduler's health check);
- the image: the entrypoint's ``airflow <command>``, the DAG and plugins folders of this checkout (the
  Dockerfile's ``/opt/airflow/{dags,plugins}``), and this venv's ``airflow`` and ``python`` first on PATH.

``airflow-init`` runs its script with ``bash -c`` as the container would; then the api-server,
scheduler, DAG processor, triggerer and ``workers`` Celery workers start (``--scale airflow-worker=N``).
Nothing of the test process's own environment reaches the services: only what the compose file says,
plus the deployment's additions a ``docker-compose.override.yaml`` would make (the partners'
connections, the integrations folder, :data:`TEST_TUNING`'s shorter failure timings).
The query helpers (runs, waits, logs, the CLI) are those of :class:`AirflowScheduler`; the fault tests
:meth:`ComposeCluster.kill` a container (SIGKILL to all its processes) and :meth:`ComposeCluster.restart` it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from tests.servers.airflow_scheduler import POSTGRES_ADMIN_URL, AirflowError, AirflowScheduler
from tests.servers.compose_file import ENV_EXAMPLE, PROJECT, compose_config, read_env_file, unescape
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, S3Server
from tests.servers.sshd import free_port, wait_for_port

VENV_BIN = Path(sys.executable).parent
#: The Airflow services started after airflow-init, in this order; workers come last.
SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
WORKER = "airflow-worker"
REDIS_PORT = 6379
BUCKET = "invoice-hub-cluster"
#: What the test deployment adds to the compose file's environment, as a docker-compose.override.yaml
#: would: Airflow's timings for failures, shortened from minutes to seconds so that the fault tests
#: (a worker or the scheduler killed) end quickly. Production keeps Airflow's defaults (see
#: docs/deployment.md): a shorter heartbeat timeout there fails tasks of a worker that is only slow.
TEST_TUNING = {
    # a task whose worker died (no heartbeat for this long) is failed and retried on another worker
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # a restarted scheduler takes over the dead one's task instances this soon
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
}


def _redis_db() -> int:
    """A Redis database number of this test session's own (not 0: that is the machine's default)."""
    return 1 + os.getpid() % 15


class ComposeCluster(AirflowScheduler):
    """The compose file's CeleryExecutor cluster: ``workers`` workers, PostgreSQL, Redis and S3.

    ``env`` holds the deployment's own additions, as a ``docker-compose.override.yaml`` would add to
    ``x-airflow-common``: the partners' ``AIRFLOW_CONN_*`` connections, ``INVOICE_HUB_INTEGRATIONS_DIR``.
    ``dotenv`` overrides the values taken from ``.env.example``.
    """

    def __init__(
        self,
        folder: Path,
        integrations_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        workers: int = 2,
        dotenv: Mapping[str, str] | None = None,
        admin_url: str = POSTGRES_ADMIN_URL,
    ) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed: dict[str, subprocess.Popen] = {}  # by kill(): not watched by the waits
        self._engine: sa.Engine | None = None
        self._created = False
        self._ledger_created = False
        self.api_port = self.port = free_port()
        self.database = f"invoice_hub_airflow_{uuid.uuid4().hex[:12]}"
        self.ledger_database = f"invoice_hub_ledger_{uuid.uuid4().hex[:12]}"
        admin = sa.make_url(admin_url)
        self._admin_url = admin.set(drivername="postgresql+psycopg")
        self.url = self._admin_url.set(database=self.database)
        self.ledger_url = self._admin_url.set(database=self.ledger_database)
        self.redis_db = _redis_db()
        self.s3 = S3Server(folder / "s3.log")
        self.workers = [f"{WORKER}-{index}" for index in range(1, workers + 1)]
        self.names = [*SERVICES, *self.workers]
        self.dotenv = {
            **read_env_file(ENV_EXAMPLE),
            "POSTGRES_USER": admin.username or "postgres",
            "POSTGRES_PASSWORD": admin.password or "trust-auth-ignores-it",
            "AIRFLOW_DB_NAME": self.database,
            "LEDGER_DB_NAME": self.ledger_database,
            "LEDGER_DB_USER": admin.username or "postgres",
            "LEDGER_DB_PASSWORD": admin.password or "trust-auth-ignores-it",
            "REDIS_DB": str(self.redis_db),
            "MINIO_ROOT_USER": ACCESS_KEY,
            "MINIO_ROOT_PASSWORD": SECRET_KEY,
            "INVOICE_HUB_BUCKET": BUCKET,
            "AIRFLOW_FERNET_KEY": _fernet_key(),
            "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW_API_SECRET_KEY": secrets.token_urlsafe(16),
            "SMTP_HOST": "127.0.0.1",
            # this machine has 2 cores: two task slots per worker, one api-server process
            "AIRFLOW_WORKER_CONCURRENCY": "2",
            "AIRFLOW_API_WORKERS": "1",
            **(dotenv or {}),
        }
        self.extra_env = {
            **TEST_TUNING,
            "INVOICE_HUB_INTEGRATIONS_DIR": str(integrations_dir),
            **(env or {}),
        }
        self.services = unescape(compose_config(self.dotenv)["services"])
        # AirflowScheduler's CLI helper (airflow(), dags(), backfill()) runs with the scheduler's env
        self.env = self.service_env("airflow-scheduler", "cli")
        self.home = self.folder / "cli" / "airflow-home"

    # -- what a container would get ---------------------------------------------------------------

    def _hosts(self, value: str) -> str:
        """Compose's service host names in ``value`` (URLs, connection JSON) as 127.0.0.1 ports."""
        ports = {
            "postgres": 5432,
            "redis": REDIS_PORT,
            "minio": self.s3.port,
            "airflow-apiserver": self.api_port,
        }
        value = re.sub(
            r"(?<=[/@])(postgres|redis|minio|airflow-apiserver):\d+\b",
            lambda m: f"127.0.0.1:{ports[m[1]]}",
            value,
        )
        return re.sub(r'("host":\s*")(postgres|redis|minio)(")', r"\g<1>127.0.0.1\g<3>", value)

    def service_env(self, service: str, instance: str) -> dict[str, str]:
        """The environment of one container of ``service``: the compose file's, hosts mapped, plus
        what the image and Docker give a container (its own home, folders, host name and ports)."""
        root = self.folder / instance
        home, tmp, airflow_home = root / "home", root / "tmp", root / "airflow-home"
        for path in (home, tmp, airflow_home):
            path.mkdir(parents=True, exist_ok=True)
        declared = {
            key: self._hosts(str(value)) for key, value in self.services[service]["environment"].items()
        }
        return {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "TMPDIR": str(tmp),
            "HOSTNAME": instance,
            # the image: /opt/airflow/{dags,plugins} are this checkout's; the hub as installed there
            "PYTHONPATH": f"{PROJECT / 'plugins'}:{PROJECT}",
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.servers.compose_file.container_hostname",
            # ports a container has to itself
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            **declared,
            **self.extra_env,
        }

    def command(self, service: str, instance: str) -> list[str]:
        """The service's command as the image's entrypoint runs it (``airflow <command>``, or the
        service's own entrypoint), with the node name a container's host name gives a Celery worker."""
        spec = self.services[service]
        command = spec.get("command", [])
        args = shlex.split(command) if isinstance(command, str) else list(command)
        entrypoint = spec.get("entrypoint")
        if entrypoint:
            entry = shlex.split(entrypoint) if isinstance(entrypoint, str) else list(entrypoint)
            return [shutil.which(Path(entry[0]).name) or entry[0], *entry[1:], *args]
        if args[:2] == ["celery", "worker"]:
            args += ["--celery-hostname", f"{instance}@127.0.0.1"]
        return [str(VENV_BIN / "airflow"), *args]

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> ComposeCluster:
        try:
            with self._admin() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
                self._created = True
                # what the postgres container's init script does on its first start
                connection.exec_driver_sql(f'CREATE DATABASE "{self.ledger_database}"')
                self._ledger_created = True
            self._redis().flushdb()
            self.s3.start()
            self.s3.create_bucket(self.dotenv["INVOICE_HUB_BUCKET"])  # minio-init's `mc mb`
            self._run_init()
            for name in self.names:
                service = WORKER if name in self.workers else name
                self._spawn(service, name)
            wait_for_port(self.api_port, timeout)
            scheduler = "SELECT count(*) FROM job WHERE job_type = 'SchedulerJob'"
            self._wait(lambda: self._scalar(scheduler) or None, timeout, "the scheduler's first heartbeat")
            self._wait(self._workers_ready, timeout, "every Celery worker ready")
        except BaseException:
            self.stop()
            raise
        return self

    def _run_init(self) -> None:
        log = self.folder / "airflow-init.log"
        with log.open("ab") as sink:
            result = subprocess.run(
                self.command("airflow-init", "airflow-init"),
                env=self.service_env("airflow-init", "airflow-init"),
                cwd=self.folder / "airflow-init",
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=300,
            )
        if result.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise AirflowError(f"airflow-init exited {result.returncode}\n{tail}")

    def kill(self, instance: str) -> None:
        """SIGKILL one container: its process group and every process it started (a task process
        runs in a process group of its own), as a lost node or the OOM killer would end it. Waits
        no longer watch it; :meth:`restart` starts it again."""
        import psutil

        process = self.processes.pop(instance)
        try:
            descendants = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        process.wait()
        psutil.wait_procs(descendants, timeout=10)
        self.killed[instance] = process

    def restart(self, instance: str) -> None:
        """Start a killed container again, with the command and environment it had (``restart: always``)."""
        self.killed.pop(instance, None)
        self._spawn(WORKER if instance in self.workers else instance, instance)

    def _spawn(self, service: str, instance: str) -> None:
        with (self.folder / f"{instance}.log").open("ab") as log:
            self.processes[instance] = subprocess.Popen(
                self.command(service, instance),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.service_env(service, instance),
                cwd=self.folder / instance,
                start_new_session=True,  # a process group each: stop() and kill() end their children too
            )

    def _workers_ready(self) -> bool | None:
        """Each worker has logged Celery's ``ready.`` line (it consumes the queue from then on)."""
        for name in self.workers:
            path = self.folder / f"{name}.log"
            if not path.exists() or f"{name}@127.0.0.1 ready." not in path.read_text(errors="replace"):
                return None
        return True

    def stop(self, timeout: float = 20.0) -> None:
        super().stop(timeout)  # the processes, and the metadata database
        if self._ledger_created:
            with self._admin() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.ledger_database}" WITH (FORCE)')
            self._ledger_created = False
        with contextlib.suppress(redis.RedisError):
            self._redis().flushdb()
        self.s3.stop()

    def _redis(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=self.redis_db)

    # -- what the tests do and look at -------------------------------------------------------------

    def trigger(self, *dag_ids: str) -> None:
        """Unpause ``dag_ids`` and start a manual run of each, all in one process: Airflow's CLI
        takes seconds to start, and runs triggered one CLI call apart would not overlap."""
        script = (
            "import sys\n"
            "from airflow.api.common.trigger_dag import trigger_dag\n"
            "from sqlalchemy import update\n"
            "from airflow.models.dag import DagModel\n"
            "from airflow.utils.session import create_session\n"
            "from airflow.utils.types import DagRunTriggeredByType\n"
            "with create_session() as session:\n"
            "    session.execute(update(DagModel).where(DagModel.dag_id.in_(sys.argv[1:])).values(is_paused=False))\n"
            "for dag_id in sys.argv[1:]:\n"
            "    trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.TEST)\n"
        )
        result = subprocess.run(
            [str(VENV_BIN / "python"), "-c", script, *dag_ids],
            env={**self.env, "_AIRFLOW_PROCESS_CONTEXT": "server"},
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise AirflowError(f"triggering {dag_ids} failed\n{result.stderr[-3000:]}")

    def worker_folder(self, worker: str) -> Path:
        """The worker's own folder: its working directory, HOME, TMPDIR and Airflow home are in it."""
        return self.folder / worker

    def hostnames(self, dag_id: str) -> dict[tuple[str, str], str]:
        """(run_id, task_id) -> the hostname of the worker that ran it (the last try)."""
        rows = self._rows(
            "SELECT run_id, task_id, hostname FROM task_instance WHERE dag_id = :d AND hostname <> ''",
            d=dag_id,
        )
        return {(run_id, task_id): hostname for run_id, task_id, hostname in rows}

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[tuple[int, str, str]]:
        """Every try of one task instance, oldest first: (try number, the worker's hostname, state)."""
        sql = (
            "SELECT try_number, hostname, state FROM task_instance_history "
            "WHERE dag_id = :d AND run_id = :r AND task_id = :t "
            "UNION SELECT try_number, hostname, state FROM task_instance "
            "WHERE dag_id = :d AND run_id = :r AND task_id = :t ORDER BY 1"
        )
        return [
            (n, host or "", str(state)) for n, host, state in self._rows(sql, d=dag_id, r=run_id, t=task_id)
        ]

    def consume(self, worker: str, on: bool) -> None:
        """Make one Celery worker stop (``on`` False) or start again taking tasks from Airflow's
        queue, by Celery's remote control (``celery control cancel_consumer`` / ``add_consumer``):
        what is queued meanwhile goes to the other workers. Tasks it holds already run on it."""
        from celery import Celery

        queue = "default"  # Airflow's [operators] default_queue
        app = Celery(broker=f"redis://127.0.0.1:{REDIS_PORT}/{self.redis_db}")
        try:
            node = f"{worker}@127.0.0.1"
            command = app.control.add_consumer if on else app.control.cancel_consumer
            replies = command(queue, destination=[node], reply=True, timeout=10)
            if not replies:
                raise AirflowError(f"{node} did not answer the {'add' if on else 'cancel'}_consumer control")
        finally:
            app.close()

    def metadata_rows(self, sql: str, **params: Any) -> list[sa.Row]:
        """Rows of a query on Airflow's metadata database (task instances, jobs)."""
        return self._rows(sql, **params)

    def ledger_rows(self, sql: str, **params: Any) -> list[sa.Row]:
        engine = sa.create_engine(self.ledger_url, poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                return list(connection.execute(sa.text(sql), params))
        finally:
            engine.dispose()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
