"""Output file names from the ``transform.filename`` template."""

from __future__ import annotations

import datetime as dt
import posixpath
from pathlib import Path

#: The default template per output format.
DEFAULT_TEMPLATES = {
    "passthrough": "{name}",
    "ubl": "{invoice_number}.xml",
    "peppol_bis3": "{invoice_number}.xml",
    "ap_agility": "{invoice_number}_{timestamp}.xml",  # as AP Agility names its exports
    "open_ar_csv": "{stem}.csv",
    "pdf": "{invoice_number}.pdf",
}


def render_name(
    template: str,
    *,
    source_name: str,
    sha256: str = "",
    extension: str | None = None,
    invoice_number: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """``template`` with the placeholders of ``transform.filename`` filled in (checked at config load)."""
    now = now or dt.datetime.now(dt.UTC)
    stem, source_ext = posixpath.splitext(source_name)
    values = {
        "name": source_name,
        "stem": stem,
        "ext": extension if extension is not None else source_ext,
        "invoice_number": invoice_number or stem,
        "timestamp": now.strftime("%Y%m%dT%H%M%SZ"),
        "date": now.strftime("%Y-%m-%d"),
        "sha8": sha256[:8],
    }
    return template.format(**values)


def output_name(
    template: str | None,
    output_format: str,
    *,
    source_name: str,
    sha256: str,
    extension: str | None = None,
    invoice_number: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The output file name: the template rendered, made safe to use as one file name."""
    name = render_name(
        template or DEFAULT_TEMPLATES[output_format],
        source_name=source_name,
        sha256=sha256,
        extension=extension,
        invoice_number=invoice_number,
        now=now,
    )
    # A name taken from the partner's data must not climb out of the destination folder.
    return name.replace("/", "_").replace("\\", "_").lstrip(".") or f"{sha256[:16]}{Path(source_name).suffix}"
