"""Whether an invoice can go out in its customer's format at all, said before it is rendered.

An accounting system books what a person typed: an invoice without lines, or in a currency a
format's receivers cannot take. Rendering such an invoice fails deep in a writer or a validator
with a message about XML; this says it about the invoice, so that the person fixes it in the
accounting system (or gives that customer another format) while the run exports the others.
"""

from __future__ import annotations

from collections.abc import Callable

from invoice_hub.model import Invoice

#: Formats whose documents are EN 16931 invoices: at least one invoice line (BR-16) and a currency
#: (BT-5, 1..1). The others (AP Agility, a report, a PDF) carry what the invoice has.
NEEDS_LINES = frozenset({"ubl", "peppol_bis3"})


def _iso4217(code: str) -> bool:
    from invoice_hub.validation.structure import is_currency

    return is_currency(code)


def _peppol_currency(code: str) -> bool:
    from invoice_hub.validation.peppol.code_lists import ISO4217

    return code in ISO4217


#: Per output format, the currency codes it carries (a format not named carries what there is).
CURRENCIES: dict[str, tuple[Callable[[str], bool], str]] = {
    "ubl": (_iso4217, "an ISO 4217 code"),
    "peppol_bis3": (_peppol_currency, "a code of PEPPOL's ISO 4217 list"),
}


def export_problem(invoice: Invoice, output: str) -> str | None:
    """Why ``invoice`` cannot go out as ``output``, naming it and the fix; None when it can."""
    name = f"invoice {invoice.number}"
    if output in NEEDS_LINES and not invoice.lines:
        return (
            f"{name} has no lines, and {output} needs at least one (EN 16931 BR-16): add the lines "
            "where the invoice was booked (billy: credit it and book it again), or give this customer "
            "a format that carries an invoice without lines (pdf)"
        )
    check = CURRENCIES.get(output)
    if check is not None and not (invoice.currency and check[0](invoice.currency)):
        return (
            f"{name} is in currency {invoice.currency!r}, which {output} cannot carry (it needs "
            f"{check[1]}): book the invoice in such a currency, or give this customer another format"
        )
    return None
