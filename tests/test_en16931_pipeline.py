"""validate: en16931 through read_document and the CLI, as the DAG's validate_transform uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lxml import etree

from invoice_hub.formats import read_document

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "einvoice-examples"
    / "en16931"
    / "ubl-tc434-example1.xml"
)
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def _breaking(tmp_path: Path) -> Path:
    root = etree.parse(str(EXAMPLE)).getroot()
    root.find(f"{{{CBC}}}CustomizationID").getparent().remove(root.find(f"{{{CBC}}}CustomizationID"))
    target = tmp_path / "broken.xml"
    target.write_bytes(etree.tostring(root))
    return target


def test_read_document_rejects_a_breaking_invoice_with_its_findings(tmp_path: Path) -> None:
    good = read_document(EXAMPLE, "ubl", validate="en16931")
    assert good.valid and good.invoices
    bad = read_document(_breaking(tmp_path), "ubl", validate="en16931")
    assert not bad.valid and not bad.invoices
    assert [f.rule for f in bad.findings if f.severity == "fatal"] == ["BR-01"]
    assert read_document(
        _breaking(tmp_path), "ubl", validate="structure"
    ).valid  # structure alone lets it through


def test_non_ubl_input_gets_a_warning_not_the_rules(tmp_path: Path) -> None:
    csv = tmp_path / "open_ar.csv"
    csv.write_text(
        "Customer,Invoice Number,Invoice Date,Due Date,Open Amount,Currency\nACME,1,2026-01-01,2026-02-01,10.00,EUR\n"
    )
    document = read_document(csv, "any", validate="en16931")
    assert any(f.rule == "EN16931-NOT-UBL" and f.severity == "warning" for f in document.findings)


def test_cli_validates_a_folder_with_json(tmp_path: Path) -> None:
    _breaking(tmp_path)
    (tmp_path / "good.xml").write_bytes(EXAMPLE.read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "invoice_hub.cli", "validate", "--level", "en16931", "--json", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    rows = {Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert result.returncode == 1
    assert rows["good.xml"]["valid"] and not rows["broken.xml"]["valid"]
    assert rows["broken.xml"]["findings"][0]["rule"] == "BR-01"
