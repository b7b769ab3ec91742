"""The demo's partners: invoices dropped into folders, and an SFTP server the hub logs in to with a pinned key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.transports.sftp import SftpTransport
from tests.servers.sshd import free_port, wait_for_port

UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"


def test_demo_partner_serves_invoices_over_sftp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = str(Path(sys.executable).with_name("invoice-hub"))
    port = free_port()
    root, state, folder = tmp_path / "sftp", tmp_path / "state", tmp_path / "folder"
    partner = subprocess.Popen(
        [
            cli,
            "demo-partner",
            str(folder),
            str(root / "outbox"),
            "--sftp-root",
            str(root),
            "--sftp-port",
            str(port),
            "--state",
            str(state),
            "--every",
            "60",
            "--count",
            "2",
        ]
    )
    try:
        wait_for_port(port, timeout=30)
        connection = subprocess.run(
            [cli, "demo-sftp-connection", "--sftp-port", str(port), "--state", str(state)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        monkeypatch.setenv("AIRFLOW_CONN_DEMO_PARTNER_SFTP", connection)
        with SftpTransport("demo_partner_sftp") as transport:
            files = transport.list_files("/outbox", recursive=False)
        assert files and all(f.path.startswith("/outbox/INV-") for f in files)
        invoice = etree.parse(str(root / "outbox" / Path(files[0].path).name)).getroot()
        assert invoice.tag == f"{{{UBL}}}Invoice"
        assert sorted(p.name for p in folder.iterdir())
    finally:
        partner.terminate()
        partner.wait(timeout=10)
