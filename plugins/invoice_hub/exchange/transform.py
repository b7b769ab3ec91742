"""Convert a file (or stored invoices) to an output format: read, validate, map, write, check the output.

The library behind ``validate_transform`` and an export's render (the operators only adapt Airflow's
context and XCom), tested without Airflow. Its promise (docs/guarantees.md, "Valid in, valid out"):

- **nothing is lost silently**: every document written is read back into the model and compared
  with the invoice it was written from (``formats.loss``); each value the output does not give back
  is a ``LOSS-*`` finding, a failure of the file (``transform.loss``) with ``on_loss: fail``, a
  warning (logged, in the findings JSON, the file delivered) with ``on_loss: warn``;
- **valid in, valid out**: a ``peppol_bis3`` output is always checked with the EN 16931 and PEPPOL
  BIS 3 rules, a ``ubl`` output with the EN 16931 rules when the integration validates at
  ``en16931`` or ``peppol``, and structurally (as its input was) at any level but ``none``; a fatal
  finding in the output fails the file (``transform.invalid_output``) with those findings, so an
  invalid document is never delivered as a success.

Reports and renditions (``open_ar_csv``, ``pdf``) are not the invoice in another syntax, so they are
neither read back nor checked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from invoice_hub.errors import HubError
from invoice_hub.formats import (
    OUTPUT_WRITERS,
    RULE_LEVELS,
    Document,
    OutputWriter,
    check_rules,
    read_document,
)
from invoice_hub.formats.loss import ElementCounts, element_counts, element_findings, is_loss, loss_findings
from invoice_hub.formats.xml import FormatError, hardened_parser, parse_xml
from invoice_hub.manifest import Output
from invoice_hub.naming import output_name
from invoice_hub.reasons import Reason
from invoice_hub.staging import HashingSink, local_file
from invoice_hub.ubl_namespaces import NS
from invoice_hub.validation.findings import Finding, Severity

if TYPE_CHECKING:
    from invoice_hub.config.mappings import Mapping
    from invoice_hub.config.models import LossPolicy, Transform
    from invoice_hub.model import Invoice
    from invoice_hub.staging import Staging

log = logging.getLogger(__name__)

#: How many findings a failure reason (ledger, log, e-mail) quotes; all of them go to the JSON.
QUOTED_FINDINGS = 3
#: Rules that say a file is not its format at all (rather than an invalid document of it).
UNREADABLE_RULES = frozenset({"XML-SYNTAX", "FORMAT-READ", "CSV-ENCODING"})


@dataclass
class Outcome:
    """What became of one file or invoice: its outputs (none when it failed), every finding (the
    input's, the output's, the losses) and, when it failed, why."""

    outputs: list[Output] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: The invoices as read (before the mapping): what the ledger records as received.
    invoices: list[Invoice] = field(default_factory=list)
    #: For each output, the positions (in the invoices rendered) of the invoices it holds: one each,
    #: or all of them in one file. What links a received invoice to its outputs and deliveries.
    contents: list[list[int]] = field(default_factory=list)
    reason: Reason | None = None
    message: str | None = None
    #: The format the file was read as (``ubl``, ``csv``...; None when it could not be told): what
    #: the ledger's record of the conversion says it was converted from.
    input_format: str | None = None

    @property
    def failed(self) -> bool:
        return self.reason is not None

    def fail(self, reason: Reason, message: str) -> Outcome:
        self.reason, self.message, self.outputs, self.contents = reason, message, [], []
        return self


@dataclass(frozen=True)
class Target:
    """Where one source's outputs go and what their names are made of."""

    staging: Staging
    key: str  # keeps the files of different sources apart in staging (the ledger id)
    source_name: str  # fills {name} and {stem}
    sha256: str  # of the source, fills {sha8}
    exported_at: dt.datetime  # one timestamp per run, for {timestamp} and {date}


def quoted(findings: Sequence[Finding]) -> str:
    """The first findings as a reason quotes them, and how many more there are."""
    text = "; ".join(str(f) for f in findings[:QUOTED_FINDINGS])
    more = f" (+{len(findings) - QUOTED_FINDINGS} more)" if len(findings) > QUOTED_FINDINGS else ""
    return text + more


