"""Lossless conversions, without Airflow: ``exchange.transform`` reads, validates, maps, writes and
checks each output; every value an output cannot hold is a LOSS finding (``on_loss: warn``: the file
is delivered with them; ``fail``: it fails with ``transform.loss``); an output that breaks the rules
its input passed fails with ``transform.invalid_output``, never delivered as a success.

The inputs are the official examples (``../shared/einvoice-examples``), mutated with lxml."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.config.mappings import load_mapping
from invoice_hub.config.models import Transform
from invoice_hub.exchange.transform import Outcome, Target, transform_file
from invoice_hub.formats import read_document, read_invoices
from invoice_hub.formats.ap_agility import read_ap_agility, write_ap_agility
from invoice_hub.formats.loss import loss_findings, losses
from invoice_hub.formats.ubl import NS
from invoice_hub.formats.xml import FormatError, parse_xml
from invoice_hub.model import Invoice
from invoice_hub.reasons import Reason
from invoice_hub.staging import Staging
from tests.conftest import SHARED
from tests.helpers import write

EXAMPLES = SHARED / "einvoice-examples"
EXAMPLE1 = EXAMPLES / "en16931" / "ubl-tc434-example1.xml"
PEPPOL_BASE = EXAMPLES / "peppol-bis3" / "examples_base-example.xml"
ALL = sorted(EXAMPLES.rglob("*.xml"))
#: The one official example that breaks a fatal EN 16931 rule (its seller has no registration name).
KNOWN_BREAKS = {"national-examples_GR_GR-base-example-TaxRepresentative.xml"}
PREFIX = {"cac": NS["cac"], "cbc": NS["cbc"]}


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return Staging("conversion", "run-1", base_url=(tmp_path / "staging").as_uri())


def convert(path: Path, staging: Staging, mapping: Path | None = None, **transform: object) -> Outcome:
    loaded = load_mapping(mapping) if mapping else None
    return transform_file(
        path,
        path.name,
        Transform.model_validate({"input": "ubl", **transform}),
        Target(staging, "1", path.name, "0" * 64, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        mapping=(loaded.mapping, loaded.path) if loaded and loaded.mapping else None,
    )


def mutated(tmp_path: Path, source: Path, change) -> Path:  # type: ignore[no-untyped-def]
    root = etree.parse(str(source)).getroot()
    change(root)
    path = tmp_path / source.name
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def staged(outcome: Outcome) -> list[bytes]:
    from airflow.sdk import ObjectStoragePath

    return [ObjectStoragePath(o.url).read_bytes() for o in outcome.outputs]


# -- UBL to UBL: nothing lost, valid in means valid out ---------------------------------------------


@pytest.mark.parametrize("path", [p for p in ALL if p.name not in KNOWN_BREAKS], ids=lambda p: p.stem)
def test_every_official_example_converts_to_ubl_at_en16931_without_a_loss(
    path: Path, staging: Staging
) -> None:
    outcome = convert(path, staging, validate="en16931", output="ubl")
    assert not outcome.failed, outcome.message
    assert [f for f in outcome.findings if f.rule.startswith("LOSS-")] == []
    (document,) = staged(outcome)
    (source,) = read_invoices(path)
    back = read_invoices_from(document)
    assert losses(source, back) == []


def read_invoices_from(document: bytes) -> Invoice:
    from invoice_hub.formats.ubl import read_ubl

    return read_ubl(document, "out.xml")


# -- AP Agility: what it cannot hold is named ------------------------------------------------------


def test_ap_agility_output_names_the_seller_vat_id_it_cannot_hold_and_is_delivered_by_default(
    staging: Staging,
) -> None:
    outcome = convert(EXAMPLE1, staging, validate="en16931", output="ap_agility")
    assert not outcome.failed, outcome.message
    assert len(outcome.outputs) == 1
    (vat,) = [f for f in outcome.findings if f.location == "seller.vat_id"]
    assert vat.rule.startswith("LOSS-") and vat.severity == "warning"
    assert "'NL8200.98.395.B.01'" in vat.message and "ap_agility" in vat.message
    (source,) = read_invoices(EXAMPLE1)
    # what the findings name is exactly what the output does not give back
    back = read_ap_agility(staged(outcome)[0], "out.xml")
    assert {f.location for f in outcome.findings if f.rule.startswith("LOSS-")} == {
        loss.path for loss in losses(source, back)
    }


def test_on_loss_fail_fails_the_file_with_the_business_terms_and_delivers_nothing(staging: Staging) -> None:
    outcome = convert(EXAMPLE1, staging, validate="en16931", output="ap_agility", on_loss="fail")
    assert outcome.reason == Reason.TRANSFORM_LOSS and outcome.outputs == []
    lost = [f for f in outcome.findings if f.rule.startswith("LOSS-")]
    assert lost and all(f.severity == "fatal" for f in lost)
    assert "transform.on_loss" in (outcome.message or "")
    for finding in lost[:3]:
        assert finding.rule.removeprefix("LOSS-") in (outcome.message or "")


def test_the_default_on_loss_is_fail_for_ubl_and_peppol_and_warn_otherwise() -> None:
    assert Transform(output="ubl").loss_policy() == "fail"
    assert Transform(output="peppol_bis3").loss_policy() == "fail"
    assert Transform(output="ap_agility").loss_policy() == "warn"
    assert Transform(output="ubl", on_loss="warn").loss_policy() == "warn"
    assert Transform(output="ap_agility").loss_policy("peppol_bis3") == "fail"  # an export's customer


# -- valid in, valid out ------------------------------------------------------------------------------


def test_a_mapping_that_breaks_the_invoice_fails_it_as_an_invalid_output(
    staging: Staging, tmp_path: Path
) -> None:
    """An AP Agility mapping (ERP tax codes) reused for UBL output: the input passes EN 16931, the
    output would not, so the file fails with the output's findings instead of being delivered."""
    mapping = write(tmp_path / "erp_codes.yaml", "codes:\n  lines.tax.code: {S: V1}\n")
    outcome = convert(EXAMPLE1, staging, mapping, validate="en16931", output="ubl")
    assert outcome.reason == Reason.TRANSFORM_INVALID_OUTPUT and outcome.outputs == []
    fatal = [f for f in outcome.findings if f.severity == "fatal"]
    assert fatal and all(f.message.startswith("in the ubl output: ") for f in fatal)
    assert fatal[0].rule in (outcome.message or "")


