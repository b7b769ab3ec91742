"""End to end: dag.test() of a transfer that turns UBL into AP Agility XML through a mapping,
with invalid files sent to the failure folder with their findings beside them."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats.ubl import NS, read_ubl
from tests.conftest import SHARED
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLES = SHARED / "einvoice-examples"
GOOD = [
    EXAMPLES / "en16931/ubl-tc434-example1.xml",
    EXAMPLES / "en16931/ubl-tc434-example2.xml",  # embeds a PDF
    EXAMPLES / "peppol-bis3/examples_base-creditnote-correction.xml",
]

INTEGRATION = """
name: ubl_to_erp
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: local
  path: inbox
  pattern: "*.xml"
  on_success: {move_to: done}
  on_failure: {move_to: failed}
transform:
  input: ubl
  validate: structure
  mapping: erp.yaml
  output: ap_agility
destinations:
  - type: local
    path: erp
"""

MAPPING = """
description: our ERP's AP Agility import
substitutions:
  - field: buyer_reference
    value: NO-REF
    mode: if_missing
  - field: currency
    value: USD
    mode: never
codes:
  lines.unit_code: {C62: EA, H87: EA}
fields:
  BusinessUnitID: buyer.legal_id.value
  LineItem.CostCenter: lines.accounting_cost
constants:
  IpaOrganizationName: ACME Holding
  ApprovalRoute: FIN-2
