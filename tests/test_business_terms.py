"""The canonical model holds every EN 16931 business term, and keeps loading what earlier versions stored."""

from __future__ import annotations

import json
from pathlib import Path

from invoice_hub.model import Invoice

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