def test_a_peppol_output_of_an_invoice_the_rules_reject_fails_even_when_the_input_was_checked_less(
    staging: Staging, tmp_path: Path
) -> None:
    """validate: structure lets an invoice through that breaks BR-CO-15 (total with VAT ≠ without +
    VAT); PEPPOL output is always checked, so it is not delivered."""

    def break_total(root: etree._Element) -> None:
        root.find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", PREFIX).text = "1.00"
        root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", PREFIX).text = "1.00"

    path = mutated(tmp_path, EXAMPLES / "peppol-bis3" / "examples_base-example.xml", break_total)
    assert read_document(path, "ubl", validate="none").valid
    outcome = convert(path, staging, validate="none", output="peppol_bis3")
    assert outcome.reason == Reason.TRANSFORM_INVALID_OUTPUT and outcome.outputs == []
    assert "BR-CO-15" in {f.rule for f in outcome.findings}


def test_an_empty_charge_reason_is_delivered_as_ubl_and_fails_the_file_as_peppol(
    staging: Staging, tmp_path: Path
) -> None:
    """BR-38 asks only that a charge's reason be there: an empty one passes EN 16931 and is kept in
    UBL; PEPPOL forbids empty elements (R008), and without it BR-38 fires: the file fails."""

    def empty_reason(root: etree._Element) -> None:
        root.find("cac:AllowanceCharge/cbc:AllowanceChargeReason", PREFIX).text = None

    path = mutated(
        tmp_path, EXAMPLES / "peppol-bis3" / "national-examples_GR_GR-base-example-correct.xml", empty_reason
    )
    as_ubl = convert(path, staging, validate="en16931", output="ubl")
    assert not as_ubl.failed and len(as_ubl.outputs) == 1, as_ubl.message
    as_peppol = convert(path, staging, validate="en16931", output="peppol_bis3")
    assert as_peppol.reason == Reason.TRANSFORM_INVALID_OUTPUT and as_peppol.outputs == []
    assert "BR-38" in {f.rule for f in as_peppol.findings}


