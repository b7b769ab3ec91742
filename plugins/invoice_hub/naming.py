"""File names: the ``transform.filename`` template, and the one way a name from outside becomes safe.

Names come from partners (remote file names, mail attachment names) and from their data (invoice
numbers in templates). :func:`safe_name` turns any of them into one file name that every
destination type accepts: a local folder (ext4, tmpfs: 255 bytes, no NUL or ``/``), OpenSSH SFTP
and FTP/FTPS servers (UTF-8, no CR/LF: FTP commands are lines), an e-mail attachment name and
subject, an HTTP ``Content-Disposition`` header, and Windows shares the partner may use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
import unicodedata
from urllib.parse import quote

#: The default template per output format.
DEFAULT_TEMPLATES = {
    "passthrough": "{name}",
    "ubl": "{invoice_number}.xml",
    "peppol_bis3": "{invoice_number}.xml",
    "ap_agility": "{invoice_number}_{timestamp}.xml",  # as AP Agility names its exports
    "open_ar_csv": "{stem}.csv",
    "pdf": "{invoice_number}.pdf",
}

#: File systems allow 255 bytes per name (ext4, tmpfs, XFS; the SFTP and FTP servers' disks).
NAME_MAX_BYTES = 255
#: The longest name :func:`safe_name` returns, in UTF-8 bytes: what is added to it later must still fit
#: in 255 (the transports' temporary ``.NAME.xxxxxxxx.part``: +15, ``_N`` for a taken name, archive's
#: ``.error.json``: +11, staging's ``<key>-`` prefix).
MAX_NAME_BYTES = 200
#: Hex digits of the sha256 of the original name added to a name that had to change.
HASH_DIGITS = 12

_MARK = re.compile(rf"~[0-9a-f]{{{HASH_DIGITS}}}\Z")  # how a changed name ends, before its extension
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,16}\Z")
_LEADING = re.compile(r"\A[\s.-]+")
_TRAILING = re.compile(r"[\s.]+\Z")
#: Separators, and what Windows (and so a partner's SMB share) refuses; '"' would end a quoted header.
_FORBIDDEN = frozenset('/\\<>:"|?*')
#: Control (Cc: NUL, CR, LF, TAB, DEL, C1), format (Cf: bidi overrides that disguise an extension,
#: zero-width characters), lone surrogates (Cs: not encodable in UTF-8), line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Names Windows reserves for devices, whatever the extension (``CON.xml`` is the console).
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)


def _split_extension(name: str) -> tuple[str, str]:
    """Stem and extension; only a short ASCII extension (``.xml``, ``.pdf``) counts as one."""
    match = _EXTENSION.search(name)
    return (name[: match.start()], match.group()) if match else (name, "")


def extension(name: str) -> str:
    """The extension :func:`safe_name` keeps (``.xml``, ``.PDF``; '' when there is none that is safe)."""
    return _split_extension(_cleaned(name))[1]


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 at a character boundary, still NFC."""
    limit = max_bytes
    while len(text.encode("utf-8")) > max_bytes:
        cut = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
        # a combining mark left without what followed it could compose differently: renormalise
        text = unicodedata.normalize("NFC", cut.rstrip())
        limit -= 1
    return text


def _cleaned(name: str) -> str:
    text = unicodedata.normalize("NFC", name)
    text = "".join(
        "_" if c in _FORBIDDEN or unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text
    )
    # leading '.' hides a file, leading '-' reads as an option; Windows drops trailing dots and spaces,
    # servers may strip spaces around an argument
    return _TRAILING.sub("", _LEADING.sub("", text))


def safe_name(name: str, *, variant: str = "") -> str:
    """``name`` as one file name every destination type accepts, at most :data:`MAX_NAME_BYTES` bytes.

    A name that is already safe is returned as it is. Any other (too long, a control character, a
    separator, a hidden or option-like start, not NFC, a Windows device name) is cleaned, shortened
    and given ``~`` and the first :data:`HASH_DIGITS` hex digits of the sha256 of the original before
    its extension, which is kept: ``INV\\n1.xml`` -> ``INV_1~3b0c…e1.xml``. Distinct inputs never give
    the same result: a safe input that happens to end like a changed name (``~`` and 12 hex digits) is
    itself treated as changed. ``variant`` (e.g. the position of an attachment in its message) forces
    a hash of the name and the variant, for two things of the same name that must stay apart.
    """
    stem, extension = _split_extension(_cleaned(name))
    if stem.split(".")[0].upper() in _WINDOWS_DEVICES:
        stem = f"_{stem}"
    candidate = stem + extension
    if (
        not variant
        and candidate == name
        and stem
        and not _MARK.search(stem)
        and len(candidate.encode("utf-8")) <= MAX_NAME_BYTES
    ):
        return candidate
    # repr() is injective for pairs of strings and encodes lone surrogates, which UTF-8 cannot
    digest = hashlib.sha256(repr((name, variant)).encode("ascii", "backslashreplace")).hexdigest()
    suffix = f"~{digest[:HASH_DIGITS]}{extension}"
    stem = _TRAILING.sub("", _truncate(stem, MAX_NAME_BYTES - len(suffix))) or "file"
    return stem + suffix


def name_beside(name: str, suffix: str) -> str:
    """The name of a file written beside ``name`` (``INV-1.xml`` -> ``INV-1.xml.error.json``); when that
    would pass the file system's 255 bytes, the bounded :func:`safe_name` of ``name`` plus ``suffix``."""
    beside = name + suffix
    # a lone surrogate (a byte that was not UTF-8) counts 3 bytes here, 1 on disk: on the safe side
    if len(beside.encode("utf-8", "surrogatepass")) <= NAME_MAX_BYTES:
        return beside
    return safe_name(name) + suffix


def content_disposition(name: str) -> str:
    """An HTTP ``Content-Disposition`` value for a file called ``name`` (RFC 6266): an ASCII fallback in
    ``filename`` (HTTP/1.1 libraries send headers as Latin-1) and the UTF-8 name in ``filename*``."""
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace("\\", "_")
    fallback = fallback.replace('"', "_")
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


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
    """The output file name: the template rendered, made one safe, bounded file name by :func:`safe_name`
    (a value from the partner's data must not climb out of the destination folder or break a
    transport). The original values stay in the ledger (the source path, the invoice number)."""
    return safe_name(
        render_name(
            template or DEFAULT_TEMPLATES[output_format],
            source_name=source_name,
            sha256=sha256,
            extension=extension,
            invoice_number=invoice_number,
            now=now,
        )
    )
