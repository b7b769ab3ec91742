"""``invoice-hub check-connection``: per endpoint, OK or exactly what failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write
from tests.servers.ftpd import FtpServer
from tests.servers.mail_http import HttpServer, SmtpServer
from tests.servers.sshd import SshServer, free_port

INTEGRATION = """
name: checked
source:
  type: sftp
  conn_id: partner_sftp
  path: {remote}/outbox
destinations:
  - type: local
    path: out
  - type: ftp
    conn_id: partner_ftp
    path: /in
  - type: sftp
    conn_id: partner_sftp
    path: {remote}/not-yet
"""


def check(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("invoice-hub")
    return subprocess.run(
        [str(cli), "check-connection", "checked", "--folder", str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def endpoint_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The command's report, without whatever Airflow logged on the way."""
    return [line for line in result.stdout.splitlines() if line.startswith(("source ", "destinations["))]


@pytest.mark.parametrize("ftpd", ["plain"], indirect=True)
def test_every_endpoint_is_checked(
    integrations_dir: Path, sshd: SshServer, sftp_conn: str, remote: Path, ftpd: FtpServer
) -> None:
    write(integrations_dir / "checked.yaml", INTEGRATION.format(remote=remote))
    sshd.drop(remote / "outbox", "a.xml", "x")
    (ftpd.root / "in").mkdir()
    good = {"AIRFLOW_CONN_PARTNER_SFTP": sshd.connection(), "AIRFLOW_CONN_PARTNER_FTP": ftpd.connection()}
    result = check(integrations_dir, good)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = endpoint_lines(result)
    assert lines[0] == f"source (sftp:partner_sftp): OK: logged in; 1 file(s) in {remote}/outbox"
    assert lines[1].startswith("destinations[0] (local): OK")
    assert lines[2] == "destinations[1] (ftp:partner_ftp): OK: logged in; 0 file(s) in /in"
    assert "does not exist yet (the first delivery creates it)" in lines[3]

    bad = {
        "AIRFLOW_CONN_PARTNER_SFTP": sshd.connection(host_key="wrong"),
        "AIRFLOW_CONN_PARTNER_FTP": f"ftp://partner:wrong-password@127.0.0.1:{free_port()}",
    }
    result = check(integrations_dir, bad)
    assert result.returncode == 1
    lines = endpoint_lines(result)
    assert "FAILED" in lines[0] and "host key does not match" in lines[0]
    assert lines[2].startswith("destinations[1] (ftp:partner_ftp): FAILED") and "cannot connect" in lines[2]


def test_unknown_integration(integrations_dir: Path) -> None:
    result = check(integrations_dir, {})
    assert result.returncode == 2 and "no valid integration named 'checked'" in result.stderr


LOCAL_TO_LOCAL = """
name: checked
source:
  type: local
  path: inbox
destinations:
  - type: local
    path: out
"""
NOTIFYING = LOCAL_TO_LOCAL + "notify:\n  on_failure: [ap-team@example.com]\n"
WEBHOOK = LOCAL_TO_LOCAL + "notify:\n  webhook: {conn_id: team_chat}\n"


def notify_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("notify ")]


def test_the_smtp_connection_of_notifications_is_checked(integrations_dir: Path, smtpd: SmtpServer) -> None:
    """A failure mail that cannot go out is found by check-connection, not on the first bad day."""
    write(integrations_dir / "checked.yaml", NOTIFYING)
    (integrations_dir / "inbox").mkdir()
    result = check(integrations_dir, {})
    notify = notify_lines(result)
    assert notify == [
        "notify (email:smtp_default): OK: logged in to the SMTP server; would send to ap-team@example.com"
    ], result.stdout + result.stderr
    assert result.returncode == 0

    result = check(integrations_dir, {"AIRFLOW_CONN_SMTP_DEFAULT": f"smtp://127.0.0.1:{free_port()}"})
    notify = notify_lines(result)
    assert result.returncode == 1 and len(notify) == 1 and "FAILED" in notify[0], result.stdout


def test_the_webhook_connection_of_notifications_is_checked_without_posting(
    integrations_dir: Path, httpd: HttpServer
) -> None:
    """A chat webhook that cannot be posted to is found by check-connection; nothing is posted (a
    post would be a message in the team's chat), and the URL's path (its token) is not shown."""
    write(integrations_dir / "checked.yaml", WEBHOOK)
    (integrations_dir / "inbox").mkdir()
    token_url = {"conn_type": "http", "host": f"http://localhost:{httpd.port}/hooks/T0KEN-SECRET"}
    result = check(integrations_dir, {"AIRFLOW_CONN_TEAM_CHAT": json.dumps(token_url)})
    (line,) = notify_lines(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert line.startswith(
        "notify (webhook:team_chat): OK: HTTP connection to http://localhost (resolves to "
    )
    assert line.endswith("nothing posted") and "T0KEN" not in result.stdout + result.stderr
    result = check(integrations_dir, {"AIRFLOW_CONN_TEAM_CHAT": httpd.connection()})  # host, schema, port
    assert result.returncode == 0 and "OK: HTTP connection to http://127.0.0.1" in notify_lines(result)[0]
    assert httpd.requests == [], "checking posts nothing"

    failures = {
        "no Airflow connection 'team_chat'": None,
        "a smtp connection; the webhook is posted with Airflow's HttpNotifier": json.dumps(
            {"conn_type": "smtp", "host": "mail.example.com"}
        ),
        "its host 'chat.does-not-exist.invalid' does not resolve": json.dumps(
            {"conn_type": "http", "host": "https://chat.does-not-exist.invalid/hooks/x"}
        ),
        "its URL's scheme is 'ftp'": json.dumps({"conn_type": "http", "host": "ftp://files.example.com/x"}),
    }
    for expected, connection in failures.items():
        env = {"AIRFLOW_CONN_TEAM_CHAT": connection} if connection else {}
        result = check(integrations_dir, env)
        (line,) = notify_lines(result)
        assert result.returncode == 1, result.stdout
        assert line.startswith("notify (webhook:team_chat): FAILED: ") and expected in line, line
