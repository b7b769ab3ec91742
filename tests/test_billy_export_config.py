"""An export's ``source: {type: billy, ...}`` in the integration file: what is accepted, and what
check-config says about what is not (the field and the fix)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from invoice_hub.config.models import Integration
from invoice_hub.exchange.exportable import export_problem
from invoice_hub.exchange.select import criteria_for
from invoice_hub.model import Invoice, Line

BILLY_EXPORT: dict[str, Any] = {
    "name": "billy_send",
    "kind": "export",
    "source": {"type": "billy", "conn_id": "billy"},
    "transform": {"output": "ubl"},
    "destinations": [{"type": "local", "path": "/tmp/out"}],
}


def integration(**changes: Any) -> Integration:
    return Integration.model_validate({**BILLY_EXPORT, **changes})


def problem(**changes: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        integration(**changes)
    return str(caught.value)


def test_an_export_reads_billy_and_takes_only_its_own_invoices() -> None:
    export = integration(select={"date_field": "approved_at"})
    assert export.accounting_source is not None and export.accounting_source.conn_id == "billy"
    assert export.file_source is None
    criteria = criteria_for(export, None, None)
    assert criteria.sources == ("billy_send",), "never invoices another integration received"
    assert criteria.date_field == "approved_at"


def test_what_a_billy_source_does_not_take_is_named_with_the_fix() -> None:
    assert "approved_at" in problem(select={"date_field": "received_at"})
    assert "remove select.sources" in problem(select={"sources": ["supplier_in"]})
    assert "conn_id" in problem(source={"type": "billy"})
    assert "only kind export reads it" in problem(kind="transfer")
    local = problem(source={"type": "local", "path": "/tmp/in"})
    assert "an export takes invoices from the ledger or an accounting system, not files" in local
    ledger_export = {k: v for k, v in BILLY_EXPORT.items() if k != "source"}
    with pytest.raises(ValidationError, match="approved_at is the approval time in an accounting system"):
        Integration.model_validate({**ledger_export, "select": {"date_field": "approved_at"}})


def test_check_config_and_the_schema_know_billy(tmp_path: Any) -> None:
    from invoice_hub.config import load_folder
    from invoice_hub.config.schema import integration_schema

    path = tmp_path / "billy_send.yaml"
    path.write_text(
        "name: billy_send\nkind: export\nsource: {type: billy, conn_id: billy}\n"
        "transform: {output: peppol_bis3}\ndestinations: [{type: local, path: out}]\n"
    )
    (entry,) = load_folder([path])
    assert entry.problems == [] and entry.integration is not None
    assert "BillyConfig" in integration_schema()["$defs"]
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(path.read_text().replace("type: billy", "type: dinero").replace("billy_send", "wrong"))
    (entry,) = load_folder([wrong])
    assert any("dinero" in str(p) and "billy" in str(p) for p in entry.problems), entry.problems


def test_an_invoice_without_lines_or_in_a_currency_the_format_cannot_carry_is_named() -> None:
    line = Line(id="1", quantity=1, net_amount=100)
    good = Invoice(number="1001", currency="DKK", lines=[line])
    assert export_problem(good, "peppol_bis3") is None
    empty = export_problem(good.model_copy(update={"lines": []}), "peppol_bis3")
    assert empty is not None and empty.startswith("invoice 1001 has no lines")
    assert export_problem(good.model_copy(update={"lines": []}), "pdf") is None
    odd = export_problem(good.model_copy(update={"currency": "XBT"}), "ubl")
    assert odd is not None and "'XBT'" in odd and "ubl cannot carry" in odd
    assert export_problem(good.model_copy(update={"currency": "XBT"}), "ap_agility") is None
