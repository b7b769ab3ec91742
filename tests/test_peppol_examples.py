"""Every official example that claims PEPPOL BIS Billing 3.0 passes ``validate: peppol`` (no fatal finding).

The examples are OpenPEPPOL's (``einvoice-examples/peppol-bis3/``) and any CEN example whose
specification identifier (BT-24) claims PEPPOL compliance; the CEN ones in the shared set claim plain
EN 16931 (``urn:cen.eu:en16931:2017``), which PEPPOL-EN16931-R004 rightly rejects, so they are
listed by the claim, not by folder. A fatal finding on one is either a bug here or a documented break
of the official example itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from invoice_hub.validation.peppol import check_peppol
from tests.peppol_helpers import EXAMPLES, PEPPOL_EXAMPLES, load

PEPPOL_CLAIM = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def claims_peppol(path: Path) -> bool:
    return (load(path).findtext(f"{CBC}CustomizationID") or "").strip().startswith(PEPPOL_CLAIM)


CLAIMING = sorted(p for p in EXAMPLES.rglob("*.xml") if claims_peppol(p))
#: Official examples that break a fatal rule of what they illustrate, with why.
KNOWN_BREAKS: dict[str, set[str]] = {
    # Its seller has no PartyLegalEntity/RegistrationName (Seller name, BT-27), which EN 16931's
    # BR-06 requires (see tests/test_en16931_rules.py).
    "national-examples_GR_GR-base-example-TaxRepresentative.xml": {"BR-06"},
}


def test_every_peppol_example_and_only_those_claiming_it_are_checked() -> None:
    assert set(PEPPOL_EXAMPLES.glob("*.xml")) <= set(CLAIMING)
    assert len(CLAIMING) == 12
    assert not [p for p in CLAIMING if p.parent.name == "en16931"]  # CEN's claim plain EN 16931


@pytest.mark.parametrize("path", CLAIMING, ids=lambda p: p.name)
def test_official_example_has_no_fatal_finding(path: Path) -> None:
    fatal = {f.rule for f in check_peppol(load(path)) if f.severity == "fatal"}
    assert fatal == KNOWN_BREAKS.get(path.name, set())


@pytest.mark.parametrize("path", sorted((EXAMPLES / "en16931").glob("*.xml")), ids=lambda p: p.name)
def test_cen_examples_are_not_peppol_documents(path: Path) -> None:
    """Their BT-24 is EN 16931's, not PEPPOL's: R004 fires, as OpenPEPPOL's validator reports."""
    assert "PEPPOL-EN16931-R004" in {f.rule for f in check_peppol(load(path))}
