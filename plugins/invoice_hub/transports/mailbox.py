"""POP3 and IMAP mailboxes as sources: the invoice files are the attachments whose names match.

Each attachment is one file at the source, addressed ``/MAILBOX/MESSAGE-ID/ATTACHMENT``: the
Message-ID makes a message's files the same files however often it is listed, so the ledger
processes a message once. Every attachment is its own file, also when two have the same name: the
second and later of a name get a name of their own made from their position in the message (stable:
the same message listed again gives the same names), so no content is dropped. The attachment's
name stays as the partner gave it in the path (and so in the ledger), but for what no database or
UTF-8 can hold (NUL, lone surrogates); the file names made from it are safe ones (see naming.py).

``on_success`` / ``on_failure`` act on whole messages (delete; IMAP also moves to a folder), once
every attachment of the message that matches the pattern has the same outcome; a message whose
attachments ended differently (or one of whose matching attachments was not processed) is kept,
so nothing is lost. A message without a matching
attachment is reported in the log of ``wait_for_files`` every run until someone deals with it.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import fnmatch
import imaplib
import poplib
import posixpath
import re
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import BinaryIO, cast

from invoice_hub.naming import safe_name
from invoice_hub.transports.base import Readable, RemoteFile, Transport, TransportError

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]+")
_TRANSIENT = (OSError, EOFError, imaplib.IMAP4.abort, poplib.error_proto)


@dataclass
class _Message:
    server_id: str  # IMAP UID or POP3 UIDL
    key: str  # the Message-ID, made safe as one path segment
    mtime: float
    subject: str
    attachments: dict[str, bytes] = field(default_factory=dict)  # unique name in the message -> content


def _message_key(message: EmailMessage, fallback: str) -> str:
    message_id = (message.get("Message-ID") or "").strip().strip("<>")
    return _UNSAFE.sub("_", message_id) or f"no-message-id-{fallback}"


def _parse(raw: bytes, server_id: str) -> _Message:
    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        stamp = parsedate_to_datetime(message["Date"]).timestamp() if message["Date"] else 0.0
    except (TypeError, ValueError):
        stamp = 0.0
    parsed = _Message(server_id, _message_key(message, server_id), stamp, str(message.get("Subject", "")))
    for position, part in enumerate(message.walk()):
        name = part.get_filename()
        if name and not part.is_multipart():
            name = _attachment_name(name)
            variant = 0
            while name in parsed.attachments:  # a second attachment of this name: one of its own
                variant += 1
                name = safe_name(name, variant=f"part {position}.{variant}")
            # decoded, a part that is not multipart is its bytes (typeshed also allows a Message)
            parsed.attachments[name] = cast("bytes | None", part.get_payload(decode=True)) or b""
    return parsed


def _attachment_name(name: str) -> str:
    """The attachment's name as one path segment: its last part (no folders), without what a ledger
    database or UTF-8 cannot hold (NUL, lone surrogates: replaced by U+FFFD)."""
    name = posixpath.basename(name.replace("\\", "/"))
    name = "".join("\ufffd" if c == "\0" or "\ud800" <= c <= "\udfff" else c for c in name)
    return name or "attachment"


class MailTransport(Transport):
    """What POP3 and IMAP share: an index of messages, and whole-message archive actions."""

    def __init__(self, conn_id: str, mailbox: str, pattern: str = "*") -> None:
        self.conn_id = conn_id
        self.mailbox = mailbox
        self.pattern = pattern  # source.pattern: the attachments that must all end alike to archive
        self._index: dict[str, _Message] | None = None
        self._pending: dict[str, set[tuple[str, str]]] = {}  # message key -> {(action, folder)}
        self._decided: dict[str, set[str]] = {}  # message key -> attachment names with an outcome
        self.notices: list[str] = []

    # --- reading ----------------------------------------------------------------------------
    def _messages(self) -> dict[str, _Message]:
        if self._index is None:
            self._index = {m.key: m for m in self._fetch_all()}
        return self._index

    def _fetch_all(self) -> list[_Message]:
        raise NotImplementedError

    def _split(self, path: str) -> tuple[_Message, str]:
        parts = path.strip("/").split("/")
        if len(parts) < 3:
            raise TransportError(
                f"{self.label}: {path} is not MAILBOX/MESSAGE-ID/ATTACHMENT", retryable=False
            )
        message = self._messages().get(parts[-2])
        if message is None or parts[-1] not in message.attachments:
            raise TransportError(f"{self.label}: {path} is no longer in the mailbox", retryable=False)
        return message, parts[-1]

    def source_root(self, folder: str) -> str:
        """Attachments are named below the mailbox read, whatever ``path`` says (POP3 ignores it)."""
        return f"/{self.mailbox}"

    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        files = []
        for message in self._messages().values():
            if not message.attachments:
                self.notices.append(
                    f"message {message.key} ({message.subject!r}) has no attachment; it stays in the mailbox"
                )
            for name, content in message.attachments.items():
                files.append(RemoteFile(f"/{self.mailbox}/{message.key}/{name}", len(content), message.mtime))
        return files

    def notices_after_selection(self, chosen: list[RemoteFile]) -> list[str]:
        """Messages without any attachment, or with none matching the pattern: they need a person."""
        with_match = {posixpath.dirname(f.path) for f in chosen}
        for message in self._messages().values():
            if message.attachments and f"/{self.mailbox}/{message.key}" not in with_match:
                names = ", ".join(sorted(message.attachments))
                self.notices.append(
                    f"message {message.key} ({message.subject!r}) has no attachment matching "
                    f"the pattern (has: {names}); it stays in the mailbox"
                )
        return self.notices

    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        message, name = self._split(path)
        into.write(message.attachments[name])

    # --- archive actions, applied per message on close ------------------------------------
    def delete(self, path: str) -> None:
        self._decide(path, ("delete", ""))

    def move(self, path: str, folder: str) -> str:
        self._decide(path, ("move", folder.strip("/")))
        return f"/{folder.strip('/')}/{'/'.join(path.strip('/').split('/')[-2:])}"

    def _decide(self, path: str, action: tuple[str, str]) -> None:
        message, name = self._split(path)
        self._pending.setdefault(message.key, set()).add(action)
        self._decided.setdefault(message.key, set()).add(name)

    def write_text(self, path: str, text: str) -> None:
        """A mailbox has no place for a file beside a message: the reason stays in the ledger and the log."""

    def close(self) -> None:
        try:
            for key, actions in self._pending.items():
                message = self._messages()[key]
                # the pattern alone, not the rule that skips hidden names: an attachment ".x.xml" that
                # was never processed keeps its message in the mailbox rather than being deleted with it
                wanted = {name for name in message.attachments if fnmatch.fnmatchcase(name, self.pattern)}
                if len(actions) > 1 or not wanted <= self._decided[key]:
                    self.notices.append(
                        f"message {key}: its attachments ended differently; it stays in the mailbox"
                    )
                    continue
                ((action, folder),) = actions
                self._apply(message, action, folder)
        except _TRANSIENT as exc:
            raise TransportError(f"{self.label}: cannot archive messages: {exc}") from exc
        finally:
            self._pending.clear()
            self._logout()

    def _apply(self, message: _Message, action: str, folder: str) -> None:
        raise NotImplementedError

    def _logout(self) -> None:
        raise NotImplementedError

    def exists(self, path: str) -> int | None:
        """The size of the attachment at ``path``, None when its message is gone (archive asks this)."""
        parts = path.strip("/").split("/")
        message = self._messages().get(parts[-2]) if len(parts) >= 3 else None
        if message is None or parts[-1] not in message.attachments:
            return None
        return len(message.attachments[parts[-1]])

    # --- never a destination --------------------------------------------------------------

    def upload(self, local: Readable, path: str, *, replace: bool) -> None:
        raise TransportError(f"{self.label} can only be a source", retryable=False)

    def make_folder(self, folder: str) -> None:
        raise TransportError(f"{self.label} can only be a source", retryable=False)


def _login_error(label: str, exc: Exception) -> TransportError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(
            f"{label}: the server's TLS certificate is not trusted ({exc.verify_message}); "
            "give its CA as ca_bundle in the connection's extra",
            retryable=False,
        )
    if isinstance(exc, socket.gaierror):
        return TransportError(f"{label}: host name not found (DNS): {exc.strerror}")
    if isinstance(exc, imaplib.IMAP4.error | poplib.error_proto) and not isinstance(exc, imaplib.IMAP4.abort):
        return TransportError(
            f"{label}: login refused: {exc}; check the connection's login and password", retryable=False
        )
    return TransportError(f"{label}: cannot connect: {exc}")


class ImapTransport(MailTransport):
    def __init__(self, conn_id: str, mailbox: str, pattern: str = "*") -> None:
        super().__init__(conn_id, mailbox.strip("/") or "INBOX", pattern)
        self.label = f"imap:{conn_id}"
        self._client: imaplib.IMAP4 | None = None

    @property
    def client(self) -> imaplib.IMAP4:
        if self._client is None:
            from invoice_hub.hooks.mailbox import HubImapHook

            try:
                client = HubImapHook(imap_conn_id=self.conn_id).get_conn().mail_client
                assert client is not None  # get_conn() builds the client
                self._client = client
                status, _ = client.select(_quote(self.mailbox))
            except (*_TRANSIENT, imaplib.IMAP4.error, ssl.SSLError) as exc:
                raise _login_error(self.label, exc) from exc
            if status != "OK":
                raise TransportError(f"{self.label}: mailbox {self.mailbox} does not exist", retryable=False)
        return self._client

    def _fetch_all(self) -> list[_Message]:
        try:
            status, data = self.client.uid("SEARCH", "NOT", "DELETED")
            uids = data[0].split() if status == "OK" and data and data[0] else []
            if not uids:
                return []
            status, data = self.client.uid("FETCH", b",".join(uids).decode(), "(UID BODY.PEEK[])")
        except _TRANSIENT as exc:
            raise TransportError(f"{self.label}: cannot read mailbox {self.mailbox}: {exc}") from exc
        messages = []
        for item in data:
            if isinstance(item, tuple):
                uid = re.search(rb"UID (\d+)", item[0])
                messages.append(_parse(item[1], uid.group(1).decode() if uid else "?"))
        return messages

    def _apply(self, message: _Message, action: str, folder: str) -> None:
        if action == "move":
            self.client.create(_quote(folder))  # fails harmlessly when it exists
            if "MOVE" in self.client.capabilities:
                status, detail = self.client.uid("MOVE", message.server_id, _quote(folder))
                if status != "OK":
                    raise TransportError(
                        f"{self.label}: cannot move message {message.key} to {folder}: {detail}"
                    )
                return
            self.client.uid("COPY", message.server_id, _quote(folder))
        self.client.uid("STORE", message.server_id, "+FLAGS", "(\\Deleted)")
        self.client.expunge()

    def _logout(self) -> None:
        if self._client is not None:
            with contextlib.suppress(*_TRANSIENT, imaplib.IMAP4.error):
                self._client.logout()
            self._client = None


class Pop3Transport(MailTransport):
    def __init__(self, conn_id: str, pattern: str = "*") -> None:
        super().__init__(conn_id, "INBOX", pattern)
        self.label = f"pop3:{conn_id}"
        self._client: poplib.POP3 | None = None
        self._numbers: dict[str, int] = {}  # UIDL -> message number of this session

    @property
    def client(self) -> poplib.POP3:
        if self._client is None:
            from invoice_hub.hooks.mailbox import Pop3Hook

            try:
                self._client = Pop3Hook(self.conn_id).get_conn()
            except (*_TRANSIENT, ssl.SSLError) as exc:
                raise _login_error(self.label, exc) from exc
        return self._client

    def _fetch_all(self) -> list[_Message]:
        messages = []
        try:
            _, listing, _ = self.client.uidl()
            for line in listing:
                number, uidl = line.decode().split(None, 1)
                self._numbers[uidl] = int(number)
                _, lines, _ = self.client.retr(int(number))  # RETR does not delete: only DELE + QUIT do
                messages.append(_parse(b"\r\n".join(lines), uidl))
        except _TRANSIENT as exc:
            raise TransportError(f"{self.label}: cannot read the mailbox: {exc}") from exc
        return messages

    def _apply(self, message: _Message, action: str, folder: str) -> None:
        if action == "move":
            raise TransportError(
                f"{self.label}: POP3 has no folders to move {message.key} to", retryable=False
            )
        self.client.dele(self._numbers[message.server_id])

    def _logout(self) -> None:
        if self._client is not None:
            with contextlib.suppress(*_TRANSIENT):
                self._client.quit()  # QUIT commits the deletions
            self._client = None


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
