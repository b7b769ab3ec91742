"""The canonical model holds every EN 16931 business term, and keeps loading what earlier versions stored."""

from __future__ import annotations

import functools
import json
import re
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from pydantic import BaseModel

from invoice_hub.cli import main
from invoice_hub.formats.bindings import (
    BEYOND,
    BINDINGS,
    BY_ID,
    Binding,
    credit_note_path,
    field_path_exists,
    field_terms,
    model_fields,
    term,
    terms_in,
    values_at,
)
from invoice_hub.formats.terms_doc import BEGIN, terms_doc_path, terms_doc_text
from invoice_hub.formats.ubl import NS, read_ubl
from invoice_hub.formats.ubl_writer import as_peppol_bis3, write_peppol_bis3, write_ubl
from invoice_hub.model import Identifier, Invoice
from invoice_hub.validation.en16931 import check_en16931
from invoice_hub.validation.peppol import check_peppol
from tests.conftest import SHARED
from tests.reference_xslt import Reference, en16931_xslt  # noqa: F401
from tests.ubl_schema import insert_child

FIXTURES = Path(__file__).parent / "fixtures"


def test_an_invoice_stored_by_the_model_before_issue_13_still_loads() -> None:
    # The document store holds model_dump_json() of invoices stored by earlier versions; the fixture
    # was made with the model of the commit before issue 13 with every field set.
    stored = (FIXTURES / "model_before_issue13.json").read_text()
    invoice = Invoice.model_validate_json(stored)
    old = json.loads(stored)
    new = json.loads(invoice.model_dump_json())

    def same(before: object, after: object) -> None:
        # Every value stored before is still there, unchanged; new fields are empty.
        if isinstance(before, dict):
            assert isinstance(after, dict)
            for key, value in before.items():
                same(value, after[key])
        elif isinstance(before, list):
            assert isinstance(after, list) and len(before) == len(after)
            for item_before, item_after in zip(before, after, strict=True):
                same(item_before, item_after)
        else:
            assert before == after

    same(old, new)
    assert invoice.delivery is None and invoice.lines[0].period is None


# --- The bindings table is complete and agrees with the model. ---

STANDARD_IDS = [f"BT-{n}" for n in range(1, 166) if n != 4] + [f"BG-{n}" for n in range(1, 33)]
#: Groups with no object of their own in the model: their terms are fields of the invoice.
FLATTENED_GROUPS = {"BG-2": ("BT-23", "BT-24")}


def test_every_term_and_group_of_the_standard_is_in_the_table_once() -> None:
    # EN 16931-1 numbers BT-1..BT-165 without BT-4 and BG-1..BG-32 (there is no BG-33).
    ids = [binding.id for binding in BINDINGS]
    assert sorted(ids) == sorted(STANDARD_IDS)
    assert len(ids) == len(set(ids))
    # Every id CEN's XSLT names is one of them.
    named = set(
        re.findall(r"\b(B[TG]-\d+)\b", (SHARED / "en16931-xslt" / "EN16931-UBL-validation.xslt").read_text())
    )
    assert named <= set(ids)


def test_every_model_field_names_its_term_or_says_it_is_beyond_the_standard() -> None:
    undocumented = []
    for path, model, name in model_fields():
        description = model.model_fields[name].description or ""
        ids = field_terms(model, name)
        if not ids and not description.startswith(BEYOND):
            undocumented.append(path)
        unknown = [i for i in ids if i.rsplit("-", 1)[0] not in BY_ID and i not in BY_ID]
        assert unknown == [], f"{path} names {unknown}, which are not EN 16931 ids"
    assert undocumented == []


