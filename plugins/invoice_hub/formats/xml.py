"""Hardened XML parsing for partner documents: no entities, no DTDs, no network, bounded size.

Invoices come from outside the company; a document must not be able to read local files (external
entities), call out (network), or exhaust memory (entity expansion). Errors name the file and line.
"""

from __future__ import annotations

from lxml import etree

#: The largest document accepted. UBL embeds attachments base64-encoded, so a 200 MB PDF makes a
#: document of about 270 MB.
MAX_XML_BYTES = 400 * 1024 * 1024


class FormatError(ValueError):
    """A document that cannot be read, with the file (and line) in the message."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # long text nodes (embedded attachments); size is bounded by MAX_XML_BYTES
        remove_blank_text=False,
    )


def parse_xml(data: bytes, source: str) -> etree._Element:
    """The root element of ``data`` (read from ``source``, named in errors)."""
    if len(data) > MAX_XML_BYTES:
        raise FormatError(f"{source}: {len(data)} bytes is larger than the {MAX_XML_BYTES} accepted")
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise FormatError(f"{source}: DOCTYPE and ENTITY declarations are not accepted in invoices")
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = f", line {exc.lineno}" if exc.lineno else ""
        raise FormatError(f"{source}{line}: not well-formed XML: {exc.msg}") from None