def finding_ids(outcome: Outcome) -> str | None:
    """The rule ids a person looks a file up by, distinct, in order, space-separated: those of the
    fatal findings that rejected it, or of the losses it was delivered with (``on_loss: warn``)."""
    from invoice_hub.formats.loss import is_loss

    wanted = [f for f in outcome.findings if (f.severity == "fatal" if outcome.failed else is_loss(f))]
    return " ".join(dict.fromkeys(f.rule for f in wanted)) or None


def passthrough(template: str | None, source_name: str, url: str, sha256: str, size: int) -> Output:
    """The staged source as its own output, under the templated name (no copy)."""
    name = output_name(template, "passthrough", source_name=source_name, sha256=sha256)
    return Output(name=name, url=url, sha256=sha256, size=size)


def transform_file(
    path: Path,
    source: str,
    transform: Transform,
    target: Target,
    *,
    output: str | None = None,
    mapping: tuple[Mapping, Path] | None = None,
) -> Outcome:
    """The file at ``path`` (named ``source`` in findings) read as ``transform.input``, validated to
    ``transform.validate``, mapped and written as ``output`` (default ``transform.output``).

    Never raises for a bad file: a file that is not valid fails with ``validate.<level>`` (or
    ``format.unreadable``), one the mapping does not fit with ``transform.mapping``, one the output
    cannot express with ``transform.output``, and the output checks as the module says. For
    ``passthrough`` nothing is written: the caller delivers the staged source.
    """
    output = output or transform.output
    level = transform.validate_
    document = read_document(path, transform.input, source, validate=level, csv_options=transform.csv)
    outcome = Outcome(
        findings=list(document.findings), invoices=list(document.invoices), input_format=document.format
    )
    for finding in document.findings:
        log.info("%s: %s", source, finding)
    if not document.valid:
        fatal = [f for f in document.findings if f.severity == "fatal"]
        code = (
            Reason.FORMAT_UNREADABLE
            if level == "none" or fatal[0].rule in UNREADABLE_RULES
            else Reason.for_validation(level)
        )
        return outcome.fail(code, f"{len(fatal)} fatal finding(s): {quoted(fatal)}")
    if output == "passthrough":
        return outcome
    try:
        invoices = mapped(document.invoices, mapping)
    except HubError as exc:  # a mapping that does not fit this document
        return outcome.fail(Reason.TRANSFORM_MAPPING, str(exc))
    rendered = render(
        invoices,
        output,
        target,
        filename=transform.filename,
        on_loss=transform.loss_policy(output),
        validate=held_to(level, document.format, output),
        elements=_elements(document, output, mapped_=mapping is not None),
    )
    outcome.findings += rendered.findings
    if rendered.failed:
        assert rendered.reason is not None and rendered.message is not None
        return outcome.fail(rendered.reason, rendered.message)
    outcome.outputs, outcome.contents = rendered.outputs, rendered.contents
    log.info("%s: %d invoice(s) -> %d %s file(s)", source, len(invoices), len(outcome.outputs), output)
    return outcome


@dataclass(frozen=True)
class Elements:
    """The element counts of a UBL source, and those a UBL written from its (unmapped) model has:
    what the source holds that the model does not carry. ``carried`` None: the output's own counts
    are those (a UBL output without a mapping), so they need not be written twice."""

    source: ElementCounts
    carried: ElementCounts | None


def _elements(document: Document, output: str, *, mapped_: bool) -> Elements | None:
    if document.format != "ubl" or document.root is None or len(document.invoices) != 1:
        return None
    same_syntax = OUTPUT_WRITERS[output].reads_as == "ubl" and not mapped_
    carried = None if same_syntax else model_elements(document.invoices[0])
    return Elements(element_counts(document.root), carried)


