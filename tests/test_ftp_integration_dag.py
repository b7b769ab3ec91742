"""dag.test() of FTP / FTPS integrations against a real FTP server (plain, explicit and implicit TLS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import drop, files_in, load_dag, run_dag, write
from tests.servers.ftpd import FtpServer

pytestmark = pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")

INTEGRATION = """
name: ftp_partner
schedule: "@daily"
start_date: 2026-01-01
source:
  type: {kind}
  conn_id: partner_ftp
  path: /outbox
  pattern: "*.xml"
  min_age_seconds: 60
  on_success: delete
  on_failure: {{move_to: /outbox/failure}}
destinations:
  - type: {kind}
    conn_id: partner_ftp
    path: /erp/in
"""


def test_ftp_to_ftp_end_to_end(integrations_dir: Path, ftpd: FtpServer, ftp_conn: str) -> None:
    kind = "ftp" if ftpd.mode == "plain" else "ftps"
    write(integrations_dir / "ftp_partner.yaml", INTEGRATION.format(kind=kind))
    drop(ftpd.root / "outbox", "INV-1.xml", "<Invoice>1</Invoice>")
    drop(ftpd.root / "outbox", "INV-2.xml", "<Invoice>2, still uploading</Invoice>", age_seconds=0)
    drop(ftpd.root / "outbox", "notes.txt", "no invoice")

    state, tasks = run_dag(load_dag("ftp_partner"))

    assert state == "success", tasks
    assert files_in(ftpd.root / "erp") == ["in/INV-1.xml"]
    assert (ftpd.root / "erp" / "in" / "INV-1.xml").read_text() == "<Invoice>1</Invoice>"
    assert files_in(ftpd.root / "outbox") == ["INV-2.xml", "notes.txt"], "on_success: delete"
    _, tasks = run_dag(load_dag("ftp_partner"))
    assert set(tasks.values()) == {"skipped"}
