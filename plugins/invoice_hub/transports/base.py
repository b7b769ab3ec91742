"""What every transport (local folder, SFTP, FTP/FTPS, mail, HTTP) offers the hub's tasks.

A transport is opened once per task (one login serves all files) and used as a context manager.
The selection rules shared by every source (pattern, minimum age, root files) live in
``selection.py``, not in each transport.
"""

from __future__ import annotations

import abc
import hashlib
import posixpath
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NoReturn, Protocol, Self

from invoice_hub.config.models import IfExists
from invoice_hub.errors import HubError


@dataclass(frozen=True)
class RemoteFile:
    """A file as listed at a source: enough to tell a new version from one already seen."""

    path: str  # full path at the source, "/"-separated
    size: int
    mtime: float  # seconds since the epoch, UTC

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


class Readable(Protocol):
    """What an upload reads from: a local :class:`~pathlib.Path`, or a staged file on an object store
    (its ObjectStoragePath, or a small one's bytes read with its batch: ``staging.StagedBytes``), so
    that a delivery from S3 staging streams to the destination with no temporary local copy."""

    @property
    def name(self) -> str: ...

    def open(self, mode: str) -> Any: ...

    def read_bytes(self) -> bytes: ...

    def stat(self) -> Any: ...  # with st_size


class TransportError(HubError):
    """A failure talking to a partner, with the remote path in the message. ``retryable`` guides retries."""


class ConnectError(TransportError):
    """Connecting or logging in failed: it concerns every file of the destination or source, not one.

    Deliver fails the destination (the files stay where they are, nothing is marked failed) rather
    than each file; ``retryable`` says whether a retry can help (a refused login cannot)."""


