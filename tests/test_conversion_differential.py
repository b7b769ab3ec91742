"""Valid in, valid out, judged by CEN's official XSLT (not by the hub's own rules).

Also: ``validate: structure`` accepts every such invoice (it is the cheap first check, not a
stricter dialect).

For every invoice the official EN 16931 XSLT accepts (the 17 official examples and invoices
generated from them by the differential test's mutations), the hub's UBL output and its PEPPOL BIS 3
output must be accepted by that XSLT too. The PEPPOL writer may refuse an invoice that PEPPOL
cannot carry (no electronic address, two notes, ...): then it raises FormatError naming the term,
which fails the file with that reason; it never writes a document the official rules reject.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from saxonche import PySaxonApiError

from invoice_hub.formats.ubl import read_ubl
from invoice_hub.formats.ubl_writer import write_peppol_bis3, write_ubl
from invoice_hub.formats.xml import FormatError, parse_xml
from invoice_hub.validation.structure import check_ubl
from tests.reference_xslt import reference
from tests.test_en16931_differential import EXAMPLES, hub_fatal, mutated_invoices
from tests.test_en16931_rules import KNOWN_BREAKS


def _official_fatal(data: bytes) -> set[str] | None:
    """The official XSLT's fatal rule ids, or None when it cannot evaluate the document."""
    try:
        return reference().fatal(data)
    except PySaxonApiError:
        return None


def _outputs_accepted(data: bytes, source: str, *, in_hypothesis: bool = False) -> None:
    # validate: structure is the cheap first check, never stricter than the schema and CEN's rules
    structural = [f for f in check_ubl(parse_xml(data, source), "ubl") if f.severity == "fatal"]
    assert not structural, f"{source}: validate: structure refuses what CEN accepts: {structural}"
    invoice = read_ubl(data, source)
    ubl = write_ubl(invoice)
    assert reference().fatal(ubl) == set(), f"{source}: the UBL output breaks {reference().fatal(ubl)}"
    try:
        peppol = write_peppol_bis3(invoice)
    except FormatError as refused:  # refused with the reason, never written invalid
        if in_hypothesis:
            event(f"PEPPOL refused: {str(refused).partition(': ')[2][:50]}")
        return
    broken = reference().fatal(peppol)
    if broken and _has_an_empty_element(data):
        # An element the source has empty: kept, PEPPOL-EN16931-R008 forbids it; left out (as the
        # PEPPOL writer does), a rule that asked only for its presence (BR-38's charge reason) can
        # fire. No valid PEPPOL document exists then, and the output's check must fail the file
        # with the same rules, as validate_transform's does.
        assert hub_fatal(parse_xml(peppol, source)) >= broken, f"{source}: the hub's check misses {broken}"
        if in_hypothesis:
            event("PEPPOL output invalid: the source had an empty element")
        return
    assert broken == set(), f"{source}: the PEPPOL output breaks {broken}"


def _has_an_empty_element(data: bytes) -> bool:
    return any(
        isinstance(e.tag, str) and len(e) == 0 and not (e.text or "").strip()
        for e in parse_xml(data, "source").iter()
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_accepted_official_example_converts_to_accepted_outputs(path: Path) -> None:
    data = path.read_bytes()
    # the one official example that breaks EN 16931 itself: the XSLT agrees, and it has nothing to carry
    assert _official_fatal(data) == KNOWN_BREAKS.get(path.name, set())
    if path.name not in KNOWN_BREAKS:
        _outputs_accepted(data, path.name)


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(mutated_invoices())
def test_every_accepted_mutated_invoice_converts_to_accepted_outputs(
    invoice: tuple[str, list, bytes],
) -> None:
    name, mutations, data = invoice
    fatal = _official_fatal(data)
    assume(fatal == set())  # only what the official rules accept must come out accepted
    _outputs_accepted(data, f"{name} after {mutations}", in_hypothesis=True)
