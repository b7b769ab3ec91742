"""The demo's partners: invoices dropped into folders, and an SFTP server the hub logs in to with a pinned key."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.transports.sftp import SftpTransport
from tests.helpers import files_in, load_dag, run_dag
from tests.servers.sshd import free_port, wait_for_port

PROJECT = Path(__file__).resolve().parents[1]

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


def test_demo_invoices_are_valid_by_structure_and_en16931(tmp_path: Path) -> None:
    """Every supplier and line count the demo makes passes both levels with no finding at all."""
    from invoice_hub.demo import sample_invoice
    from invoice_hub.formats import read_document

    for seed in range(40):
        path = tmp_path / f"INV-{seed}.xml"
        path.write_bytes(sample_invoice(f"INV-{seed}", dt.date(2026, 12, 1), random.Random(seed)))
        for level in ("structure", "en16931"):
            document = read_document(path, "ubl", str(path), validate=level)
            assert document.valid and not document.findings, (seed, level, document.findings)
            (invoice,) = document.invoices
            assert invoice.seller.address.country and invoice.buyer.address.country


@pytest.mark.usefixtures("airflow_db")
def test_demo_integration_validates_the_partners_invoices_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger_db: str, staging_url: str
) -> None:
    """The demo's own integration file, in a copy of the checkout's layout: the supplier's invoices are
    read and checked by EN 16931 (not passed through unread) and reach the ERP inbox."""
    from invoice_hub.config.loader import load_integration
    from invoice_hub.demo import drop_invoice

    integrations = tmp_path / "include" / "integrations"
    integrations.mkdir(parents=True)
    source = PROJECT / "include" / "integrations" / "demo_supplier_inbound.yaml"
    shutil.copy(source, integrations / source.name)
    monkeypatch.setenv("INVOICE_HUB_INTEGRATIONS_DIR", str(integrations))
    integration = load_integration(integrations / source.name).integration
    assert integration is not None
    assert (integration.transform.input, integration.transform.validate_) == ("ubl", "en16931")
    demo = tmp_path / ".demo"
    rng = random.Random(12)
    dropped = [drop_invoice(demo / "supplier" / "outbox", n, rng) for n in (1, 2, 3)]
    for path in dropped:  # older than the integration's min_age_seconds
        os.utime(path, (time.time() - 60, time.time() - 60))

    state, tasks = run_dag(load_dag("demo_supplier_inbound"))

    assert state == "success", tasks
    names = sorted(p.name for p in dropped)
    assert files_in(demo / "erp" / "inbox") == names
    assert files_in(demo / "supplier" / "processed") == names
    assert files_in(demo / "supplier" / "rejected") == []