def held_to(level: str, input_format: str | None, output: str) -> str:
    """The level an output is held to: the one its input passed, where passing it says something of
    the output. A UBL input's checks do (every output is made from a complete invoice); an AP Agility
    input's say something of AP Agility output only; an open-AR report row is no complete invoice
    at all, so it promises nothing (PEPPOL output is checked whatever the input)."""
    reads_as = OUTPUT_WRITERS[output].reads_as
    if input_format == "ubl" or (reads_as is not None and input_format == reads_as):
        return level
    return "none"


def mapped(invoices: list[Invoice], mapping: tuple[Mapping, Path] | None) -> list[Invoice]:
    """``invoices`` through the mapping (field maps, constants, substitutions), if there is one."""
    if mapping is None:
        return invoices
    from invoice_hub.apply_mapping import apply_mapping

    return [apply_mapping(mapping[0], mapping[1], invoice) for invoice in invoices]


def render(
    invoices: Sequence[Invoice],
    output: str,
    target: Target,
    *,
    filename: str | None,
    on_loss: LossPolicy,
    validate: str,
    elements: Elements | None = None,
) -> Outcome:
    """``invoices`` written as files of ``output`` into staging, each checked as the module says.

    ``elements``: those of the UBL document the one invoice was read from; each that the model does
    not carry (a UBL extension, a national element) is a loss too.

    ``validate`` is the level the output is held to (:func:`held_to`: what the input passed);
    ``on_loss`` says whether a loss fails the invoices or is a warning. A document the output format
    cannot express (``FormatError``: PEPPOL without an electronic address) fails with
    ``transform.output``; anything unexpected with ``transform.error``.
    """
    writer = OUTPUT_WRITERS[output]
    outcome = Outcome()
    position = {id(invoice): index for index, invoice in enumerate(invoices)}
    try:
        for index, group in enumerate(writer.documents(invoices)):
            written = _write(group, writer, target, index, filename)
            outcome.outputs.append(written)
            outcome.contents.append([position[id(invoice)] for invoice in group])
            outcome.findings += check_output(
                written,
                group,
                writer,
                validate=validate,
                on_loss=on_loss,
                elements=elements,
            )
    except FormatError as exc:
        return outcome.fail(Reason.TRANSFORM_OUTPUT, str(exc))
    except HubError as exc:
        return outcome.fail(Reason.TRANSFORM_MAPPING, str(exc))
    except Exception as exc:  # one bad document never stops the others; it is recorded instead
        log.exception("Cannot write %s as %s", target.source_name, output)
        return outcome.fail(Reason.TRANSFORM_ERROR, f"{type(exc).__name__}: {exc}")
    invalid = [f for f in outcome.findings if f.severity == "fatal" and not is_loss(f)]
    lost = [f for f in outcome.findings if f.severity == "fatal" and is_loss(f)]
    for finding in outcome.findings:  # each one in the task log; the findings JSON has them too
        log.info("%s -> %s: %s", target.source_name, output, finding)
    warned = [f for f in outcome.findings if is_loss(f) and f.severity == "warning"]
    if warned:  # one warning a person sees, naming the terms: the partner does not get these
        log.warning(
            "%s -> %s: delivered without %d value(s) the format cannot hold (transform.on_loss: warn): %s",
            target.source_name,
            output,
            len(warned),
            ", ".join(dict.fromkeys(f.rule.removeprefix("LOSS-") for f in warned)),
        )
    if invalid:
        return outcome.fail(
            Reason.TRANSFORM_INVALID_OUTPUT,
            f"the {output} output is not valid, so it is not delivered: "
            f"{len(invalid)} fatal finding(s): {quoted(invalid)}",
        )
    if lost:
        return outcome.fail(Reason.TRANSFORM_LOSS, loss_reason(lost, output))
    return outcome


def loss_reason(lost: Sequence[Finding], output: str) -> str:
    """The reason of a file failed by its losses: the business terms, then what to do."""
    terms = list(dict.fromkeys(f.rule.removeprefix("LOSS-") for f in lost))
    return (
        f"{output} cannot hold {len(lost)} value(s) of the invoice, so it is not delivered "
        f"(transform.on_loss: fail): {', '.join(terms)}; first: {quoted(lost)}. Set transform.on_loss: "
        "warn to deliver it without them, or choose an output format that holds them"
    )