class TargetExistsError(TransportError):
    """The target name is taken and ``if_exists: fail`` (or a race took the name picked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def file_error(exc: BaseException, label: str, path: str) -> TransportError:
    """Whatever one file's transfer raised, as the TransportError of that file alone; a
    :class:`ConnectError` is raised again, as it concerns every file.

    A name the remote side or a library cannot take (a NUL byte, a header that cannot be encoded)
    raises ValueError, UnicodeError and the like: that file fails, the others go on. A broken
    connection (OSError) is worth a retry; the hub's own errors say themselves.
    """
    if isinstance(exc, ConnectError):
        raise exc  # not one file's: the whole transfer stops
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, HubError):
        return TransportError(str(exc), retryable=exc.retryable)
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):
        return TransportError(f"{label}: cannot transfer {path}: {detail}")
    return TransportError(f"{label}: cannot transfer {path!r}: {detail}", retryable=False)


#: ``.INV-1.xml.1a2b3c4d.part``: where an upload is written before its rename to ``INV-1.xml``.
_PARTIAL = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.part")


def partial_path(target: str) -> str:
    """The temporary name an upload to ``target`` is written under, in the same folder (so the rename
    is atomic); hidden, never matched as input, recognisable by :meth:`Transport.discard_partials`."""
    folder, name = posixpath.split(target)
    return posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.part")


class _HashingWriter:
    """A write-only file that hashes what is written to it (content proof without a local copy)."""

    def __init__(self) -> None:
        self.sha256, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


class Transport(abc.ABC):
    """One open connection to a source or destination."""

    #: Shown in logs, messages and the ledger's destination key, e.g. "local:/data/out" (never secrets).
    label: str

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - transports without a connection have nothing to close
        """Log out."""

    def download_many(self, jobs: list[tuple[str, Path]]) -> list[TransportError | None]:
        """Each (remote path, local path) downloaded; per job None, or the error that retrying cannot fix.

        Thousands of small invoices are bound by round trips: transports that can keep many requests
        in flight override this; the default takes the files one at a time. Retryable errors raise.
        """
        results: list[TransportError | None] = []
        for path, local in jobs:
            try:
                with local.open("wb") as sink:
                    self.download(path, sink)
            except TransportError as exc:
                if exc.retryable or isinstance(exc, ConnectError):  # not this file's: every file's
                    raise
                results.append(exc)
            else:
                results.append(None)
        return results

    def upload_many(self, jobs: list[tuple[Readable, str, bool]]) -> list[TransportError | None]:
        """Each (source, remote path, replace) uploaded as :meth:`upload` does; per job None or its error."""
        results: list[TransportError | None] = []
        for local, path, replace in jobs:
            try:
                self.upload(local, path, replace=replace)
            except Exception as exc:  # one file's error is that file's (see file_error)
                results.append(file_error(exc, self.label, path))
            else:
                results.append(None)
        return results

    def resolve(self, path: str) -> str:
        """``path`` as this transport names files in listings: absolute and normalised."""
        return posixpath.normpath(posixpath.join("/", path))

    # --- as a source ------------------------------------------------------------------------
    def source_root(self, folder: str) -> str:
        """The folder every path :meth:`list_files` gives for ``folder`` must lie in (see
        ``selection.confine``): ``folder`` as resolved, unless the transport names files otherwise."""
        return self.resolve(folder)

    @abc.abstractmethod
    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        """Every file below ``folder``, in one round trip per folder."""

    @abc.abstractmethod
    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        """Stream the file at ``path`` into ``into``; ``size``, when the listing gave it, saves a round trip."""

    @abc.abstractmethod
    def delete(self, path: str) -> None: ...

    @abc.abstractmethod
    def move(self, path: str, folder: str) -> str:
        """Move ``path`` into ``folder`` (created when missing), under a unique name; return the new path."""

    def probe(self, folder: str, *, as_destination: bool) -> str:
        """Log in and look at ``folder``: what ``invoice-hub check-connection`` reports as OK."""
        try:
            files = self.list_files(folder, recursive=False)
        except TransportError as exc:
            if as_destination and "does not exist" in str(exc):
                return f"logged in; {self.resolve(folder)} does not exist yet (the first delivery creates it)"
            raise
        return f"logged in; {len(files)} file(s) in {self.resolve(folder)}"

    def notices_after_selection(self, chosen: list[RemoteFile]) -> list[str]:
        """Things at the source a person should know about, given the files chosen (e.g. a mail
        without a matching attachment). Most sources have none."""
        return []

    # --- as a destination -------------------------------------------------------------------
    @abc.abstractmethod
    def exists(self, path: str) -> int | None:
        """The size of the file at ``path``, or None when there is none."""

    @abc.abstractmethod
    def upload(self, local: Readable, path: str, *, replace: bool) -> None:
        """Write ``local`` to ``path`` atomically: a temporary name in the same folder, then a rename.

        Without ``replace`` an existing ``path`` raises :class:`TargetExistsError` and stays as it is.
        """

    @abc.abstractmethod
    def make_folder(self, folder: str) -> None: ...

    def holds(self, path: str, sha256: str, size: int) -> bool:
        """Whether the file at ``path`` has exactly this content: what confirms a delivery whose record
        was not completed (a crash between upload and record). Never by size alone: after a failed
        ``replace`` upload the old file of the same size is still there.

        Transports whose server computes a checksum (FTP ``HASH``) override this; the default
        downloads and hashes the file, which only pending deliveries after a crash pay for.
        """
        if self.exists(path) != size:
            return False
        writer = _HashingWriter()
        try:
            # download() takes a BinaryIO, but every transport's only writes to it: all _HashingWriter does
            self.download(self.resolve(path), writer, size)  # type: ignore[arg-type]  # see above
        except TransportError as exc:
            if exc.retryable:
                raise
            return False  # gone or unreadable meanwhile: not proven, upload again
        return writer.size == size and writer.sha256.hexdigest() == sha256

    def discard_partials(self, folder: str, names: set[str]) -> None:
        """Remove the temporary files (see :func:`partial_path`) that uploads of ``names`` into
        ``folder`` left when a worker died before renaming them: one listing for the folder."""
        try:
            listed = self.list_files(folder, recursive=False)
        except TransportError as exc:
            if exc.retryable:
                raise
            return  # the folder does not exist (yet): nothing left over
        for remote in listed:
            match = _PARTIAL.fullmatch(remote.name)
            if match and match["name"] in names:
                self.delete(remote.path)

    def write_text(self, path: str, text: str) -> None:
        """A small text file written whole (the failure reason beside a moved file), replacing any."""
        with tempfile.TemporaryDirectory(prefix="invoice-hub-") as folder:
            local = Path(folder) / "text"
            local.write_text(text, encoding="utf-8")
            self.upload(local, path, replace=True)

    def destination_key(self, folder: str) -> str:
        """What identifies this destination in the ledger (a delivery is made once per key and output)."""
        return f"{self.label}:{folder}"

    def target_path(
        self, folder: str, name: str, if_exists: IfExists, taken: frozenset[str] = frozenset()
    ) -> str:
        """The path an output called ``name`` will be written to under the ``if_exists`` policy; ``taken``
        are paths already promised to other outputs of the same delivery."""
        path = posixpath.join(folder, name)
        if if_exists == "replace" or (self.exists(path) is None and path not in taken):
            return path
        if if_exists == "fail":
            raise TargetExistsError(
                f"{self.label}: {path} exists already; set if_exists: unique or replace on this destination"
            )
        return self.free_name(folder, name, taken)

    def free_name(self, folder: str, name: str, taken: frozenset[str] = frozenset()) -> str:
        """``name``, else ``stem_1.ext``, ``stem_2.ext``, ... whichever is free in ``folder``."""
        stem, ext = posixpath.splitext(name)
        counter = 0
        candidate = posixpath.join(folder, name)
        while candidate in taken or self.exists(candidate) is not None:
            counter += 1
            candidate = posixpath.join(folder, f"{stem}_{counter}{ext}")
        return candidate


class SendOnlyTransport(Transport):
    """A destination that sends rather than stores (e-mail, HTTP): nothing to list, move or overwrite.

    Such a destination has no folder to check for an existing name; ``if_exists`` does not apply and
    the ledger alone makes each output go out once.
    """

    def _not_a_source(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TransportError(f"{self.label} can only be a destination", retryable=False)

    list_files = download = delete = move = _not_a_source

    def exists(self, path: str) -> int | None:
        return None

    def holds(self, path: str, sha256: str, size: int) -> bool:
        return False  # what was sent cannot be read back: a pending send is sent again, same id

    def discard_partials(self, folder: str, names: set[str]) -> None:
        pass

    @abc.abstractmethod
    def upload(self, local: Readable, path: str, *, replace: bool, delivery_id: str | None = None) -> None:
        """Send ``local`` (named by ``path``'s last part); ``delivery_id`` is the stable id of this
        delivery (Message-ID, Idempotency-Key): every attempt of the same delivery carries the same,
        so a receiver can tell a repeat."""

    def make_folder(self, folder: str) -> None:
        pass

    def target_path(
        self, folder: str, name: str, if_exists: IfExists, taken: frozenset[str] = frozenset()
    ) -> str:
        return name
