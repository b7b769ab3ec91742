"""Accounting systems as a source of exports: what every accounting API (billy, later e-conomic or
Dinero) offers the hub, so that the export side never knows which one it reads.

An accounting source is opened once per task from an Airflow connection (:func:`open_source`) and
gives three things:

- :meth:`AccountingSource.organization`: the company itself, the seller of every invoice;
- :meth:`AccountingSource.customers`: the contacts that are customers, for activation and the
  ``invoice-hub customers`` listing;
- :meth:`AccountingSource.documents`: the approved invoices and credit notes of an interval, each a
  :class:`SourcedInvoice`: the canonical invoice (or the findings saying why the record cannot be
  one), the ids the accounting system knows it by, and its PDF, fetched only when asked for (an
  export that skips a customer not activated never downloads that customer's PDFs).

Errors are :class:`AccountingError`, a :class:`~invoice_hub.errors.HubError`: ``retryable`` says
whether Airflow's retry can help (a rate limit or a server error that outlasted the client's own
back-off can; a refused token or a missing resource cannot). A record the model cannot hold is not
an error of the run: its :class:`SourcedInvoice` carries fatal findings naming the invoice, so the
export lists it (reason ``Reason.EXPORT_UNMAPPABLE``) and goes on with the others.

A second accounting API is one more module beside ``billy.py`` with a class implementing
:class:`AccountingSource`, and one more entry in :data:`SOURCE_HOOKS`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from invoice_hub.errors import HubError
from invoice_hub.model import Attachment, Invoice, Party
from invoice_hub.validation.findings import Finding, is_valid

#: Which date of an accounting record an interval selects: ``issue_date`` is the invoice's own date
#: (billy's ``entryDate``), ``approved_at`` the moment it was approved (booked), after which it
#: cannot change: an export by approval time never misses an invoice dated back into a past interval.
DateField = Literal["issue_date", "approved_at"]
DATE_FIELDS: tuple[DateField, ...] = ("issue_date", "approved_at")


class AccountingError(HubError):
    """A failure reading an accounting system, naming the request and what to do about it."""


@dataclass(frozen=True)
class Customer:
    """A contact of the accounting system that is a customer: what activation and the listing show."""

    id: str
    """The accounting system's own id of the contact (stable; the key of ``customers:``)."""
    name: str
    number: str | None = None
    """The customer number people know it by (billy's ``contactNo``)."""
    registration_no: str | None = None
    """The company registration number (a Danish CVR number)."""
    gln: str | None = None
    """The EAN/GLN location number an e-invoicing network delivers to."""
    country: str | None = None
    archived: bool = False


@dataclass(frozen=True)
class SourcedInvoice:
    """One approved invoice or credit note read from an accounting system.

    ``invoice`` is None exactly when ``findings`` has a fatal one: the record cannot be a canonical
    invoice (no lines, a tax rate it does not know, ...), and the findings name it and say why.
    """

    source: str
    """The accounting system: ``billy``."""
    source_id: str
    """The accounting system's id of the record (stable across runs)."""
    number: str
    """The invoice number (BT-1) as the accounting system shows it."""
    customer_id: str | None
    """The :attr:`Customer.id` of the buyer."""
    document_type: Literal["invoice", "credit_note"]
    issue_date: dt.date | None
    approved_at: dt.datetime | None
    invoice: Invoice | None
    findings: tuple[Finding, ...] = ()
    fetch_pdf: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    """Downloads the PDF the accounting system renders (None: it offers none)."""
    pdf_name: str | None = None

    @property
    def mappable(self) -> bool:
        return self.invoice is not None and is_valid(list(self.findings))

    def with_pdf(self) -> Invoice:
        """The invoice with the accounting system's PDF attached (BG-24), downloaded now.

        Raises :class:`AccountingError` for a record that is not mappable (check :attr:`mappable`)
        and whatever the download raises (retryable or not, as for every request)."""
        if self.invoice is None:
            raise AccountingError(
                f"{self.source} invoice {self.number} (id {self.source_id}) cannot be exported: "
                + "; ".join(f.message for f in self.findings),
                retryable=False,
            )
        if self.fetch_pdf is None:
            return self.invoice
        pdf = self.fetch_pdf()
        attachment = Attachment(
            id=self.number,
            description=f"Invoice {self.number} as {self.source} renders it",
            filename=self.pdf_name or f"{self.number}.pdf",
            mime_type="application/pdf",
            content=pdf,
        )
        return self.invoice.model_copy(update={"attachments": [*self.invoice.attachments, attachment]})


class AccountingSource(Protocol):
    """What an accounting API offers the hub (see the module)."""

    name: str
    """The source type as the integration file names it (``billy``)."""

    def organization(self) -> Party:
        """The company whose books these are: the seller (BG-4) of every invoice."""
        ...

    def customers(self) -> Iterator[Customer]:
        """Every contact that is a customer, archived ones included (their invoices still export)."""
        ...

    def documents(
        self,
        start: dt.datetime,
        end: dt.datetime,
        date_field: DateField = "issue_date",
        *,
        customer_id: str | None = None,
    ) -> Iterator[SourcedInvoice]:
        """Every approved invoice and credit note whose ``date_field`` is in ``[start, end)`` (for
        ``issue_date``: whose date's midnight is, as the ledger selects), of one customer or all,
        each exactly once, even when records are approved or voided while the listing is read."""
        ...

    def numbered(self, numbers: Iterable[str]) -> Iterator[SourcedInvoice]:
        """The approved invoices and credit notes with these numbers (a manual export by invoice);
        an unknown number is a permanent :class:`AccountingError` naming it."""
        ...

    def close(self) -> None: ...


#: Source type -> ``module:function`` opening it from an Airflow connection id (imported on use:
#: the DAG processor never imports an HTTP client for a DAG it only parses).
SOURCE_HOOKS: dict[str, str] = {
    "billy": "invoice_hub.hooks.billy:open_billy_source",
}


def open_source(source_type: str, conn_id: str) -> AccountingSource:
    """The accounting source of ``source_type`` through the Airflow connection ``conn_id``."""
    try:
        target = SOURCE_HOOKS[source_type]
    except KeyError:
        known = ", ".join(sorted(SOURCE_HOOKS))
        raise AccountingError(
            f"source type {source_type!r} is not an accounting system the hub reads; known: {known}",
            retryable=False,
        ) from None
    module, _, function = target.partition(":")
    opener: Callable[[str], AccountingSource] = getattr(importlib.import_module(module), function)
    return opener(conn_id)
