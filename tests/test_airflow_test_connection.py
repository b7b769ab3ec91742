"""Airflow's own "Test connection" (``airflow connections test``) for every connection type the hub uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.dovecot import DovecotServer
from tests.servers.ftpd import FtpServer
from tests.servers.mail_http import HttpServer, SmtpServer
from tests.servers.sshd import SshServer


def airflow_test(connection: str) -> subprocess.CompletedProcess[str]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = {**os.environ, "AIRFLOW_CONN_UNDER_TEST": connection, "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    return subprocess.run(
        [airflow, "connections", "test", "under_test"], capture_output=True, text=True, env=env
    )


def assert_tested_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert "Connection success!" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]


pytestmark = pytest.mark.usefixtures("airflow_db")


def test_sftp(sshd: SshServer) -> None:
    assert_tested_ok(airflow_test(sshd.connection()))


@pytest.mark.parametrize("ftpd", ["plain", "implicit"], indirect=True)
def test_ftp_and_ftps(ftpd: FtpServer) -> None:
    assert_tested_ok(airflow_test(ftpd.connection()))


def test_pop3(dovecot: DovecotServer) -> None:
    # IMAP is left out: the IMAP provider's hook has no test_connection (check-connection covers IMAP).
    assert_tested_ok(airflow_test(dovecot.connection("pop3s")))


def test_smtp_and_http(smtpd: SmtpServer, httpd: HttpServer) -> None:
    assert_tested_ok(airflow_test(smtpd.connection()))
    assert_tested_ok(airflow_test(httpd.connection()))
