"""A document a partner sends is never a crash: whatever an official example becomes after up to
six mutations (elements deleted, duplicated, emptied, codes, amounts and dates changed, ...),
reading and validating it at every level gives findings or invoices, never an exception. A crash
would fail the whole task instead of the one file, and say nothing a person can act on (a
missing allowance amount once raised AttributeError in ``validate: structure``)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from invoice_hub.formats import Document, read_document
from tests.test_ap_agility import seed_example
from tests.test_en16931_differential import Mutation, mutated_invoices

EXAMPLES = int(os.environ.get("HOSTILE_DOCUMENT_EXAMPLES", "300"))
#: The same draws in every run (a crash found once is found again), as many as EXAMPLES.
HOSTILE = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def read_or_fail(path: Path, level: str, what: str) -> Document:
    """``path`` read at ``level``; the property is that this never raises, and that an invalid
    document always says why."""
    try:
        document = read_document(path, "any", validate=level)
    except Exception as exc:  # the property: never
        pytest.fail(f"{what}, validate: {level}: {type(exc).__name__}: {exc}")
    assert document.valid or document.findings, f"{what}: invalid at {level} without a finding"
    return document


@HOSTILE
@given(mutated_invoices())
def test_a_mutated_document_reads_as_findings_or_invoices_at_every_level(
    tmp_path: Path, invoice: tuple[str, list[Mutation], bytes]
) -> None:
    name, mutations, data = invoice
    path = tmp_path / name
    path.write_bytes(data)
    for level in ("structure", "en16931", "peppol"):
        document = read_or_fail(path, level, f"{name} after {mutations}")
        if document.valid:
            assert len(document.invoices) == 1, f"{name}: valid at {level}, yet no invoice read"


_AP_AGILITY = etree.fromstring(seed_example())
AP_TEXTS = st.sampled_from(["", " ", "x", "-1", "0", "1e9999", "NaN", "13/45/2020", "1,234.50", "9" * 40])


@st.composite
def mutated_ap_agility(draw: st.DrawFn) -> tuple[list[tuple[str, str, str]], bytes]:
    """The seed's AP Agility example with one to six elements deleted, emptied, duplicated or given
    another text."""
    root = copy.deepcopy(_AP_AGILITY)
    done = []
    for _ in range(draw(st.integers(1, 6))):
        elements = list(root.iter())[1:]
        if not elements:
            break
        element = elements[draw(st.integers(0, len(elements) - 1))]
        kind = draw(st.sampled_from(["delete", "duplicate", "text"]))
        if kind == "delete":
            element.getparent().remove(element)
        elif kind == "duplicate":
            element.addnext(copy.deepcopy(element))
        else:
            element.text = draw(AP_TEXTS)
        done.append((kind, element.tag, element.text or ""))
    return done, etree.tostring(root, xml_declaration=True, encoding="utf-8")


@HOSTILE
@given(mutated_ap_agility())
def test_a_mutated_ap_agility_document_reads_as_findings_or_invoices(
    tmp_path: Path, document: tuple[list[tuple[str, str, str]], bytes]
) -> None:
    mutations, data = document
    path = tmp_path / "ap.xml"
    path.write_bytes(data)
    read = read_or_fail(path, "structure", f"AP Agility after {mutations}")
    if read.valid:
        assert len(read.invoices) == 1, f"valid after {mutations}, yet no invoice read"


HOSTILE_NUMBERS = st.sampled_from(["NaN", "-Infinity", "1E+5", "9" * 40, "0." + "0" * 40 + "1", "1,5", "--1"])
_NUMBER_NAMES = ("Amount", "Quantity", "Percent", "Numeric")


@HOSTILE
@given(mutated_invoices(), st.lists(st.tuples(st.integers(0, 400), HOSTILE_NUMBERS), min_size=1, max_size=3))
def test_hostile_numbers_in_a_ubl_document_read_as_findings_at_every_level(
    tmp_path: Path, invoice: tuple[str, list[Mutation], bytes], numbers: list[tuple[int, str]]
) -> None:
    """Numbers Python's Decimal takes and xs:decimal does not (NaN, exponents), and numbers too long
    to compute with, in amounts, quantities and percentages."""
    name, mutations, data = invoice
    root = etree.fromstring(data)
    candidates = [e for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith(_NUMBER_NAMES)]
    for index, text in numbers:
        if candidates:
            candidates[index % len(candidates)].text = text
    path = tmp_path / name
    path.write_bytes(etree.tostring(root))
    for level in ("none", "structure", "en16931", "peppol"):
        read_or_fail(path, level, f"{name} after {mutations} and {numbers}")
