"""The name sanitiser, property-based (hypothesis): any text becomes a name every destination accepts.

Each destination's rule is checked the way the destination itself checks it: ``os.open`` in a real
folder (with the temporary, suffixed and reason names the transports and archive add), ftplib's own
command line check and encoding, the SFTP path rules, the SMTP provider's MIME message as smtplib
sends it (ASCII) and read back, and the HTTP header as requests validates and http.client encodes it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ftplib
import os
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests.utils
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from invoice_hub.naming import (
    MAX_NAME_BYTES,
    NAME_MAX_BYTES,
    content_disposition,
    name_beside,
    output_name,
    render_name,
    safe_name,
)

#: Any text, weighted towards what hurts: controls, separators, dots, long runs, combining marks.
HOSTILE = st.text(
    st.one_of(
        st.characters(codec=None),  # anything, lone surrogates included
        st.sampled_from(list('\x00\r\n\t\x1b\x7f\x85\u2028\u202e\u200b/\\.-:*?"<>| ~\u0301\ufffd')),
        st.sampled_from(["é", "ü", "€", "漢", "😀", "\U0010fffd"]),
    ),
    max_size=400,
)
LONG = st.integers(min_value=190, max_value=600).map(lambda n: "Ä" * (n // 2) + ".xml")
NAMES = st.one_of(HOSTILE, LONG, st.sampled_from(["CON.xml", "nul", ".hidden.xml", "-rf", "", ".", ".."]))
SETTINGS = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A real folder on the machine's file system (the tests' tmp, like a destination folder)."""
    with tempfile.TemporaryDirectory(prefix="invoice-hub-names-") as path:
        yield Path(path)