def test_an_invoice_valid_by_en16931_that_peppol_rejects_is_not_delivered_as_peppol(
    staging: Staging, tmp_path: Path
) -> None:
    """PEPPOL-EN16931-R003: a buyer reference or an order reference; EN 16931 needs neither."""

    def drop_buyer_reference(root: etree._Element) -> None:
        root.remove(root.find("cbc:BuyerReference", PREFIX))

    path = mutated(tmp_path, PEPPOL_BASE, drop_buyer_reference)
    assert read_document(path, "ubl", validate="en16931").valid
    outcome = convert(path, staging, validate="en16931", output="peppol_bis3")
    assert outcome.reason == Reason.TRANSFORM_INVALID_OUTPUT and outcome.outputs == []
    assert "PEPPOL-EN16931-R003" in (outcome.message or "")


def test_the_peppol_examples_convert_to_peppol_bis3_valid_and_without_a_loss(staging: Staging) -> None:
    for path in sorted((EXAMPLES / "peppol-bis3").glob("*.xml")):
        if path.name in KNOWN_BREAKS:
            continue  # its input breaks BR-06: rejected as input, which test_en16931_rules covers
        outcome = convert(path, staging, validate="peppol", output="peppol_bis3")
        assert not outcome.failed, (path.name, outcome.message)


def test_validate_peppol_reads_ubl_with_the_peppol_rules_and_warns_for_other_formats(tmp_path: Path) -> None:
    document = read_document(PEPPOL_BASE, "ubl", validate="peppol")
    assert document.invoices and document.format == "ubl"
    sink = io.BytesIO()
    write_ap_agility(document.invoices[0], sink)
    (tmp_path / "ap.xml").write_bytes(sink.getvalue())
    ap = read_document(tmp_path / "ap.xml", "ap_agility", validate="peppol")
    assert ap.valid and [f.rule for f in ap.findings if f.severity == "warning"] == ["EN16931-NOT-UBL"]
    assert "PEPPOL BIS 3 rules apply to UBL input" in ap.findings[-1].message
    assert Reason.for_validation("peppol") == Reason.VALIDATE_PEPPOL


# -- loss findings themselves ---------------------------------------------------------------------------


def test_a_loss_quotes_binary_content_by_size_and_names_the_target_format() -> None:
    (source,) = read_invoices(EXAMPLES / "peppol-bis3" / "examples_base-example.xml")
    target = source.model_copy(deep=True)
    target.seller.vat_id = None
    target.attachments = []
    findings = loss_findings(source, target, "ap_agility", "warning")
    assert {f.location for f in findings} >= {"seller.vat_id"}
    assert all("ap_agility" in f.message for f in findings)
    assert not any("base64" in f.message or len(f.message) > 400 for f in findings)
    assert loss_findings(source, source, "ubl", "fatal") == []


# -- elements beyond EN 16931: reported, not carried ----------------------------------------------------

EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"


def with_extension(root: etree._Element) -> None:
    """A UBL extension, first child as the schema wants it (a signature or national data lives there)."""
    extensions = etree.Element(f"{{{EXT}}}UBLExtensions")
    extension = etree.SubElement(extensions, f"{{{EXT}}}UBLExtension")
    etree.SubElement(
        etree.SubElement(extension, f"{{{EXT}}}ExtensionContent"), "{urn:example:national}Data"
    ).text = "x"
    root.insert(0, extensions)


def test_a_ubl_extension_is_not_carried_so_a_ubl_output_fails_by_default(
    staging: Staging, tmp_path: Path
) -> None:
    path = mutated(tmp_path, EXAMPLE1, with_extension)
    assert read_document(path, "ubl", validate="en16931").valid
    outcome = convert(path, staging, validate="en16931", output="ubl")
    assert outcome.reason == Reason.TRANSFORM_LOSS and outcome.outputs == []
    (extension,) = [f for f in outcome.findings if f.rule == "LOSS-EXTENSION"]
    assert extension.location == "/Invoice/ext:UBLExtensions" and extension.severity == "fatal"
    assert "UBL extension" in extension.message and "EXTENSION" in (outcome.message or "")


