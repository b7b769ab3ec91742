"""Hardened XML parsing for partner documents: no entities, no DTDs, no network, bounded size; comments
and processing instructions dropped, so that each element's text is all of it.

Invoices come from outside the company; a document must not be able to read local files (external
entities), call out (network), or exhaust memory (entity expansion). Errors name the file and line.
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
from pathlib import Path

from lxml import etree

#: The largest document accepted. UBL embeds attachments base64-encoded, so a 200 MB PDF makes a
#: document of about 270 MB.
MAX_XML_BYTES = 400 * 1024 * 1024
_BASE64_CHUNK = 4 * 1024 * 1024  # characters decoded at a time
_WHITESPACE = b" \t\r\n"


class FormatError(ValueError):
    """A document that cannot be read, with the file (and line) in the message."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


_parsers = threading.local()


def hardened_parser(target: object = None) -> etree.XMLParser:
    """A parser for partner documents (``target``: an lxml parser target instead of a tree, as the
    streamed read-back of ``exchange.transform`` has). Every parser of the hub's is made here, so
    that all build the same tree.

    Comments and processing instructions are dropped while parsing, so that an element's ``.text``
    is its whole character content: ``1656<!-- -->.25`` is 1656.25, as XPath's string value (what
    CEN's rules and every XML consumer read) has it, not 1656; a note starting with ``<?pi?>`` keeps
    its text. Neither is part of any value of an invoice.
    """
    return etree.XMLParser(
        target=target,  # type: ignore[arg-type]  # lxml-stubs' ParserTarget is stricter than lxml (comment() optional, start/end may return elements)
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # long text nodes (embedded attachments); size is bounded by MAX_XML_BYTES
        remove_blank_text=False,
        remove_comments=True,
        remove_pis=True,
    )


def _parser() -> etree.XMLParser:
    """This thread's hardened parser. One per thread, not one per document: a new parser also builds
    a new libxml2 parser context at its first parse, a cost of every small document; a parser is
    reusable, but not by two threads at once."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = hardened_parser()
    return parser


def parse_xml(document: bytes | Path, source: str) -> etree._Element:
    """The root element of ``document`` (bytes, or a file parsed without reading it into memory first).

    ``source`` names the document in errors. The parser never resolves entities nor loads a DTD, so
    a DOCTYPE cannot do harm while parsing; it is refused afterwards all the same, as no invoice
    format has one.
    """
    size = document.stat().st_size if isinstance(document, Path) else len(document)
    if size > MAX_XML_BYTES:
        raise FormatError(f"{source}: {size} bytes is larger than the {MAX_XML_BYTES} accepted")
    try:
        if isinstance(document, Path):
            tree = etree.parse(str(document), _parser())
        else:
            tree = etree.ElementTree(etree.fromstring(document, _parser()))
    except etree.XMLSyntaxError as exc:
        line = f", line {exc.lineno}" if exc.lineno else ""
        raise FormatError(f"{source}{line}: not well-formed XML: {exc.msg}", exc.lineno) from None
    except OSError as exc:
        raise FormatError(f"{source}: cannot read: {exc}") from None
    docinfo = tree.docinfo  # a new object at every access
    if docinfo.doctype or docinfo.internalDTD is not None:  # type: ignore[union-attr]  # stubs lack doctype
        raise FormatError(f"{source}: DOCTYPE and ENTITY declarations are not accepted in invoices")
    return tree.getroot()


def take_base64(element: etree._Element, source: str) -> bytes:
    """The decoded content of a base64 element, which is emptied.

    A 200 MB attachment is 270 MB of text; it is held once by the tree and once as a Python string.
    Emptying the element frees the tree's copy before the bytes are built, and decoding in chunks
    avoids a third copy (the ``bytes`` that ``b64decode`` would make of the whole string first).
    """
    text = element.text or ""
    line = element.sourceline
    element.text = None
    decoded = io.BytesIO()
    carry = b""
    try:
        for start in range(0, len(text), _BASE64_CHUNK):
            chunk = carry + text[start : start + _BASE64_CHUNK].encode("ascii").translate(None, _WHITESPACE)
            usable = len(chunk) - len(chunk) % 4
            decoded.write(base64.b64decode(chunk[:usable], validate=True))
            carry = chunk[usable:]
        if carry:
            raise binascii.Error("incomplete final group")
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise FormatError(f"{source}, line {line}: {element.tag} is not valid base64 ({exc})") from None
    return decoded.getvalue()