def accepted_by_folder(folder: Path, name: str) -> None:
    """Created, with what the transports and archive add to it, as files in a real folder."""
    stem, ext = os.path.splitext(name)
    for variant in (name, f".{name}.0123abcd.part", f"{stem}_99{ext}", name_beside(name, ".error.json")):
        fd = os.open(folder / variant, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        assert os.listdir(folder) == [variant], "one file, under exactly this name"
        os.unlink(folder / variant)


class _Socket:
    def __init__(self) -> None:
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def accepted_by_ftp(name: str) -> None:
    """ftplib's own rules for a command line (no CR/LF, its encoding): what STOR and RNTO send."""
    client = ftplib.FTP()
    client.sock = _Socket()  # type: ignore[assignment]
    client.putcmd(f"STOR .{name}.0123abcd.part")
    client.putcmd(f"RNTO {name}")
    assert client.sock.sent.count(b"\r\n") == 2  # type: ignore[attr-defined]
    assert name == name.strip(), "servers strip leading and trailing spaces from arguments"


def accepted_by_sftp(name: str) -> None:
    """SFTP paths are UTF-8 strings joined by '/', NUL-free on an OpenSSH server (a POSIX disk)."""
    name.encode("utf-8")  # strict: a lone surrogate raises
    assert "/" not in name and "\x00" not in name and name not in (".", "..")


def accepted_by_email(folder: Path, name: str) -> None:
    """The SMTP provider's MIME message for the file (as transports/email.py sends it) is ASCII, as
    smtplib.sendmail requires of a str message, and a mail reader gets the name and subject back."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    attachment = folder / name
    attachment.write_bytes(b"<Invoice/>")
    try:
        subject = render_name("Invoice {name} from ACME", source_name=name)
        message, _ = SmtpHook(smtp_conn_id="unused")._build_mime_message(
            mail_from="hub@example.com",
            to=["ap@customer.example"],
            subject=subject,
            html_content=f"<p>Attached: {name}</p>",
            files=[str(attachment)],
        )
        sent = message.as_string().encode("ascii")
    finally:
        attachment.unlink()
    received = email.message_from_bytes(sent, policy=email.policy.default)
    assert str(received["Subject"]) == subject
    (part,) = list(received.iter_attachments())
    assert part.get_filename() == name


def accepted_by_http(name: str) -> None:
    """Content-Disposition as requests validates and http.client encodes (Latin-1), read back."""
    value = content_disposition(name)
    requests.utils.check_header_validity(("Content-Disposition", value))
    value.encode("latin-1")
    if "filename*=" in value:
        assert unquote(value.split("filename*=UTF-8''", 1)[1], errors="strict") == name
    else:
        assert value == f'attachment; filename="{name}"'


def assert_safe(folder: Path, name: str) -> None:
    assert name, "never empty"
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert unicodedata.is_normalized("NFC", name)
    assert not name.startswith((".", "-", " ")) and not name.endswith((".", " "))
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name)
    accepted_by_sftp(name)
    accepted_by_ftp(name)
    accepted_by_folder(folder, name)
    accepted_by_email(folder, name)
    accepted_by_http(name)


@SETTINGS
@given(NAMES)
@example("INV\r\n1.xml")
@example("a\x00b.pdf")
@example("A" * 300 + ".xml")
def test_any_name_is_accepted_by_every_destination(folder: Path, name: str) -> None:
    assert_safe(folder, safe_name(name))


@SETTINGS
@given(
    NAMES,
    NAMES,
    st.sampled_from([None, "{invoice_number}.xml", "{invoice_number}_{timestamp}.xml", "{stem}_{sha8}{ext}"]),
)
@example("INV-1.xml", "INV\r\n1\x00" + "9" * 300, "{invoice_number}.xml")
def test_any_template_value_gives_a_name_every_destination_accepts(
    folder: Path, source_name: str, invoice_number: str, template: str | None
) -> None:
    """output_name (every transfer's and export's file name) with hostile source names and numbers."""
    name = output_name(
        template,
        "ubl" if template is None else "ap_agility",
        source_name=source_name,
        sha256="ab" * 32,
        extension=".xml",
        invoice_number=invoice_number,
        now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    assert_safe(folder, name)


@SETTINGS
@given(st.lists(NAMES, unique=True, max_size=30), st.data())
def test_distinct_names_never_collide(names: list[str], data: st.DataObject) -> None:
    """Also when some inputs are the outputs of others (a partner naming a file like a changed name)."""
    copies = data.draw(st.lists(st.sampled_from(names), max_size=5)) if names else []
    inputs = list(dict.fromkeys(names + [safe_name(n) for n in copies]))
    outputs = [safe_name(n) for n in inputs]
    assert len(set(outputs)) == len(inputs), dict(zip(inputs, outputs, strict=True))


def test_safe_names_stay_as_they_are_and_changed_ones_keep_their_extension() -> None:
    assert safe_name("INV-2026-001.xml") == "INV-2026-001.xml"
    assert safe_name("Rechnung Müller 7.pdf") == "Rechnung Müller 7.pdf"
    changed = safe_name("INV\r\n1.xml")
    assert changed.startswith("INV__1~") and changed.endswith(".xml")
    assert safe_name("INV\r\n1.xml") == changed, "stable: the same input gives the same name in every run"
    long = safe_name("A" * 300 + ".xml")
    assert long.endswith(".xml") and len(long.encode()) == MAX_NAME_BYTES
    assert safe_name("../../etc/passwd").startswith("_.._etc_passwd~")
    assert safe_name("CON.xml").startswith("_CON")
    assert safe_name("a.xml", variant="part 3") != safe_name("a.xml", variant="part 4")


def test_the_reason_file_beside_a_long_name_is_bounded(folder: Path) -> None:
    name = "Z" * 250 + ".xml"  # a name the source's file system holds, but not with ".error.json"
    assert name_beside("INV-1.xml", ".error.json") == "INV-1.xml.error.json"
    beside = name_beside(name, ".error.json")
    assert beside.endswith(".xml.error.json") and len(beside.encode()) <= NAME_MAX_BYTES
    accepted_by_folder(folder, safe_name(name))