def test_with_on_loss_warn_the_invoice_goes_out_without_the_extension_and_says_so(
    staging: Staging, tmp_path: Path
) -> None:
    path = mutated(tmp_path, EXAMPLE1, with_extension)
    for output in ("ubl", "ap_agility"):
        outcome = convert(path, staging, validate="en16931", output=output, on_loss="warn")
        assert not outcome.failed and len(outcome.outputs) == 1, outcome.message
        (extension,) = [
            f for f in outcome.findings if f.rule == "LOSS-EXTENSION" and f.location.startswith("/")
        ]
        assert (extension.location, extension.severity) == ("/Invoice/ext:UBLExtensions", "warning")
        assert b"UBLExtensions" not in staged(outcome)[0]


def test_a_national_element_the_model_does_not_know_is_named_by_its_path(
    staging: Staging, tmp_path: Path
) -> None:
    def add(root: etree._Element) -> None:
        note = root.find("cac:AccountingSupplierParty/cac:Party", PREFIX)
        etree.SubElement(note, "{urn:example:national}RegisterCourt").text = "Amtsgericht Köln"

    outcome = convert(
        mutated(tmp_path, EXAMPLE1, add), staging, validate="structure", output="ubl", on_loss="warn"
    )
    (element,) = [f for f in outcome.findings if f.rule == "LOSS-EXTENSION"]
    assert element.location.endswith("cac:Party/{urn:example:national}RegisterCourt")


def test_a_repeat_the_model_has_no_place_for_is_a_loss_not_dropped_silently(
    staging: Staging, tmp_path: Path
) -> None:
    """UBL allows several notes on a line (EN 16931 one, BT-127), and a partner may send a second
    IssueDate: the model keeps the first. Before, only the element paths were compared, so the
    second vanished from the output at validate: structure with no finding."""

    def repeat(root: etree._Element) -> None:
        line_id = root.find("cac:InvoiceLine/cbc:ID", PREFIX)
        for text in ("second line note", "first line note"):
            note = etree.Element(f"{{{PREFIX['cbc']}}}Note")
            note.text = text
            line_id.addnext(note)
        issue_date = root.find("cbc:IssueDate", PREFIX)
        later = etree.Element(issue_date.tag)
        later.text = "2030-01-01"
        issue_date.addnext(later)

    path = mutated(tmp_path, EXAMPLE1, repeat)
    outcome = convert(path, staging, validate="structure", output="ubl")
    assert outcome.reason == Reason.TRANSFORM_LOSS and outcome.outputs == []
    repeats = {f.location: f for f in outcome.findings if f.rule == "LOSS-EXTENSION"}
    assert set(repeats) == {"/Invoice/cbc:IssueDate", "/Invoice/cac:InvoiceLine/cbc:Note"}
    note = repeats["/Invoice/cac:InvoiceLine/cbc:Note"]
    assert note.severity == "fatal" and "occurs 2 times, the hub's model holds 1" in note.message
    warned = convert(path, staging, validate="structure", output="ap_agility")
    assert not warned.failed and {f.severity for f in warned.findings if f.rule == "LOSS-EXTENSION"} == {
        "warning"
    }


