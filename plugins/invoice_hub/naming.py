"""Output file names from the ``transform.filename`` template."""

from __future__ import annotations

import datetime as dt
import posixpath

#: The default template per output format.
DEFAULT_TEMPLATES = {
    "passthrough": "{name}",
}


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
    """Render the output file name; placeholders are checked when the integration file is loaded."""
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
    name = (template or DEFAULT_TEMPLATES[output_format]).format(**values)
    # A name taken from the partner's data must not climb out of the destination folder.
    return name.replace("/", "_").replace("\\", "_").lstrip(".") or f"{sha256[:16]}{values['ext']}"
