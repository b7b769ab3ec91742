"""Documents from the store, served so that a partner's file can never run in the dashboard's origin.

Invoices come from outside the company: an "XML" may hold script, an "PDF" may be HTML. So nothing
is served with a type the browser would render as a page: XML and everything unknown go out as
``text/plain``, PDFs and images as what they are, always with ``nosniff``, a ``Content-Disposition``
with the file's name and a CSP of their own that allows no script (``sandbox`` where a PDF viewer
does not need to run).
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass

from fastapi import Response
from lxml import etree

from invoice_hub.document_store import DocumentStore
from invoice_hub.formats.xml import FormatError, parse_xml

#: Shown formatted up to this size; larger documents are offered as a download only.
MAX_FORMATTED_BYTES = 5 * 1024 * 1024
#: Types a browser shows inline without running anything of the document's.
_INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff"})
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


@dataclass(frozen=True)
class Document:
    """One stored document of a transaction, as its page lists it (the store URL never leaves the server)."""

    kind: str  # source | canonical | rendered (the ledger's roles) | attachment (inside the invoice)
    name: str
    url: str | None = None  # the document store's URL; None for an attachment inside the invoice
    content: bytes | None = None  # an attachment's bytes

    @property
    def media_type(self) -> str:
        guessed, _ = mimetypes.guess_type(self.name)
        return guessed or "application/octet-stream"

    @property
    def is_xml(self) -> bool:
        return self.name.lower().endswith(".xml") or self.media_type in {"application/xml", "text/xml"}

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"

    def read(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.url is not None
        with DocumentStore.open(self.url) as reader:
            return reader.read()


def safe_filename(name: str) -> str:
    """The name for ``Content-Disposition``: what a header can carry without quoting tricks."""
    cleaned = _UNSAFE_NAME.sub("_", name.rsplit("/", 1)[-1]).strip() or "document"
    return cleaned[:150]


def document_response(document: Document, *, download: bool = False) -> Response:
    """The document's bytes, in a type that renders nothing of its own."""
    media_type = document.media_type
    inline = not download and media_type in _INLINE_TYPES
    served = media_type if media_type in _INLINE_TYPES else "text/plain; charset=utf-8"
    if download:
        served = "application/octet-stream"
    disposition = "inline" if inline or (not download and served.startswith("text/plain")) else "attachment"
    policy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    if not document.is_pdf:  # a PDF viewer is a plugin that a sandbox stops; nothing else needs one
        policy += "; sandbox"
    return Response(
        document.read(),
        media_type=served,
        headers={
            "Content-Disposition": f'{disposition}; filename="{safe_filename(document.name)}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": policy,
            "Cache-Control": "private, no-store",
        },
    )


def formatted_xml(data: bytes, name: str) -> str | None:
    """The XML indented for reading (parsed as hardened as the hub parses invoices), or None when it
    is too large or not well-formed (then the page offers the raw file). Attachments embedded as
    base64 are shortened: a reader wants the structure, not megabytes of base64."""
    if len(data) > MAX_FORMATTED_BYTES:
        return None
    try:
        root = parse_xml(data, name)
    except FormatError:
        return None
    for element in root.iter():
        text = element.text
        if text and len(text) > 2000 and not len(element):
            element.text = f"{text[:120]}… ({len(text)} characters)"
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")