def test_render_holds_an_exports_invoices_to_the_same_rules(staging: Staging) -> None:
    """An export renders stored invoices through the same function: a loss with on_loss: fail, and
    a PEPPOL output the rules reject, fail the invoice; nothing of it is left to deliver."""
    from invoice_hub.exchange.transform import render

    (invoice,) = read_invoices(EXAMPLES / "peppol-bis3" / "examples_base-example.xml")
    target = Target(staging, "invoice7", "stored.json", "", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    lost = render([invoice], "ap_agility", target, filename=None, on_loss="fail", validate="none")
    assert lost.reason == Reason.TRANSFORM_LOSS and lost.outputs == []
    assert "BT-31" in (lost.message or "")
    warned = render([invoice], "ap_agility", target, filename=None, on_loss="warn", validate="none")
    assert not warned.failed and len(warned.outputs) == 1
    assert {f.severity for f in warned.findings} == {"warning"}
    broken = invoice.model_copy(deep=True)
    broken.totals.payable = Decimal("1.00")  # BR-CO-16: amount due ≠ total with VAT - paid + rounding
    invalid = render([broken], "peppol_bis3", target, filename=None, on_loss="fail", validate="none")
    assert invalid.reason == Reason.TRANSFORM_INVALID_OUTPUT and "BR-CO-16" in (invalid.message or "")
    fine = render([invoice], "peppol_bis3", target, filename=None, on_loss="fail", validate="none")
    assert not fine.failed and fine.findings == [], fine.message


def test_an_attachment_the_output_holds_unchanged_is_compared_by_digest_and_a_changed_one_is_a_loss(
    staging: Staging, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-back shares the source's bytes for an attachment whose output content hashes the same:
    the parser streams the base64 into a digest, so a 200 MB attachment is neither in the tree nor
    decoded a second time; the rest of the tree is what the parser gives. One the output changed (or
    that is not base64) makes the document parsed whole, so the comparison names it."""
    import base64

    from invoice_hub.exchange import transform
    from invoice_hub.exchange.transform import _read_output

    (source,) = read_invoices(EXAMPLES / "en16931" / "ubl-tc434-example2.xml")
    embedded = next(a for a in source.attachments if a.content)

    def document(*contents: bytes) -> Path:
        path = tmp_path / "out.xml"
        binaries = b"".join(
            b"<cbc:EmbeddedDocumentBinaryObject mimeCode='application/pdf'>"
            + base64.encodebytes(content)  # wrapped in lines, as some writers do
            + b"</cbc:EmbeddedDocumentBinaryObject><cbc:Note>after</cbc:Note>"
            for content in contents
        )
        path.write_bytes(b'<r xmlns="urn:x" xmlns:cbc="' + NS["cbc"].encode() + b'"> ' + binaries + b"</r>")
        return path

    # small attachments are cheaper to copy than to stream: the document is parsed as it is
    root, shared = _read_output(document(embedded.content), "out.xml", source)
    assert shared == [] and base64.b64decode(root[0].text) == embedded.content
    monkeypatch.setattr(transform, "STREAMED_ATTACHMENTS", len(embedded.content))  # as if it were 200 MB

    root, shared = _read_output(document(embedded.content, embedded.content), "out.xml", source)
    assert shared == [embedded.content, embedded.content]
    assert [e.text for e in root] == ["AA==", "after", "AA==", "after"]
    whole = parse_xml(document(embedded.content, embedded.content), "out.xml")
    for element in whole.iter(f"{{{NS['cbc']}}}EmbeddedDocumentBinaryObject"):
        element.text = "AA=="
    assert etree.tostring(root) == etree.tostring(whole)  # namespaces, attributes, tails alike

    root, shared = _read_output(document(embedded.content, b"something else"), "out.xml", source)
    assert shared == []
    assert base64.b64decode(root[2].text) == b"something else"
    assert base64.b64decode(root[0].text) == embedded.content
    broken = document(embedded.content)
    broken.write_bytes(broken.read_bytes().replace(b"'>", b"'>!not base64!", 1))
    root, shared = _read_output(broken, "out.xml", source)
    assert shared == [] and root[0].text.startswith("!not base64!")
    root, shared = _read_output(document(embedded.content), "out.xml", source)
    assert shared == [embedded.content]
    with_doctype = document(embedded.content)
    with_doctype.write_bytes(b"<!DOCTYPE r>" + with_doctype.read_bytes())  # refused, as by parse_xml
    with pytest.raises(FormatError, match="DOCTYPE and ENTITY declarations are not accepted"):
        _read_output(with_doctype, "out.xml", source)

    outcome = convert(
        EXAMPLES / "en16931" / "ubl-tc434-example2.xml", staging, validate="en16931", output="ubl"
    )
    assert not outcome.failed and not [f for f in outcome.findings if f.rule.startswith("LOSS-")]
    delivered = read_invoices_from(staged(outcome)[0])
    assert next(a for a in delivered.attachments if a.content).content == embedded.content
