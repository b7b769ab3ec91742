"""Test harness: a temporary, migrated Airflow home for the whole session; a ledger and folders per test.

Airflow reads its configuration when first imported, so the environment is set at import time of
this file, before any test module imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.servers.airflow_scheduler import AirflowScheduler
from tests.servers.billy import BillyStandIn
from tests.servers.dovecot import DovecotServer
from tests.servers.ftpd import FtpServer, self_signed_certificate
from tests.servers.mail_http import HttpServer, SmtpServer
from tests.servers.sshd import SshServer, remove_server, start_server

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="invoice-hub-airflow-"))

os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT / "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT / "plugins"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__EXECUTOR="LocalExecutor",
    AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
)
os.environ.pop("INVOICE_HUB_INTEGRATIONS_DIR", None)
os.environ.pop("AIRFLOW_CONN_INVOICE_HUB_DB", None)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """Airflow's metadata database, migrated once per session (SQLite in the temporary home)."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    yield _AIRFLOW_HOME
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture
def ledger_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ledger of the test's own, through the documented invoice_hub_db connection."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_INVOICE_HUB_DB", url)
    return url


#: The machine's PostgreSQL (trust auth); each test gets a database of its own, dropped after it.
POSTGRES_ADMIN_URL = os.environ.get(
    "INVOICE_HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh ledger database URL, SQLite and then PostgreSQL: the ledger suite runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    import uuid

    import sqlalchemy as sa

    from invoice_hub.ledger import database

    name = f"invoice_hub_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine = database._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def integrations_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "integrations"
    folder.mkdir()
    monkeypatch.setenv("INVOICE_HUB_INTEGRATIONS_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """A real OpenSSH server on a free 127.0.0.1 port (the session's)."""
    server = start_server()
    yield server
    remove_server(server)


@pytest.fixture
def sftp_conn(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Airflow connection ``partner_sftp`` to the test sshd (password login, host key pinned)."""
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection())
    if sshd.process is None or sshd.process.poll() is not None:
        sshd.start()  # a fault test stopped it
    return "partner_sftp"


@pytest.fixture
def remote(sshd: SshServer, request: pytest.FixtureRequest) -> Path:
    """A folder of the test's own on the SFTP server (its path there is the same as here)."""
    return sshd.make_folder(request.node.name.replace("[", "_").replace("]", "_"))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["plain", "explicit", "implicit"])
def ftpd(request: pytest.FixtureRequest, tmp_path: Path, certificate: Path) -> Iterator[FtpServer]:
    """A real FTP server on a free port: plain FTP, explicit FTPS or implicit FTPS (one test each)."""
    root = tmp_path / "ftp-root"
    root.mkdir()
    server = FtpServer(root, request.param, certificate)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ftp_conn(ftpd: FtpServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_FTP", ftpd.connection())
    return "partner_ftp"


@pytest.fixture
def dovecot(certificate: Path) -> Iterator[DovecotServer]:
    """A real Dovecot with an empty mailbox: IMAP and POP3, plain and TLS, on free ports."""
    server = DovecotServer(certificate.parent)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtpd(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server on a free port; Airflow connections ``partner_smtp`` and ``smtp_default``."""
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SMTP", server.connection())
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", server.connection())
    yield server
    server.stop()


@pytest.fixture
def httpd(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpServer]:
    server = HttpServer()
    server.start()
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_HTTP", server.connection())
    yield server
    server.stop()


@pytest.fixture
def billy(monkeypatch: pytest.MonkeyPatch) -> Iterator[BillyStandIn]:
    """The billy API v2 stand-in on a free port with 400 invoices over 5 days from 2026-03-02 (see
    ``tests/servers/billy.py``); Airflow connection ``billy`` points at it with its token."""
    server = BillyStandIn().generate(400).start()
    monkeypatch.setenv("AIRFLOW_CONN_BILLY", server.connection())
    yield server
    server.stop()


@pytest.fixture
def staging_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = (tmp_path / "staging").as_uri()
    monkeypatch.setenv("INVOICE_HUB_STAGING_URL", url)
    return url


@pytest.fixture
def airflow_scheduler(
    tmp_path: Path, integrations_dir: Path, ledger_db: str, staging_url: str
) -> Iterator[Callable[..., AirflowScheduler]]:
    """Starts a real Airflow (scheduler, DAG processor, Execution API; LocalExecutor; a PostgreSQL
    database of its own) on ``integrations_dir``, the test's ledger and staging area; stopped after the
    test. ``airflow_scheduler(env=None, triggerer=False, use_job_schedule=False)``: write integration
    files and set connections first, the processes read their environment once. Their log tails are
    printed at teardown (shown when the test fails)."""
    started: list[AirflowScheduler] = []

    def start(env: Mapping[str, str] | None = None, **options: Any) -> AirflowScheduler:
        harness = AirflowScheduler(
            tmp_path / f"airflow-scheduler-{len(started)}",
            integrations_dir,
            {"AIRFLOW_CONN_INVOICE_HUB_DB": ledger_db, "INVOICE_HUB_STAGING_URL": staging_url, **(env or {})},
            **options,
        )
        started.append(harness)
        return harness.start()

    yield start
    for harness in started:
        print(harness.logs())
        harness.stop()
