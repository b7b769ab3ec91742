"""Mapping files (loading, each rule kind and mode, errors naming file and rule) and the format CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.apply_mapping import MappingError, apply_mapping
from invoice_hub.config.mappings import load_mapping
from invoice_hub.formats import read_invoices
from invoice_hub.formats.ubl import NS
from invoice_hub.formats.ubl_writer import PEPPOL_CUSTOMIZATION_ID, PEPPOL_PROFILE_ID
from invoice_hub.model import Invoice
from tests.conftest import SHARED
from tests.helpers import write

EXAMPLES = sorted((SHARED / "einvoice-examples").rglob("*.xml"))
BASE = SHARED / "einvoice-examples/peppol-bis3/examples_base-example.xml"


def example() -> Invoice:
    (invoice,) = read_invoices(BASE)
    return invoice


def mapped(tmp_path: Path, text: str, invoice: Invoice | None = None) -> Invoice:
    path = write(tmp_path / "m.yaml", text)
    loaded = load_mapping(path)
    assert loaded.mapping is not None, loaded.problems
    return apply_mapping(loaded.mapping, path, invoice or example())


def test_substitution_modes(tmp_path: Path) -> None:
    invoice = example().model_copy(update={"buyer_reference": None, "accounting_cost": "4217:2323:2323"})
    result = mapped(
        tmp_path,
        """
        substitutions:
          - {field: buyer_reference, value: NO-REF, mode: if_missing}
          - {field: accounting_cost, value: "9999", mode: if_missing}
          - {field: payment_terms, value: 30 days net, mode: always}
          - {field: currency, value: USD, mode: never}
          - {field: lines.unit_code, value: EA, mode: always}
          - {field: seller.endpoint.scheme, value: "0088", mode: always}
          - {field: buyer.contact.email, value: ap@example.com, mode: if_missing}
        """,
        invoice,
    )
    assert result.buyer_reference == "NO-REF", "if_missing fills an empty field"
    assert result.accounting_cost == "4217:2323:2323", "if_missing keeps a value that is there"
    assert result.payment_terms == "30 days net", "always replaces"
    assert result.currency == "EUR", "never is not applied"
    assert {line.unit_code for line in result.lines} == {"EA"}, "lines.* applies to every line"
    assert result.seller.endpoint.scheme == "0088"
    assert result.buyer.contact.email == example().buyer.contact.email


def test_codes_fields_and_constants(tmp_path: Path) -> None:
    invoice = example()
    result = mapped(
        tmp_path,
        """
        codes:
          lines.tax.code: {S: V1}
          lines.unit_code: {XYZ: EA}
        fields:
          BusinessUnitID: buyer.legal_id.value
          DueText: due_date
          LineItem.CostCenter: lines.accounting_cost
          LineItem.CompanyCode: seller.legal_id.value
        constants:
          IpaOrganizationName: ACME
          LineItem.Plant: 1000
        """,
        invoice,
    )
    assert {line.tax.code for line in result.lines} == {"V1"}
    assert [line.unit_code for line in result.lines] == [line.unit_code for line in invoice.lines]
    assert result.custom_fields == {
        "BusinessUnitID": invoice.buyer.legal_id.value,
        "DueText": invoice.due_date.isoformat(),
        "IpaOrganizationName": "ACME",
    }
    assert result.lines[0].custom_fields == {
        "CostCenter": invoice.lines[0].accounting_cost or "",
        "CompanyCode": invoice.seller.legal_id.value,
        "Plant": "1000",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "substitutions:\n  - {field: seller.nmae, value: x, mode: always}\n",
            r"m\.yaml: substitutions\[0\]\.field: 'seller\.nmae': Party has no field 'nmae'; its fields: name, .* \(line 2\)",
        ),
        (
            "substitutions:\n  - {field: seller.name, value: x, mode: sometimes}\n",
            r"substitutions\[0\]\.mode: input should be 'always', 'if_missing' or 'never'",
        ),
        ("codes:\n  lines.units: {STK: EA}\n", r"codes: 'lines\.units': Line has no field 'units'"),
        (
            "fields:\n  CostCenter: lines.accounting_cost\n",
            r"fields: CostCenter: lines\.accounting_cost has a value per line",
        ),
        ("field:\n  A: number\n", r"field: unknown key; did you mean 'fields'\?"),
        ("substitutions:\n  - {field: seller, value: x, mode: always}\n", r"'seller' is a group of fields"),
        (
            "substitutions:\n  - {field: seller.ids.value, value: x, mode: always}\n",
            r"ids is a list; pick one",
        ),
    ],
)
def test_mapping_mistakes_name_the_file_the_rule_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    loaded = load_mapping(write(tmp_path / "m.yaml", text))
    assert loaded.mapping is None
    assert any(re.search(message, str(p)) for p in loaded.problems), loaded.problems


def test_a_value_of_the_wrong_type_names_the_mapping_and_rule(tmp_path: Path) -> None:
    with pytest.raises(
        MappingError,
        match=r"m\.yaml: substitutions\[1\] \(lines\.quantity\): invoice Snippet1: .*decimal.*'lots'",
    ):
        mapped(
            tmp_path,
            """
            substitutions:
              - {field: payment_terms, value: x, mode: always}
              - {field: lines.quantity, value: lots, mode: always}
            """,
        )


def test_check_config_reads_the_mapping_and_its_fit_to_the_output(
    tmp_path: Path, integrations_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    mappings = tmp_path / "mappings"
    write(mappings / "broken.yaml", "substitutions:\n  - {field: selr.name, value: x, mode: always}\n")
    write(mappings / "custom.yaml", "constants:\n  Plant: '1000'\n")
    monkeypatch.setenv("INVOICE_HUB_MAPPINGS_DIR", str(mappings))
    base = "name: {name}\nsource: {{type: local, path: in}}\ndestinations: [{{type: local, path: out}}]\n"
    write(
        integrations_dir / "a.yaml",
        base.format(name="a") + "transform: {output: ap_agility, mapping: broken.yaml}\n",
    )
    write(
        integrations_dir / "b.yaml",
        base.format(name="b") + "transform: {output: ubl, mapping: custom.yaml}\n",
    )
    write(
        integrations_dir / "c.yaml",
        base.format(name="c") + "transform: {output: ap_agility, mapping: custom.yaml}\n",
    )
    out = subprocess.run(
        [sys.executable, "-m", "invoice_hub.cli", "check-config", str(integrations_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert (
        f"{mappings / 'broken.yaml'}: substitutions[0].field: 'selr.name': Invoice has no field 'selr'"
        in out.stdout
    )
    assert "b.yaml: transform.mapping: " in out.stdout and "UBL has no custom fields" in out.stdout
    assert "c.yaml" not in out.stdout
    assert "1 of 3 integration file(s) valid" in out.stderr


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoice_hub.cli", *args], capture_output=True, text=True, check=False
    )


def test_validate_prints_one_json_object_per_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(BASE.read_bytes().replace(b"<cbc:IssueDate>2017-11-13", b"<cbc:IssueDate>13.11.2017"))
    out = cli(
        "validate",
        "--json",
        str(SHARED / "einvoice-examples"),
        str(SHARED / "einvoice-examples/en16931"),
        str(bad),
    )
    assert out.returncode == 1, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == len(list((SHARED / "einvoice-examples/en16931").glob("*.xml"))) + 1
    assert all(r["valid"] and r["findings"] == [] for r in results[:-1])
    assert results[-1] == {
        "file": str(bad),
        "valid": False,
        "findings": [
            {
                "rule": "XML-DATE",
                "severity": "fatal",
                "message": "IssueDate is not a date as YYYY-MM-DD (a time zone may follow: 2016-04-04+01:00): '13.11.2017'",
                "location": "/Invoice/cbc:IssueDate",
            }
        ],
    }
    everything = cli("validate", "--json", *map(str, EXAMPLES))
    assert everything.returncode == 0 and len(everything.stdout.splitlines()) == len(EXAMPLES)


def test_convert_detects_the_input_and_writes_each_format(tmp_path: Path) -> None:
    out = cli("convert", str(BASE), "--to", "ap_agility", "-o", str(tmp_path / "out.xml"))
    assert out.returncode == 0, out.stderr
    assert etree.parse(str(tmp_path / "out.xml")).getroot().findtext("InvoiceNumber") == "Snippet1"

    back = cli("convert", str(tmp_path / "out.xml"), "--to", "ubl")
    assert back.returncode == 0, back.stderr
    ubl = etree.fromstring(back.stdout.encode())
    assert ubl.findtext("cbc:ID", namespaces=NS) == "Snippet1"

    peppol = cli("convert", str(BASE), "--to", "peppol_bis3", "-o", f"{tmp_path}/peppol/")
    assert peppol.returncode == 0, peppol.stderr
    root = etree.parse(str(tmp_path / "peppol/Snippet1.xml")).getroot()
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == PEPPOL_CUSTOMIZATION_ID
    assert root.findtext("cbc:ProfileID", namespaces=NS) == PEPPOL_PROFILE_ID
    assert root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS).get("schemeID")


def test_convert_to_peppol_needs_endpoints_and_a_mapping_can_give_them(tmp_path: Path) -> None:
    root = etree.parse(str(BASE)).getroot()
    for endpoint in root.iterfind(".//cbc:EndpointID", NS):
        endpoint.getparent().remove(endpoint)
    source = tmp_path / "no-endpoints.xml"
    source.write_bytes(etree.tostring(root))
    refused = cli("convert", str(source), "--to", "peppol_bis3")
    assert refused.returncode == 1
    assert "PEPPOL BIS 3 needs the seller's electronic address" in refused.stderr
    mapping = write(
        tmp_path / "endpoints.yaml",
        """
        substitutions:
          - {field: seller.endpoint.value, value: "5790000436101", mode: if_missing}
          - {field: seller.endpoint.scheme, value: "0088", mode: if_missing}
          - {field: buyer.endpoint.value, value: "5790000436057", mode: if_missing}
          - {field: buyer.endpoint.scheme, value: "0088", mode: if_missing}
        """,
    )
    done = cli("convert", str(source), "--to", "peppol_bis3", "--mapping", str(mapping))
    assert done.returncode == 0, done.stderr
    root = etree.fromstring(done.stdout.encode())
    endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    assert (endpoint.text, endpoint.get("schemeID")) == ("5790000436101", "0088")


def test_convert_refuses_an_invalid_input_with_its_findings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        BASE.read_bytes().replace(b"<cbc:DocumentCurrencyCode>EUR", b"<cbc:DocumentCurrencyCode>EURO")
    )
    out = cli("convert", str(bad), "--to", "ap_agility")
    assert out.returncode == 1 and out.stdout == ""
    assert "[XML-CURRENCY] fatal: DocumentCurrencyCode 'EURO' is not an ISO 4217 currency code" in out.stderr


def test_amounts_stay_decimal_through_every_format(tmp_path: Path) -> None:
    for target in ("ubl", "ap_agility"):
        out = cli("convert", str(BASE), "--to", target, "-o", str(tmp_path / f"{target}.xml"))
        assert out.returncode == 0, out.stderr
        (invoice,) = read_invoices(tmp_path / f"{target}.xml")
        assert invoice.totals.tax_inclusive == example().totals.tax_inclusive
        assert isinstance(invoice.totals.tax_inclusive, Decimal)


def _signed(tmp_path: Path) -> Path:
    """The base example with a UBL extension: a value the model (and so any output) cannot carry."""
    ext = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
    root = etree.parse(str(BASE)).getroot()
    extensions = etree.Element(f"{{{ext}}}UBLExtensions")
    content = etree.SubElement(
        etree.SubElement(extensions, f"{{{ext}}}UBLExtension"), f"{{{ext}}}ExtensionContent"
    )
    etree.SubElement(content, "{urn:example:signature}Signature").text = "signed"
    root.insert(0, extensions)
    path = tmp_path / "signed.xml"
    path.write_bytes(etree.tostring(root))
    return path


def test_convert_checks_its_output_as_a_run_does_and_a_loss_fails_ubl_unless_on_loss_warn(
    tmp_path: Path,
) -> None:
    """convert goes through exchange.transform: the output is read back and compared, a loss fails a
    ubl output by default (exit 1, nothing written) and is a warning with --on-loss warn."""
    signed = _signed(tmp_path)
    failed = cli("convert", str(signed), "--to", "ubl", "-o", str(tmp_path / "out.xml"))
    assert failed.returncode == 1 and not (tmp_path / "out.xml").exists()
    assert "[LOSS-EXTENSION] fatal:" in failed.stderr and "/Invoice/ext:UBLExtensions" in failed.stderr
    assert "[transform.loss]" in failed.stderr and "transform.on_loss" in failed.stderr

    warned = cli("convert", str(signed), "--to", "ubl", "--on-loss", "warn", "-o", str(tmp_path / "out.xml"))
    assert warned.returncode == 0, warned.stderr
    assert "[LOSS-EXTENSION] warning:" in warned.stderr
    assert etree.parse(str(tmp_path / "out.xml")).getroot().findtext("cbc:ID", namespaces=NS) == "Snippet1"


def test_convert_warns_of_what_ap_agility_cannot_hold_and_fails_on_it_when_asked(tmp_path: Path) -> None:
    source = SHARED / "einvoice-examples/en16931/ubl-tc434-example1.xml"
    warned = cli("convert", str(source), "--to", "ap_agility")
    assert warned.returncode == 0, warned.stderr
    assert etree.fromstring(warned.stdout.encode()).findtext("InvoiceNumber") == "12115118"
    assert "[LOSS-BT-31] warning:" in warned.stderr and "NL8200.98.395.B.01" in warned.stderr

    failed = cli("convert", str(source), "--to", "ap_agility", "--on-loss", "fail")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "[LOSS-BT-31] fatal:" in failed.stderr and "[transform.loss]" in failed.stderr


def test_convert_never_writes_an_output_the_rules_reject(tmp_path: Path) -> None:
    """Valid in, valid out: a PEPPOL output breaking BR-CO-15 fails the file with its findings."""
    root = etree.parse(str(BASE)).getroot()
    root.find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", NS).text = "1.00"
    root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).text = "1.00"
    broken = tmp_path / "broken.xml"
    broken.write_bytes(etree.tostring(root))
    out = cli("convert", str(broken), "--to", "peppol_bis3", "--validate", "none", "-o", f"{tmp_path}/out/")
    assert out.returncode == 1 and not (tmp_path / "out").exists()
    assert "[BR-CO-15] fatal:" in out.stderr and "[transform.invalid_output]" in out.stderr
