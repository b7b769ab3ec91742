"""Which encoding a file's byte order mark names: the one place that knows the marks, so that
recognising a file's format (``formats.read_document``, ``input: any``) and reading a CSV report
see the same encoding. Windows software writes UTF-16 with a mark (.NET's XmlWriter into a string,
Excel's "Unicode text"), and such a file must not be taken for something else."""

from __future__ import annotations

import codecs

#: UTF-32's marks before UTF-16's: UTF-32 LE's (FF FE 00 00) starts with UTF-16 LE's (FF FE).
#: The codecs named consume the mark.
_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def marked_encoding(prefix: bytes) -> str | None:
    """The encoding of a file starting with ``prefix``, by its byte order mark; None without one."""
    for mark, encoding in _MARKS:
        if prefix.startswith(mark):
            return encoding
    return None
