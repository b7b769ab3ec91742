"""Invoice formats: which ones exist, how a file's format is recognised, and how each reads and writes.

Every format reads into and writes from the canonical model (``invoice_hub.model``). This module is
the one place that knows them all; the operators and the CLI go through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from invoice_hub.compiled import use_compiled_copies

# Before any of this package's modules is imported: their compiled copies, when current, come first.
use_compiled_copies(__path__, __name__)

from invoice_hub.formats.byte_order import marked_encoding
from invoice_hub.formats.xml import FormatError
from invoice_hub.validation.findings import Finding, is_valid

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from invoice_hub.csv_options import CsvOptions
    from invoice_hub.model import Invoice

#: What ``transform.input`` may name (besides ``any``).
INPUT_FORMATS = ("ubl", "ap_agility", "open_ar_csv")
_SNIFF_BYTES = 4096
_UBL_NAMESPACES = (
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
)


@dataclass(frozen=True)
class OutputWriter:
    """How invoices are written in one output format (the config's ``OutputFormat`` names it):
    ``per_invoice``, one file per invoice, else one per input."""

    name: str
    extension: str
    per_invoice: bool
    write: Callable[[Sequence[Invoice], SupportsWrite[bytes]], None]
    #: The input format that reads this output back (None: a report or rendition, not the invoice):
    #: what the conversion reads its output with to prove nothing was lost.
    reads_as: str | None = None
    #: Model fields the format states itself whatever the invoice said (PEPPOL's specification and
    #: business process identifiers): what differs there is the conversion's point, not a loss.
    sets: frozenset[str] = frozenset()

    def documents(self, invoices: Sequence[Invoice]) -> list[list[Invoice]]:
        """The invoices of each file to write: one each, or all of them in one."""
        return [[invoice] for invoice in invoices] if self.per_invoice else [list(invoices)]

    def file_name(
        self,
        document: Sequence[Invoice],
        template: str | None,
        *,
        source_name: str,
        sha256: str,
        now: dt.datetime,
    ) -> str:
        """The name of the file holding ``document``: ``template`` (or the format's default) filled in."""
        from invoice_hub.naming import output_name

        return output_name(
            template,
            self.name,
            source_name=source_name,
            sha256=sha256,
            extension=self.extension,
            invoice_number=document[0].number if self.per_invoice else None,
            now=now,
        )


def _write_ubl(invoices: Sequence[Invoice], sink: SupportsWrite[bytes]) -> None:
    from invoice_hub.formats.ubl_writer import write_ubl_to

    (invoice,) = invoices
    write_ubl_to(invoice, sink)  # attachments streamed: a 200 MB one is never held as base64 text


def _write_peppol(invoices: Sequence[Invoice], sink: SupportsWrite[bytes]) -> None:
    from invoice_hub.formats.ubl_writer import write_peppol_bis3_to

    (invoice,) = invoices
    write_peppol_bis3_to(invoice, sink)


def _write_ap_agility(invoices: Sequence[Invoice], sink: SupportsWrite[bytes]) -> None:
    from invoice_hub.formats.ap_agility import write_ap_agility

    (invoice,) = invoices
    write_ap_agility(invoice, sink)


def _write_open_ar_csv(invoices: Sequence[Invoice], sink: SupportsWrite[bytes]) -> None:
    from invoice_hub.formats.open_ar_csv import write_open_ar_csv

    write_open_ar_csv(invoices, sink)


def _write_pdf(invoices: Sequence[Invoice], sink: SupportsWrite[bytes]) -> None:
    """The invoice's own document: its first PDF attachment (Kolleno's ``<invoice ref>.pdf``)."""
    from invoice_hub.formats.xml import FormatError

    (invoice,) = invoices
    pdf = next(
        (
            a.content
            for a in invoice.attachments
            if a.content is not None
            and (
                (a.mime_type or "").lower() == "application/pdf"
                or (a.filename or "").lower().endswith(".pdf")
            )
        ),
        None,
    )
    if pdf is None:
        raise FormatError(
            f"invoice {invoice.number} has no PDF attachment (an EmbeddedDocumentBinaryObject with "
            "mimeCode application/pdf) to deliver"
        )
    sink.write(pdf)


OUTPUT_WRITERS: dict[str, OutputWriter] = {
    f.name: f
    for f in (
        OutputWriter("ubl", ".xml", True, _write_ubl, reads_as="ubl"),
        OutputWriter(
            "peppol_bis3",
            ".xml",
            True,
            _write_peppol,
            reads_as="ubl",
            sets=frozenset({"customization_id", "profile_id"}),
        ),
        OutputWriter("ap_agility", ".xml", True, _write_ap_agility, reads_as="ap_agility"),
        OutputWriter("open_ar_csv", ".csv", False, _write_open_ar_csv),
        OutputWriter("pdf", ".pdf", True, _write_pdf),
    )
}


def _is_xml(path: Path) -> bool:
    """Whether the file starts like XML (after a byte order mark and blank space), in whatever
    encoding its mark names (a UTF-16 invoice is XML too); anything else is read as CSV."""
    with path.open("rb") as file:
        head = file.read(_SNIFF_BYTES)
    # latin-1 without a mark: every byte is a character, so only the first non-blank byte decides
    text = head.decode(marked_encoding(head) or "latin-1", errors="ignore")
    return text.lstrip(" \t\r\n").startswith("<")


def _xml_format(root: etree._Element) -> str | None:
    """The input format a parsed document's root element names: UBL by namespace, AP Agility by name."""
    qname = etree.QName(root)
    if qname.namespace in _UBL_NAMESPACES:
        return "ubl"
    if qname.namespace is None and qname.localname == "Invoice":
        return "ap_agility"
    return None


@dataclass
class Document:
    """A file read as invoices: its format, the invoices (none when a finding is fatal), the findings."""

    source: str
    format: str | None
    invoices: list[Invoice] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: The parsed XML (its attachments' text taken out), for a conversion to compare its output with.
    root: etree._Element | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        return is_valid(self.findings)


def _unreadable(source: str, rule: str, exc: FormatError, input_format: str | None) -> Document:
    location = f"line {exc.line}" if exc.line else ""
    message = str(exc).removeprefix(f"{source}: ").removeprefix(f"{source}, {location}: ")
    return Document(
        source, input_format, [], [Finding(rule=rule, severity="fatal", message=message, location=location)]
    )


#: The rule levels above ``structure``: what each checks a UBL document with, and its name in messages.
RULE_LEVELS = {"en16931": "EN 16931", "peppol": "PEPPOL BIS 3"}


def check_rules(root: etree._Element, level: str) -> list[Finding]:
    """The findings of a parsed UBL document at ``level`` (``en16931``, or ``peppol``: EN 16931 plus
    OpenPEPPOL's BIS Billing 3.0 rules)."""
    if level == "peppol":
        from invoice_hub.validation.peppol import check_peppol

        return check_peppol(root)
    from invoice_hub.validation.en16931 import check_en16931

    return check_en16931(root)


def _rule_findings(root: etree._Element | None, input_format: str, level: str) -> list[Finding]:
    """The rules of ``level`` for UBL; other formats cannot carry the standard's rules, which a warning
    says (the rule id stays EN16931-NOT-UBL for both levels: scripts match on it)."""
    if input_format == "ubl" and root is not None:
        return check_rules(root, level)
    message = (
        f"{RULE_LEVELS[level]} rules apply to UBL input; this {input_format} file was checked "
        f"structurally only (convert it to UBL and validate that to check {RULE_LEVELS[level]})"
    )
    return [Finding(rule="EN16931-NOT-UBL", severity="warning", message=message)]


def read_document(
    path: Path,
    input_format: str = "any",
    source: str | None = None,
    *,
    validate: str = "none",
    read: bool = True,
    csv_options: CsvOptions | None = None,
) -> Document:
    """The invoices in the file at ``path`` and, with ``validate="structure"``, its structural findings;
    ``validate="en16931"`` adds the EN 16931 rules, ``validate="peppol"`` those and OpenPEPPOL's BIS
    Billing 3.0 rules (UBL only; other formats get a warning saying so).

    Never raises for a bad document: what is wrong with it is a fatal finding, so that the caller
    records it like any validation failure. ``read=False`` validates without building invoices.
    """
    source = source or str(path)
    if input_format == "any" and not _is_xml(path):
        input_format = "open_ar_csv"
    if input_format == "open_ar_csv":
        from invoice_hub.formats.open_ar_csv import CsvOptions, read_open_ar_report, report_to_invoices

        report = read_open_ar_report(path, source, csv_options or CsvOptions())
        document = Document(source, input_format, [], list(report.findings))
        if validate in RULE_LEVELS:
            document.findings += _rule_findings(None, input_format, validate)
        if read and document.valid:
            document.invoices = report_to_invoices(report)
        return document
    if input_format not in (*INPUT_FORMATS, "any"):
        raise ValueError(f"unknown input format {input_format!r}; known: {', '.join(INPUT_FORMATS)}, any")
    from invoice_hub.formats.xml import parse_xml

    try:
        root = parse_xml(path, source)
    except FormatError as exc:
        return _unreadable(source, "XML-SYNTAX", exc, None if input_format == "any" else input_format)
    if input_format == "any":  # recognised from the parsed root: the file is read once
        detected = _xml_format(root)
        if detected is None:
            message = (
                f"{source}: the root element {root.tag} is neither UBL 2.1 (Invoice, CreditNote) nor "
                "AP Agility (<Invoice> without a namespace)"
            )
            return _unreadable(source, "XML-SYNTAX", FormatError(message), None)
        input_format = detected
    document = Document(source, input_format, root=root)
    if validate != "none":
        from invoice_hub.validation.structure import check_ap_agility, check_ubl

        check = check_ubl if input_format == "ubl" else check_ap_agility
        document.findings = check(root, input_format)
    if validate in RULE_LEVELS:
        document.findings += _rule_findings(root, input_format, validate)
    if not read or not document.valid:
        return document
    try:
        if input_format == "ubl":
            from invoice_hub.formats.ubl import ubl_from_root

            document.invoices = [ubl_from_root(root, source)]
        else:
            from invoice_hub.formats.ap_agility import ap_agility_from_root

            document.invoices = [ap_agility_from_root(root, source)]
    except FormatError as exc:
        return _unreadable(source, "FORMAT-READ", exc, input_format)
    return document


def read_invoices(
    path: Path, input_format: str = "any", source: str | None = None, csv_options: CsvOptions | None = None
) -> list[Invoice]:
    """The invoices in the file at ``path``; :class:`FormatError` with the findings when it cannot be read."""
    document = read_document(path, input_format, source, csv_options=csv_options)
    if not document.valid:
        lines = [str(f) for f in document.findings if f.severity == "fatal"]
        raise FormatError(f"{document.source}: " + "; ".join(lines[:10]))
    return document.invoices