def _write(
    group: Sequence[Invoice], writer: OutputWriter, target: Target, index: int, filename: str | None
) -> Output:
    name = writer.file_name(
        group, filename, source_name=target.source_name, sha256=target.sha256, now=target.exported_at
    )
    path = target.staging.new_path("out", f"{target.key}-{index}", name)
    with path.open("wb") as file:
        sink = HashingSink(file)
        writer.write(group, sink)
    return Output(name=name, url=str(path), sha256=sink.sha256.hexdigest(), size=sink.size)


def check_output(
    written: Output,
    group: Sequence[Invoice],
    writer: OutputWriter,
    *,
    validate: str,
    on_loss: LossPolicy,
    elements: Elements | None = None,
) -> list[Finding]:
    """The findings of one written document: the rules it is held to, then every loss against the
    invoice it was written from (and the ``elements`` of its UBL source the model does not carry).
    Reports and renditions (``reads_as`` None) have none."""
    if writer.reads_as is None:
        return []
    (source,) = group
    with local_file(written.url) as local:
        root, shared = _read_output(local, written.name, source)
    findings = _output_rules(root, writer.name, validate)
    findings = [
        f.model_copy(update={"message": f"in the {writer.name} output: {f.message}"}) for f in findings
    ]
    severity: Severity = "fatal" if on_loss == "fail" else "warning"
    if elements is not None:
        carried = elements.carried if elements.carried is not None else element_counts(root)
        findings += element_findings(elements.source, carried, writer.name, severity)
    if writer.reads_as == "ubl":
        from invoice_hub.formats.ubl import ubl_from_root

        back = ubl_from_root(root, written.name)  # after the rules: it takes attachments out of the tree
    else:
        from invoice_hub.formats.ap_agility import ap_agility_from_root

        back = ap_agility_from_root(root, written.name)
    embedded = [a for a in back.attachments if a.content is not None]
    for attachment, content in zip(embedded, shared, strict=False):
        if content is not None:
            attachment.content = content
    return findings + loss_findings(source, back, writer.name, severity, writer.sets)


#: The elements holding an attachment's content as base64: UBL's, and AP Agility's invoice image.
_BINARY = frozenset({f"{{{NS['cbc']}}}EmbeddedDocumentBinaryObject", "ImageBase64"})
_ONE_BYTE = "AA=="  # what a verified attachment's text is in the tree the checks and the read-back get
#: From how many bytes of attachments the read-back streams them (below, a copy costs less than the
#: slower parse; a 17 KB invoice parses in 0.8 ms with lxml's tree builder, 6 ms with the target).
STREAMED_ATTACHMENTS = 1024 * 1024
_WHITESPACE = b" \t\r\n"


def _read_output(path: Path, name: str, source: Invoice) -> tuple[etree._Element, list[bytes | None]]:
    """The written document's tree for the checks and the read-back, and for each embedded
    attachment of it (document order) the source's content it equals (None for the others).

    The read-back compares every attachment, but a 200 MB one must not be held again: as text in
    the tree (270 MB), as a Python string, nor decoded. So the parser streams each attachment's
    base64 through a decoder into a digest (:class:`_DigestingTarget`) and the tree gets one byte in
    its place; the read-back then shares the source's bytes whose digest it has. If one differs (a
    writer bug) or is not base64, the document is parsed whole instead, so that the comparison and
    the reader show exactly what is wrong with it.
    """
    embedded = [a.content for a in source.attachments if a.content]
    if sum(map(len, embedded)) < STREAMED_ATTACHMENTS:  # a Python parser target costs ~8x lxml's own
        return parse_xml(path, name), []
    by_digest = {hashlib.sha256(content).digest(): content for content in embedded}
    target = _DigestingTarget()
    try:
        # with a parser target, parse() returns what the target's close() does: the root element
        # (lxml-stubs type it as an _ElementTree always)
        root: etree._Element = etree.parse(  # type: ignore[assignment]  # see above
            str(path), hardened_parser(target)
        )
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"{name}, line {exc.lineno}: not well-formed XML: {exc.msg}", exc.lineno) from None
    shared = [by_digest.get(digest) if digest is not None else None for digest in target.digests]
    if target.saw_doctype or any(content is None for content in shared):
        return parse_xml(path, name), []  # refuses a DOCTYPE; keeps a differing attachment whole
    return root, shared