def _docstring_ids(path: str) -> set[str]:
    """The term ids the model's docstrings give the field at ``path`` (and the class it holds)."""
    model: type[BaseModel] = Invoice
    ids: set[str] = set()
    for step in re.sub(r"\[[^\]]*\]", "", path).split("."):
        ids = set(re.findall(r"B[GT]-\d+", model.model_fields[step].description or ""))
        annotation = model.model_fields[step].annotation
        inner = next(
            (a for a in _flatten(annotation) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if inner is not None:
            ids |= set(re.findall(r"B[GT]-\d+", inner.__doc__ or ""))
            model = inner
    return ids


def _flatten(annotation: object) -> list[object]:
    arguments = typing.get_args(annotation)
    return [annotation] if not arguments else [leaf for argument in arguments for leaf in _flatten(argument)]


@pytest.mark.parametrize("binding", BINDINGS, ids=lambda b: b.id)
def test_the_table_and_the_model_docstrings_agree(binding: Binding) -> None:
    if binding.field is None:
        assert binding.id in FLATTENED_GROUPS and all(BY_ID[t].field for t in FLATTENED_GROUPS[binding.id])
        return
    assert field_path_exists(binding.field), f"{binding.id}: {binding.field} is not a field of the model"
    assert binding.id in _docstring_ids(binding.field), (
        f"{binding.field}'s docstring does not name {binding.id}"
    )


def test_term_looks_up_and_refuses_unknown_ids() -> None:
    assert term("BT-1").field == "number" and term("BG-13").field == "delivery"
    with pytest.raises(KeyError, match="BT-4 is not"):
        term("BT-4")


def test_terms_in_lists_what_an_invoice_carries_with_values() -> None:
    invoice = read_ubl((EXAMPLES_DIR / "peppol-bis3" / "examples_base-example.xml").read_bytes())
    carried = terms_in(invoice)
    assert carried["BT-1"] == invoice.number and carried["BT-5"] == invoice.currency
    assert carried["BT-126"] == [line.id for line in invoice.lines]
    assert "BT-111" not in carried and "BG-18" not in carried  # not in this invoice
    assert set(carried) <= set(BY_ID)


# --- Per business term: read, write UBL / PEPPOL BIS 3, read again: the same value. ---

EXAMPLES_DIR = SHARED / "einvoice-examples"
#: PEPPOL's examples first: they have what a PEPPOL document needs (electronic addresses).
EXAMPLES = sorted((EXAMPLES_DIR / "peppol-bis3").glob("*.xml")) + sorted(
    (EXAMPLES_DIR / "en16931").glob("*.xml")
)
BASE = EXAMPLES_DIR / "peppol-bis3" / "examples_base-example.xml"


def _element(tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    prefix, name = tag.split(":")
    element = etree.Element(f"{{{NS[prefix]}}}{name}", attributes)
    element.text = text
    return element


def _with(parent: etree._Element, *children: etree._Element) -> etree._Element:
    for child in children:
        parent.append(child)
    return parent


def _address_line(party: str) -> Callable[[etree._Element], None]:
    def mutate(root: etree._Element) -> None:
        address = root.find(f"{party}/cac:Party/cac:PostalAddress", NS)
        insert_child(address, _with(_element("cac:AddressLine"), _element("cbc:Line", "Back door")))

    return mutate


def _card(root: etree._Element) -> None:
    card = _with(
        _element("cac:CardAccount"),
        _element("cbc:PrimaryAccountNumberID", "1234"),
        _element("cbc:NetworkID", "VISA"),
        _element("cbc:HolderName", "Ann Holder"),
    )
    insert_child(root.find("cac:PaymentMeans", NS), card)


def _creditor_id(root: etree._Element) -> None:
    party = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    identification = _with(
        _element("cac:PartyIdentification"), _element("cbc:ID", "DE98ZZZ09999999999", schemeID="SEPA")
    )
    insert_child(party, identification)


#: Terms no official example has: added to PEPPOL's base example with lxml, where UBL puts them.
MUTATIONS: dict[str, Callable[[etree._Element], None]] = {
    "BT-162": _address_line("cac:AccountingSupplierParty"),
    "BT-163": _address_line("cac:AccountingCustomerParty"),
    "BG-18": _card,
    "BT-87": _card,
    "BT-88": _card,
    "BT-90": _creditor_id,
}


@functools.cache
def _read(path: Path) -> Invoice:
    return read_ubl(path.read_bytes(), str(path))


def _source(binding: Binding) -> tuple[str, bytes]:
    """A document carrying the term: an official example that has it, or a mutation of one."""
    assert binding.field is not None
    if binding.id in MUTATIONS:
        root = etree.parse(str(BASE)).getroot()
        MUTATIONS[binding.id](root)
        return f"{BASE.name} + {binding.id}", etree.tostring(root)
    for path in EXAMPLES:
        if values_at(_read(path), binding.field):
            return path.name, path.read_bytes()
    raise AssertionError(
        f"no official example (nor mutation) carries {binding.id}: the reader does not read it"
    )


def _peppol_ready(invoice: Invoice) -> Invoice:
    """CEN's examples have no electronic addresses and some several notes; PEPPOL needs the one, forbids the other."""
    update: dict[str, object] = {}
    for role in ("seller", "buyer"):
        party = getattr(invoice, role)
        if party.endpoint is None:
            update[role] = party.model_copy(
                update={"endpoint": Identifier(value="7300010000001", scheme="0088")}
            )
    if len(invoice.notes) > 1:
        update["notes"] = invoice.notes[:1]
    return invoice.model_copy(update=update)


CARRIED = [binding for binding in BINDINGS if binding.field is not None]


@pytest.mark.parametrize("binding", CARRIED, ids=lambda b: b.id)
def test_each_term_survives_ubl_and_peppol_round_trips(binding: Binding) -> None:
    assert binding.field is not None
    name, document = _source(binding)
    root = etree.fromstring(document)
    path = credit_note_path(binding) if root.tag.endswith("CreditNote") else binding.ubl
    assert path is not None and root.xpath(path, namespaces=NS), f"{name} has no {path}"
    invoice = read_ubl(document, name)
    value = values_at(invoice, binding.field)
    assert value, f"{binding.id} is in {name} at {path} but the reader did not read it"

    again = read_ubl(write_ubl(invoice), f"{name} as UBL")
    assert values_at(again, binding.field) == value

    ready = _peppol_ready(invoice)
    expected = as_peppol_bis3(ready)
    through_peppol = read_ubl(write_peppol_bis3(ready), f"{name} as PEPPOL BIS 3")
    assert values_at(through_peppol, binding.field) == values_at(expected, binding.field) != []
    if binding.id not in ("BT-23", "BT-24"):  # PEPPOL's own identifiers replace others
        assert values_at(expected, binding.field) == values_at(ready, binding.field)


# --- Every official example: equal after a round trip, no new fatal findings, and the official XSLT agrees. ---


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_official_example_round_trips_to_an_equal_model(path: Path) -> None:
    invoice = _read(path)
    assert read_ubl(write_ubl(invoice)).model_dump() == invoice.model_dump()
    ready = _peppol_ready(invoice)
    assert read_ubl(write_peppol_bis3(ready)).model_dump() == as_peppol_bis3(ready).model_dump()


def _fatal(document: bytes) -> set[str]:
    return {
        finding.rule for finding in check_en16931(etree.fromstring(document)) if finding.severity == "fatal"
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_outputs_of_every_official_example_have_no_fatal_finding_the_input_had_not(
    path: Path,
    en16931_xslt: Reference,  # noqa: F811
) -> None:
    document = path.read_bytes()
    invoice = _read(path)
    outputs = {"ubl": write_ubl(invoice), "peppol_bis3": write_peppol_bis3(_peppol_ready(invoice))}
    hub_in, official_in = _fatal(document), en16931_xslt.fatal(document)
    for output, written in outputs.items():
        assert _fatal(written) - hub_in == set(), f"{output}: the hub's EN 16931 rules"
        assert en16931_xslt.fatal(written) - official_in == set(), f"{output}: CEN's XSLT"
        if not official_in:
            assert en16931_xslt.valid(written), f"{output}: CEN's XSLT rejects what it accepted"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_peppol_output_of_every_official_example_adds_no_peppol_fatal_finding(path: Path) -> None:
    document = path.read_bytes()
    written = write_peppol_bis3(_peppol_ready(_read(path)))

    def fatal(xml: bytes) -> set[str]:
        return {f.rule for f in check_peppol(etree.fromstring(xml)) if f.severity == "fatal"}

    assert fatal(written) - fatal(document) == set()


def test_the_committed_term_table_is_current_and_keeps_the_hand_written_part(tmp_path: Path) -> None:
    committed = terms_doc_path().read_text(encoding="utf-8")
    assert terms_doc_text(committed) == committed, "docs/formats.md is out of date: run invoice-hub terms"
    assert committed.startswith("# Formats, validation and mappings")  # the hand-written part stays
    assert all(f"| {binding.id} |" in committed for binding in BINDINGS)
    # A file without the table gets it appended; the CLI's --check fails on a stale one.
    stale = tmp_path / "formats.md"
    stale.write_text("# Formats\n\nhand-written\n", encoding="utf-8")
    assert terms_doc_text(stale.read_text()).startswith("# Formats\n\nhand-written\n\n" + BEGIN)
    assert main(["terms", "--check", "-o", str(stale)]) == 1
    assert main(["terms", "-o", str(stale)]) == 0
    assert main(["terms", "--check", "-o", str(stale)]) == 0