"""


@pytest.fixture
def folder(
    integrations_dir: Path, ledger_db: str, staging_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    mappings = tmp_path / "mappings"
    write(mappings / "erp.yaml", MAPPING)
    monkeypatch.setenv("INVOICE_HUB_MAPPINGS_DIR", str(mappings))
    write(integrations_dir / "ubl_to_erp.yaml", INTEGRATION)
    return integrations_dir


def test_ubl_in_ap_agility_out_and_invalid_files_to_the_failure_folder(folder: Path) -> None:
    for path in GOOD:
        drop(folder / "inbox", path.name, path.read_bytes())
    wrong_total = (EXAMPLES / "peppol-bis3/examples_base-example.xml").read_bytes()
    wrong_total = re.sub(rb"(<cbc:PayableAmount[^>]*>)[^<]*", rb"\g<1>999.99", wrong_total)
    drop(folder / "inbox", "wrong-total.xml", wrong_total)
    drop(folder / "inbox", "broken.xml", b"<Invoice><cbc:ID>1</Invoice>")

    state, tasks = run_dag(load_dag("ubl_to_erp"))

    # the run is red because two files were rejected; everything else went through
    assert state == "failed" and tasks["deliver"] == "success" and tasks["archive"] == "failed", tasks
    # each delivered without a value AP Agility cannot hold (on_loss: warn): its findings kept beside it
    assert files_in(folder / "done") == sorted(n for p in GOOD for n in (p.name, f"{p.name}.findings.json"))
    assert files_in(folder / "failed") == [
        "broken.xml",
        "broken.xml.error.json",
        "wrong-total.xml",
        "wrong-total.xml.error.json",
    ]
    reason = json.loads((folder / "failed/wrong-total.xml.error.json").read_text())
    assert reason["reason_code"] == "validate.structure"
    assert {
        "rule": "TOTAL-PAYABLE",
        "severity": "fatal",
        "message": reason["findings"][0]["message"],
        "location": "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount",
    } in reason["findings"]
    broken = json.loads((folder / "failed/broken.xml.error.json").read_text())
    assert broken["findings"][0]["rule"] == "XML-SYNTAX" and broken["findings"][0]["location"] == "line 1"

    outputs = files_in(folder / "erp")
    numbers = [read_ubl(p.read_bytes()).number for p in GOOD]
    assert len(outputs) == 3
    for number in numbers:
        assert any(re.fullmatch(rf"{re.escape(number)}_\d{{8}}T\d{{6}}Z\.xml", name) for name in outputs), (
            outputs
        )

    source = read_ubl(GOOD[1].read_bytes())
    (exported,) = [p for p in (folder / "erp").iterdir() if p.name.startswith(f"{source.number}_")]
    root = etree.parse(str(exported)).getroot()
    assert root.tag == "Invoice" and root.findtext("InvoiceNumber") == source.number
    assert (
        root.findtext("IpaOrganizationName") == "ACME Holding" and root.findtext("ApprovalRoute") == "FIN-2"
    )
    assert root.findtext("BusinessUnitID") == (source.buyer.legal_id.value if source.buyer.legal_id else "")
    assert root.findtext("Currency") == source.currency, "a rule with mode never is not applied"
    assert root.findtext("ImageExtension") == ".pdf"
    embedded = (
        etree.parse(str(GOOD[1])).getroot().findtext(".//cbc:EmbeddedDocumentBinaryObject", namespaces=NS)
    )
    assert base64.b64decode(root.findtext("ImageBase64")) == base64.b64decode("".join(embedded.split()))
    units = {item.findtext("UnitOfMeasure") for item in root.iter("LineItem")}
    source_units = {line.unit_code for line in source.lines}
    assert units == {{"C62": "EA", "H87": "EA"}.get(u, u) for u in source_units}

    # the same files again: already processed (by content), nothing new is delivered
    for path in GOOD:
        shutil.copy(folder / "done" / path.name, folder / "inbox" / path.name)
    state, tasks = run_dag(load_dag("ubl_to_erp"))
    assert state == "success", tasks
    assert len(files_in(folder / "erp")) == 3


def test_an_export_name_taken_at_the_destination_gets_a_new_unique_name(folder: Path) -> None:
    drop(folder / "inbox", GOOD[0].name, GOOD[0].read_bytes())
    number = read_ubl(GOOD[0].read_bytes()).number
    dag = load_dag("ubl_to_erp")
    # the destination already holds every name this run could choose this minute
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    for second in range(-5, 120):
        stamp = (now + dt.timedelta(seconds=second)).strftime("%Y%m%dT%H%M%SZ")
        drop(folder / "erp", f"{number}_{stamp}.xml", "taken")
    before = set(files_in(folder / "erp"))

    state, tasks = run_dag(dag)

    assert state == "success", tasks
    (new,) = set(files_in(folder / "erp")) - before
    assert new.startswith(f"{number}_") and new.endswith(".xml")
    assert etree.parse(str(folder / "erp" / new)).getroot().findtext("InvoiceNumber") == number


def test_an_open_ar_report_becomes_one_ubl_invoice_per_row(
    integrations_dir: Path, ledger_db: str, staging_url: str
) -> None:
    write(
        integrations_dir / "ar_to_ubl.yaml",
        """
        name: ar_to_ubl
        source: {type: local, path: reports, on_success: delete, on_failure: {move_to: rejected}}
        transform:
          input: open_ar_csv
          csv: {delimiter: ";", columns: {invoice_number: Belegnr}}
          validate: structure
          output: ubl
          on_loss: warn  # the report's extra column (Fällig) has no place in UBL
        destinations: [{type: local, path: ubl}]
        """,
    )
    report = "Belegnr;Kunde;Fällig;Währung;Offener Betrag\nR-1;Müller GmbH;2026-12-01;EUR;1.234,50\nR-2;Acme;2026-12-15;EUR;99,00\n"
    drop(integrations_dir / "reports", "open_ar.csv", report.encode("cp1252"))
    drop(integrations_dir / "reports", "broken.csv", b"Belegnr;Offener Betrag\nR-3;twelve\n")

    state, tasks = run_dag(load_dag("ar_to_ubl"))

    assert tasks["deliver"] == "success" and state == "failed", tasks  # broken.csv was rejected
    assert files_in(integrations_dir / "ubl") == ["R-1.xml", "R-2.xml"]
    first = read_ubl((integrations_dir / "ubl/R-1.xml").read_bytes())
    assert str(first.totals.payable) == "1234.50" and first.buyer.name == "Müller GmbH"
    reason = json.loads((integrations_dir / "rejected/broken.csv.error.json").read_text())
    assert reason["findings"][0]["rule"] == "CSV-AMOUNT"
    assert reason["findings"][0]["location"] == "row 2, column Offener Betrag"


def test_en16931_validation_delivers_a_valid_invoice_and_rejects_one_breaking_a_business_rule(
    integrations_dir: Path, ledger_db: str, staging_url: str
) -> None:
    write(
        integrations_dir / "ubl_en16931.yaml",
        """
        name: ubl_en16931
        source: {type: local, path: inbox, on_success: {move_to: done}, on_failure: {move_to: failed}}
        transform: {input: ubl, validate: en16931, output: ubl}
        destinations: [{type: local, path: out}]
        """,
    )
    good = GOOD[0]
    drop(integrations_dir / "inbox", good.name, good.read_bytes())
    # BR-29: the invoicing period ends before it starts (structurally the invoice is fine)
    period = b"<cac:InvoicePeriod><cbc:StartDate>2015-02-01</cbc:StartDate><cbc:EndDate>2015-01-01</cbc:EndDate></cac:InvoicePeriod>"
    broken = good.read_bytes().replace(
        b"<cac:AccountingSupplierParty>", period + b"<cac:AccountingSupplierParty>", 1
    )
    drop(integrations_dir / "inbox", "period.xml", broken)

    state, tasks = run_dag(load_dag("ubl_en16931"))

    assert state == "failed" and tasks["deliver"] == "success", tasks  # one file was rejected
    assert files_in(integrations_dir / "done") == [good.name]
    assert files_in(integrations_dir / "failed") == ["period.xml", "period.xml.error.json"]
    (delivered,) = files_in(integrations_dir / "out")
    assert (
        read_ubl((integrations_dir / "out" / delivered).read_bytes()).number
        == read_ubl(good.read_bytes()).number
    )
    reason = json.loads((integrations_dir / "failed/period.xml.error.json").read_text())
    assert reason["reason_code"] == "validate.en16931"
    fatal = [f for f in reason["findings"] if f["severity"] == "fatal"]
    assert [f["rule"] for f in fatal] == ["BR-29"], reason["findings"]
    assert fatal[0]["location"] == "/Invoice/cac:InvoicePeriod"
    assert fatal[0]["message"].startswith("If both Invoicing period start date (BT-73) and")