class _DigestingTarget:
    """An lxml parser target building the tree as the parser would, except the text of each binary
    element: libxml2 hands it over in chunks of a few KB, which are base64-decoded and hashed as
    they come, so no copy of the attachment is ever made."""

    def __init__(self) -> None:
        self._builder = etree.TreeBuilder()
        self._digest: hashlib._Hash | None = None  # inside a binary element
        self._carry = b""  # base64 characters short of a group of 4
        self._valid = True
        #: The sha256 of each binary element's decoded content, in document order (None: not base64).
        self.digests: list[bytes | None] = []
        #: Whether the document has a DOCTYPE (refused, by the whole parse that follows).
        self.saw_doctype = False

    def start(self, tag: str, attrib: dict, nsmap: dict | None = None) -> etree._Element:
        if tag in _BINARY:
            self._digest, self._carry, self._valid = hashlib.sha256(), b"", True
        # the parser names the default namespace '', the tree builder None
        return self._builder.start(tag, attrib, {k or None: v for k, v in (nsmap or {}).items()})  # type: ignore[call-arg,func-returns-value,return-value]  # lxml-stubs: TreeBuilder.start takes nsmap and returns the element

    def data(self, text: str) -> None:
        if self._digest is None:
            self._builder.data(text)
            return
        if not self._valid:
            return
        try:
            chunk = self._carry + text.encode("ascii").translate(None, _WHITESPACE)
            usable = len(chunk) - len(chunk) % 4
            self._digest.update(base64.b64decode(chunk[:usable], validate=True))
            self._carry = chunk[usable:]
        except (binascii.Error, UnicodeEncodeError, ValueError):
            self._valid = False  # the whole parse that follows lets the reader say what is wrong

    def end(self, tag: str) -> etree._Element:
        if self._digest is not None:
            valid = self._valid and not self._carry
            self.digests.append(self._digest.digest() if valid else None)
            self._builder.data(_ONE_BYTE)
            self._digest = None
        return self._builder.end(tag)  # type: ignore[func-returns-value,return-value]  # lxml-stubs: TreeBuilder.end returns the element

    def doctype(self, *_: object) -> None:
        self.saw_doctype = True

    def close(self) -> etree._Element:
        return self._builder.close()


def model_elements(invoice: Invoice) -> ElementCounts:
    """The element counts of a UBL document written from ``invoice``: what of a UBL source the model
    carries, for an output in another syntax. Attachments are written as one byte each: the counts
    are the same, and a 200 MB attachment is not encoded a second time."""
    from invoice_hub.formats.ubl_writer import write_ubl

    light = invoice.model_copy(
        update={
            "attachments": [
                a.model_copy(update={"content": b"x"}) if a.content else a for a in invoice.attachments
            ]
        }
    )
    try:
        return element_counts(etree.fromstring(write_ubl(light)))
    except FormatError:  # a model UBL cannot express: the value-by-value comparison still names losses
        log.warning("invoice %s: no UBL to compare its source's elements with", invoice.number)
        return ElementCounts()


def _output_rules(root: etree._Element, output: str, validate: str) -> list[Finding]:
    """The rules a written document is held to: what its input passed, and PEPPOL's for PEPPOL."""
    from invoice_hub.validation.structure import check_ap_agility, check_ubl

    findings: list[Finding] = []
    if output == "ap_agility":
        return check_ap_agility(root) if validate != "none" else []
    if validate != "none" or output == "peppol_bis3":
        findings += check_ubl(root, output)
    if output == "peppol_bis3":
        findings += check_rules(root, "peppol")
    elif validate in RULE_LEVELS:
        findings += check_rules(root, "en16931")
    return findings
