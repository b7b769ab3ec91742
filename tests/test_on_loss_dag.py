"""End to end, dag.test() of local-folder transfers: what a conversion cannot carry is said, and an
output the rules reject is never delivered.

- UBL -> AP Agility (``on_loss`` default ``warn``): delivered, the seller VAT id's loss logged;
- UBL with a UBL extension -> UBL (default ``fail``): the file fails with ``transform.loss``, its
  findings in ``NAME.error.json``, nothing delivered;
- UBL -> PEPPOL BIS 3 of an invoice the rules reject: the file fails with ``transform.invalid_output``,
  nothing delivered, while the good file of the same run is.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats.ubl import NS
from tests.conftest import SHARED
from tests.helpers import drop, files_in, load_dag, run_dag, write

pytestmark = pytest.mark.usefixtures("airflow_db")

EXAMPLES = SHARED / "einvoice-examples"
EXAMPLE1 = EXAMPLES / "en16931/ubl-tc434-example1.xml"
PEPPOL_BASE = EXAMPLES / "peppol-bis3/examples_base-example.xml"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
PREFIX = {"cac": NS["cac"], "cbc": NS["cbc"]}


def integration(integrations_dir: Path, name: str, transform: str) -> None:
    write(
        integrations_dir / f"{name}.yaml",
        f"""
        name: {name}
        source: {{type: local, path: inbox, on_success: {{move_to: done}}, on_failure: {{move_to: failed}}}}
        transform: {transform}
        destinations: [{{type: local, path: out}}]
        """,
    )


def mutated(source: Path, change) -> bytes:  # type: ignore[no-untyped-def]
    root = etree.parse(str(source)).getroot()
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_ap_agility_output_is_delivered_and_the_seller_vat_id_it_cannot_hold_is_reported(
    integrations_dir: Path, ledger_db: str, staging_url: str, tmp_path: Path
) -> None:
    integration(integrations_dir, "ubl_to_ap", "{input: ubl, validate: en16931, output: ap_agility}")
    drop(integrations_dir / "inbox", EXAMPLE1.name, EXAMPLE1.read_bytes())

    state, tasks = run_dag(load_dag("ubl_to_ap"))

    assert state == "success", tasks
    (delivered,) = files_in(integrations_dir / "out")
    assert (
        etree.parse(str(integrations_dir / "out" / delivered)).getroot().findtext("InvoiceNumber")
        == "12115118"
    )
    # staging is removed at the end: the findings are kept beside the archived original
    assert files_in(integrations_dir / "done") == [EXAMPLE1.name, f"{EXAMPLE1.name}.findings.json"]
    assert not list((tmp_path / "staging").rglob("*-findings-*"))
    kept = json.loads((integrations_dir / "done" / f"{EXAMPLE1.name}.findings.json").read_text())
    assert kept["file"] == EXAMPLE1.name and kept["outputs"] == [delivered]
    findings = kept["findings"]
    (vat,) = [f for f in findings if f["rule"] == "LOSS-BT-31"]
    assert (vat["severity"], vat["location"]) == ("warning", "seller.vat_id")
    assert "NL8200.98.395.B.01" in vat["message"] and "ap_agility" in vat["message"]


def test_a_ubl_extension_fails_a_ubl_to_ubl_conversion_by_default_with_its_findings_beside_the_file(
    integrations_dir: Path, ledger_db: str, staging_url: str
) -> None:
    def add_extension(root: etree._Element) -> None:
        extensions = etree.Element(f"{{{EXT}}}UBLExtensions")
        content = etree.SubElement(
            etree.SubElement(extensions, f"{{{EXT}}}UBLExtension"), f"{{{EXT}}}ExtensionContent"
        )
        etree.SubElement(content, "{urn:example:signature}Signature").text = "signed"
        root.insert(0, extensions)

    integration(integrations_dir, "ubl_to_ubl", "{input: ubl, validate: en16931, output: ubl}")
    drop(integrations_dir / "inbox", "signed.xml", mutated(EXAMPLE1, add_extension))
    drop(integrations_dir / "inbox", "plain.xml", EXAMPLE1.read_bytes())

    state, tasks = run_dag(load_dag("ubl_to_ubl"))

    assert state == "failed" and tasks["deliver"] == "success", tasks
    assert files_in(integrations_dir / "out") == ["12115118.xml"]  # the plain one only
    reason = json.loads((integrations_dir / "failed/signed.xml.error.json").read_text())
    assert reason["reason_code"] == "transform.loss"
    assert "EXTENSION" in reason["reason"] and "transform.on_loss" in reason["reason"]
    (extension,) = [f for f in reason["findings"] if f["rule"] == "LOSS-EXTENSION"]
    assert (extension["location"], extension["severity"]) == ("/Invoice/ext:UBLExtensions", "fatal")


def test_a_peppol_output_the_rules_reject_fails_that_file_and_nothing_of_it_is_delivered(
    integrations_dir: Path, ledger_db: str, staging_url: str
) -> None:
    def break_total(root: etree._Element) -> None:  # BR-CO-15: total with VAT ≠ without VAT + VAT
        root.find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", PREFIX).text = "1.00"
        root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", PREFIX).text = "1.00"

    integration(integrations_dir, "ubl_to_peppol", "{input: ubl, validate: none, output: peppol_bis3}")
    drop(integrations_dir / "inbox", "broken.xml", mutated(PEPPOL_BASE, break_total))
    drop(integrations_dir / "inbox", "good.xml", PEPPOL_BASE.read_bytes())

    state, tasks = run_dag(load_dag("ubl_to_peppol"))

    assert state == "failed" and tasks["deliver"] == "success", tasks
    assert files_in(integrations_dir / "out") == ["Snippet1.xml"]  # the good one
    assert files_in(integrations_dir / "done") == ["good.xml"]
    reason = json.loads((integrations_dir / "failed/broken.xml.error.json").read_text())
    assert reason["reason_code"] == "transform.invalid_output"
    assert "BR-CO-15" in reason["reason"]
    assert any(f["rule"] == "BR-CO-15" and f["severity"] == "fatal" for f in reason["findings"])


def test_an_export_renders_through_the_same_checks_a_loss_with_on_loss_fail_exports_nothing(
    integrations_dir: Path, ledger_db: str, staging_url: str, tmp_path: Path
) -> None:
    """Export's render is the same library function: an invoice its customer's format cannot hold
    whole fails with transform.loss (on_loss: fail) and is not delivered; another customer's UBL is."""
    write(
        integrations_dir / "receive.yaml",
        f"""
        name: receive
        source: {{type: local, path: {tmp_path}/in}}
        transform: {{input: ubl, validate: en16931, output: ubl}}
        destinations: [{{type: local, path: {tmp_path}/erp}}]
        """,
    )
    base = PEPPOL_BASE.read_text()
    for number, customer in (("INV-1", "C1"), ("INV-2", "C2")):
        document = base.replace("<cbc:ID>Snippet1</cbc:ID>", f"<cbc:ID>{number}</cbc:ID>", 1).replace(
            '<cbc:ID schemeID="0002">FR23342</cbc:ID>', f'<cbc:ID schemeID="0002">{customer}</cbc:ID>'
        )
        drop(tmp_path / "in", f"{number}.xml", document)
    state, tasks = run_dag(load_dag("receive"))
    assert state == "success", tasks
    write(
        integrations_dir / "send.yaml",
        f"""
        name: send
        kind: export
        schedule: "@daily"
        start_date: 2017-11-01
        select: {{date_field: issue_date}}
        transform: {{output: ubl, on_loss: fail}}
        customers:
          - id: C2
            output: ap_agility
        destinations: [{{type: local, path: {tmp_path}/out}}]
        """,
    )

    state, tasks = run_dag(load_dag("send"), logical_date=dt.datetime(2017, 11, 14, tzinfo=dt.UTC))

    assert state == "failed" and tasks["deliver"] == "success", tasks  # archive fails the run for INV-2
    assert files_in(tmp_path / "out") == ["INV-1.xml"]

    # the same export with on_loss: warn delivers INV-2 as AP Agility (INV-1 went out before: skipped)
    (integrations_dir / "send.yaml").write_text(
        (integrations_dir / "send.yaml").read_text().replace("on_loss: fail", "on_loss: warn")
    )
    state, tasks = run_dag(load_dag("send"), logical_date=dt.datetime(2017, 11, 14, tzinfo=dt.UTC))
    assert state == "success", tasks
    delivered = files_in(tmp_path / "out")
    assert delivered[0] == "INV-1.xml" and delivered[1].startswith("INV-2_") and len(delivered) == 2
