"""Hostile names end to end (dag.test()) through every destination type, against the real servers.

Beside a good invoice: an invoice number with CR/LF, one of 300 bytes, and a source file whose name
(240 bytes: the disk holds it) is too long once the template and the transports' temporary name are
added. Before naming.safe_name each of these failed the deliver task on every run, the good file was
delivered but never archived, and the integration stayed red.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import create_engine, select

from invoice_hub.ledger.tables import InvoiceRecord, SourceFile
from invoice_hub.naming import MAX_NAME_BYTES
from tests.conftest import SHARED
from tests.helpers import drop, files_in, load_dag, run_dag, write
from tests.servers.ftpd import FtpServer
from tests.servers.mail_http import HttpServer, SmtpServer

pytestmark = pytest.mark.usefixtures("airflow_db", "ledger_db", "staging_url")

EXAMPLE = (SHARED / "einvoice-examples/en16931/ubl-tc434-example1.xml").read_text(encoding="utf-8")
LONG_NUMBER = "9" * 300
LONG_FILE = "L" * 240 + ".xml"
#: source file name -> the invoice number in it (as XML text)
FILES = {
    "good.xml": "INV-1",
    "crlf.xml": "INV&#13;&#10;2",
    "long.xml": LONG_NUMBER,
    LONG_FILE: "INV-4",
    "euro.xml": "RE-2026-€-Ωμ",  # beyond Latin-1: an HTTP header carries it only as filename*
}
NUMBERS = {"INV-1", "INV\r\n2", LONG_NUMBER, "INV-4", "RE-2026-€-Ωμ"}

INTEGRATION = """
name: hostile_names
schedule: null
source:
  type: local
  path: inbox
  on_success: {{move_to: done}}
  on_failure: {{move_to: failed}}
transform:
  input: ubl
  validate: structure
  output: ubl
  filename: "{{stem}}_{{invoice_number}}.xml"
destinations:
{destination}
"""


def invoice(number: str) -> str:
    return EXAMPLE.replace("<cbc:ID>12115118</cbc:ID>", f"<cbc:ID>{number}</cbc:ID>", 1)


def prepare(folder: Path, destination: str) -> None:
    write(folder / "hostile_names.yaml", INTEGRATION.format(destination=destination))
    for name, number in FILES.items():
        drop(folder / "inbox", name, invoice(number))


def assert_delivered(folder: Path, ledger_db: str, names: list[str]) -> None:
    """Every file delivered under a safe name, all archived, the originals kept in the ledger."""
    assert len(names) == len(set(names)) == len(FILES), names
    assert "good_INV-1.xml" in names, "a safe name stays as it is"
    for name in names:
        assert len(name.encode()) <= MAX_NAME_BYTES and name.endswith(".xml"), name
        assert not any(unicodedata.category(c) == "Cc" for c in name), name
    assert any(re.fullmatch(r"crlf_INV__2~[0-9a-f]{12}\.xml", n) for n in names), names
    assert files_in(folder / "inbox") == [] and files_in(folder / "failed") == []
    assert sorted(files_in(folder / "done")) == sorted(FILES), "every file archived"
    engine = create_engine(ledger_db)
    with engine.connect() as connection:
        assert set(connection.scalars(select(InvoiceRecord.number))) == NUMBERS, "original numbers"
        paths = set(connection.scalars(select(SourceFile.source_path)))
        assert str(folder / "inbox" / LONG_FILE) in paths, "original file name"
        statuses = set(connection.scalars(select(SourceFile.status)))
    engine.dispose()
    assert statuses == {"succeeded"}


def run_twice(folder: Path) -> None:
    state, tasks = run_dag(load_dag("hostile_names"))
    assert state == "success", tasks
    _, tasks = run_dag(load_dag("hostile_names"))
    assert set(tasks.values()) == {"skipped"}, "nothing left behind for the next run"


def test_to_a_local_folder(integrations_dir: Path, ledger_db: str) -> None:
    prepare(integrations_dir, "  - {type: local, path: outbox}")
    run_twice(integrations_dir)
    assert_delivered(integrations_dir, ledger_db, files_in(integrations_dir / "outbox"))


def test_to_sftp(integrations_dir: Path, ledger_db: str, sftp_conn: str, remote: Path) -> None:
    prepare(integrations_dir, f"  - {{type: sftp, conn_id: {sftp_conn}, path: {remote}}}")
    run_twice(integrations_dir)
    assert_delivered(integrations_dir, ledger_db, files_in(remote))


@pytest.mark.parametrize("ftpd", ["plain"], indirect=True)
def test_to_ftp(integrations_dir: Path, ledger_db: str, ftpd: FtpServer, ftp_conn: str) -> None:
    prepare(integrations_dir, f"  - {{type: ftp, conn_id: {ftp_conn}, path: /erp/in}}")
    run_twice(integrations_dir)
    assert_delivered(integrations_dir, ledger_db, files_in(ftpd.root / "erp" / "in"))


def test_by_email(integrations_dir: Path, ledger_db: str, smtpd: SmtpServer) -> None:
    prepare(
        integrations_dir,
        "  - {type: email, conn_id: partner_smtp, to: [ap@customer.example], subject: 'Invoice {name}'}",
    )
    run_twice(integrations_dir)
    names = []
    for message in smtpd.messages:
        (attachment,) = list(message.iter_attachments())
        names.append(attachment.get_filename())
        assert message["Subject"] == f"Invoice {attachment.get_filename()}"
    assert_delivered(integrations_dir, ledger_db, names)


def test_over_http(integrations_dir: Path, ledger_db: str, httpd: HttpServer) -> None:
    prepare(integrations_dir, "  - {type: http, conn_id: partner_http, path: /api/invoices}")
    run_twice(integrations_dir)
    names = []
    for request in httpd.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        disposition = headers["content-disposition"]
        encoded = re.findall(r"filename\*=UTF-8''(\S+)", disposition)
        names.append(unquote(encoded[0]) if encoded else re.findall(r'filename="([^"]*)"', disposition)[0])
    assert_delivered(integrations_dir, ledger_db, names)


def test_a_name_that_is_not_utf8_stays_at_the_source_and_the_others_go(
    integrations_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Latin-1 name on a share (``R\\xe9chnung.xml``): before, wait_for_files failed on every run
    (UnicodeEncodeError) and nothing else in the folder was ever delivered."""
    write(
        integrations_dir / "hostile_names.yaml",
        INTEGRATION.format(destination="  - {type: local, path: outbox}")
        .replace("output: ubl", "output: passthrough")
        .replace('  filename: "{stem}_{invoice_number}.xml"\n', ""),
    )
    drop(integrations_dir / "inbox", "good.xml", invoice("INV-1"))
    latin1 = os.fsencode(integrations_dir / "inbox") + b"/R\xe9chnung.xml"
    with open(latin1, "wb") as file:
        file.write(invoice("INV-2").encode())
    os.utime(latin1, (1, 1))

    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("invoice_hub.transports.selection")
    logger.addHandler(handler)  # the task log's own handlers depend on how Airflow set logging up
    monkeypatch.setattr(logger, "disabled", False)

    try:
        state, tasks = run_dag(load_dag("hostile_names"))
    finally:
        logger.removeHandler(handler)

    assert state == "success", tasks
    assert files_in(integrations_dir / "outbox") == ["good.xml"]
    assert os.listdir(os.fsencode(integrations_dir / "inbox")) == [b"R\xe9chnung.xml"], "left, not lost"
    assert any("chnung.xml': its name is not UTF-8" in w for w in warnings), "reported in the task log"
