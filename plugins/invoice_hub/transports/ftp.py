"""FTP and FTPS as a source or destination, on :class:`invoice_hub.hooks.ftp.HubFtpHook`.

One login serves every file of a task. Listing uses MLSD (one round trip per folder, with size and
modification time); servers without MLSD are listed with LIST and its Unix-style lines. Transfers
stream (binary by default, ASCII when the connection says ``transfer_mode: ascii``). An upload goes
to a temporary name and is renamed when complete.

FTP has no "rename unless the target exists": without ``replace`` the hub checks the target just
before renaming, which leaves a window of one round trip for another writer of the same name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ftplib
import posixpath
import re
import socket
import ssl
from collections.abc import Iterator
from typing import BinaryIO

from invoice_hub.hooks.ftp import HubFtpHook
from invoice_hub.transports.base import (
    ConnectError,
    Readable,
    RemoteFile,
    TargetExistsError,
    Transport,
    TransportError,
    partial_path,
)

_BLOCK = 1024 * 1024
#: Network failures worth retrying (a 4xx reply is ftplib.error_temp).
_TRANSIENT = (OSError, EOFError, ftplib.error_temp, ftplib.error_reply, ftplib.error_proto)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}


class FtpTransport(Transport):
    def __init__(self, conn_id: str, *, tls: bool) -> None:
        self.conn_id = conn_id
        self.label = f"{'ftps' if tls else 'ftp'}:{conn_id}"
        self.hook = HubFtpHook(conn_id, tls=tls)
        self._ftp: ftplib.FTP | None = None
        self._mlsd = True
        self._binary = False  # the connection's transfer type is binary (TYPE I) right now
        self._folders: set[str] = set()
        self._hash_command: str | None = None  # HASH / XSHA256 / "" (none), asked once per connection

    # --- connection -----------------------------------------------------------------------
    @property
    def ftp(self) -> ftplib.FTP:
        if self._ftp is None:
            try:
                self._ftp = self.hook.get_conn()
            except ssl.SSLCertVerificationError as exc:
                raise ConnectError(
                    f"{self.label} ({self.hook.endpoint}): the server's TLS certificate is not trusted "
                    f"({exc.verify_message}); give its CA as ca_bundle in the connection's extra",
                    retryable=False,
                ) from None
            except ftplib.error_perm as exc:
                raise ConnectError(
                    f"{self.label} ({self.hook.endpoint}): login refused: {exc}; check the "
                    "connection's login and password",
                    retryable=False,
                ) from None
            except socket.gaierror as exc:
                raise ConnectError(f"{self.label}: host name not found (DNS): {exc.strerror}") from exc
            except _TRANSIENT as exc:
                raise ConnectError(f"{self.label} ({self.hook.endpoint}): cannot connect: {exc}") from exc
        return self._ftp

    def close(self) -> None:
        self._folders.clear()
        self._hash_command = None
        if self._ftp is not None:
            with contextlib.suppress(*_TRANSIENT, ftplib.error_perm):
                self._ftp.quit()
            with contextlib.suppress(OSError):
                self._ftp.close()
            self._ftp = None
            self.hook.conn = None
            self._binary = False

    def _error(self, exc: Exception, action: str, path: str) -> TransportError:
        if isinstance(exc, ftplib.error_perm):
            text = str(exc)
            if text.startswith("550"):
                return TransportError(
                    f"{self.label}: cannot {action} {path}: it does not exist or no permission ({text})",
                    retryable=False,
                )
            return TransportError(f"{self.label}: cannot {action} {path}: {text}", retryable=False)
        return TransportError(f"{self.label}: cannot {action} {path}: {exc}")

    # --- as a source ----------------------------------------------------------------------
    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        found: list[RemoteFile] = []
        pending = [self.resolve(folder)]
        while pending:
            current = pending.pop()
            try:
                entries = list(self._entries(current))
            except (*_TRANSIENT, ftplib.error_perm) as exc:
                raise self._error(exc, "list", current) from exc
            for name, kind, size, mtime in entries:
                path = posixpath.join(current, name)
                if kind == "dir":
                    if recursive:
                        pending.append(path)
                elif kind == "file":
                    found.append(RemoteFile(path=path, size=size, mtime=mtime))
        return found

    def _entries(self, folder: str) -> Iterator[tuple[str, str, int, float]]:
        """(name, "file" | "dir" | other, size, mtime) of each entry of ``folder``."""
        self._binary = False  # MLSD and LIST run through retrlines, which sends TYPE A
        if self._mlsd:
            try:
                for name, facts in self.ftp.mlsd(folder, facts=["type", "size", "modify"]):
                    kind = facts.get("type", "").lower()
                    if kind in ("cdir", "pdir") or name in (".", ".."):
                        continue
                    yield name, kind, int(facts.get("size") or 0), _mlsd_time(facts.get("modify", ""))
                return
            except ftplib.error_perm as exc:
                if not str(exc).startswith(("500", "501", "502")):
                    raise
                self._mlsd = False  # the server has no MLSD: LIST from now on
        lines: list[str] = []
        self.ftp.retrlines(f"LIST {folder}", lines.append)
        for line in lines:
            parsed = _parse_list_line(line)
            if parsed is not None:
                yield parsed

    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        try:
            if self.hook.transfer_mode == "ascii":
                encoding = self.ftp.encoding
                self.ftp.retrlines(f"RETR {path}", lambda line: into.write(line.encode(encoding) + b"\n"))
            else:
                self.ftp.retrbinary(f"RETR {path}", into.write, blocksize=_BLOCK)
            self._binary = self.hook.transfer_mode != "ascii"
        except (*_TRANSIENT, ftplib.error_perm) as exc:
            raise self._error(exc, "read", path) from exc

    def delete(self, path: str) -> None:
        try:
            self.ftp.delete(path)
        except (*_TRANSIENT, ftplib.error_perm) as exc:
            if self.exists(path) is None:
                return
            raise self._error(exc, "delete", path) from exc

    def move(self, path: str, folder: str) -> str:
        target_folder = self.resolve(folder)
        self.make_folder(target_folder)
        target = self.free_name(target_folder, posixpath.basename(path))
        try:
            self.ftp.rename(path, target)
        except (*_TRANSIENT, ftplib.error_perm) as exc:
            raise self._error(exc, "move", path) from exc
        return target

    # --- as a destination -----------------------------------------------------------------
    def exists(self, path: str) -> int | None:
        path = self.resolve(path)
        try:
            if not self._binary:
                self.ftp.voidcmd("TYPE I")  # SIZE is only defined in binary mode; sent once, not per file
                self._binary = True
            size = self.ftp.size(path)
        except ftplib.error_perm:
            return None
        except _TRANSIENT as exc:
            raise self._error(exc, "check", path) from exc
        return int(size) if size is not None else 0

    def holds(self, path: str, sha256: str, size: int) -> bool:
        """By the server's own SHA-256 when it offers one (``HASH``, draft-bryan-ftpext-hash, or
        ``XSHA256``): no download. Otherwise, or when the server refuses the command, the default
        (download and hash)."""
        path = self.resolve(path)
        digest = self._server_sha256(path)
        if digest is None:
            return super().holds(path, sha256, size)
        return digest == sha256

    def _server_sha256(self, path: str) -> str | None:
        """The file's SHA-256 computed by the server; "" when there is no such file; None when the
        server cannot tell (no hash command, or it failed)."""
        if self._hash_command is None:
            self._hash_command = self._choose_hash_command()
        if not self._hash_command:
            return None
        try:
            reply = self.ftp.sendcmd(f"{self._hash_command} {path}")
        except ftplib.error_perm as exc:
            if str(exc).startswith("550"):
                return ""  # no such file: not delivered
            self._hash_command = ""  # the server does not do it after all: download from now on
            return None
        except _TRANSIENT as exc:
            raise self._error(exc, "hash", path) from exc
        # HASH: "213 SHA-256 0-1233 <hex> <path>"; XSHA256: "250 <hex>" (or 213)
        found = re.search(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])", reply)
        return found.group(0).lower() if found else None

    def _choose_hash_command(self) -> str:
        """``HASH`` (selecting SHA-256) or ``XSHA256``, from the server's FEAT; "" if neither."""
        try:
            features = [line.strip().upper() for line in self.ftp.sendcmd("FEAT").splitlines()[1:-1]]
        except (*_TRANSIENT, ftplib.error_perm):
            return ""
        hashes = next((f.split(None, 1)[1] for f in features if f.startswith("HASH ")), "")
        if "SHA-256" in hashes.replace("*", "").split(";"):
            if "SHA-256*" not in hashes.split(";"):
                try:
                    self.ftp.sendcmd("OPTS HASH SHA-256")
                except (*_TRANSIENT, ftplib.error_perm):
                    return ""
            return "HASH"
        return "XSHA256" if "XSHA256" in features else ""

    def make_folder(self, folder: str) -> None:
        folder = self.resolve(folder)
        if folder in self._folders or folder == "/":
            return
        parent = posixpath.dirname(folder)
        self.make_folder(parent)
        try:
            self.ftp.mkd(folder)
        except ftplib.error_perm as exc:
            if not self._is_folder(folder):
                raise self._error(exc, "create the folder", folder) from exc
        except _TRANSIENT as exc:
            raise self._error(exc, "create the folder", folder) from exc
        self._folders.add(folder)

    def _is_folder(self, folder: str) -> bool:
        current = self.ftp.pwd()
        try:
            self.ftp.cwd(folder)
        except ftplib.error_perm:
            return False
        self.ftp.cwd(current)
        return True

    def upload(self, local: Readable, path: str, *, replace: bool) -> None:
        target = self.resolve(path)
        folder = posixpath.dirname(target)
        temporary = partial_path(target)
        self.make_folder(folder)
        try:
            with local.open("rb") as source:
                if self.hook.transfer_mode == "ascii":
                    self.ftp.storlines(f"STOR {temporary}", source)
                else:
                    self.ftp.storbinary(f"STOR {temporary}", source, blocksize=_BLOCK)
            self._binary = self.hook.transfer_mode != "ascii"
        except (*_TRANSIENT, ftplib.error_perm) as exc:
            self._discard(temporary)
            raise self._error(exc, "write", temporary) from exc
        try:
            if not replace and self.exists(target) is not None:
                self._discard(temporary)
                raise TargetExistsError(f"{self.label}: {target} appeared while uploading; not overwritten")
            try:
                self.ftp.rename(temporary, target)
            except ftplib.error_perm:
                if not replace:
                    raise
                # Some servers refuse to rename onto an existing name: the new file is complete, so the
                # old one goes now, never earlier.
                self.ftp.delete(target)
                self.ftp.rename(temporary, target)
        except (*_TRANSIENT, ftplib.error_perm) as exc:
            self._discard(temporary)
            raise self._error(exc, "rename into", target) from exc

    def _discard(self, temporary: str) -> None:
        with contextlib.suppress(*_TRANSIENT, ftplib.error_perm):
            self.ftp.delete(temporary)


def _mlsd_time(value: str) -> float:
    """MLSD's ``modify`` fact (YYYYMMDDHHMMSS[.sss], UTC) in seconds since the epoch."""
    if len(value) < 14:
        return 0.0
    stamp = dt.datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    fraction = float("0" + value[14:]) if value[14:].startswith(".") else 0.0
    return stamp.timestamp() + fraction


def _parse_list_line(line: str) -> tuple[str, str, int, float] | None:
    """A Unix ``ls -l`` style LIST line: ``-rw-r--r-- 1 owner group 1234 Nov 22 06:00 name``."""
    parts = line.split(None, 8)
    if len(parts) < 9 or parts[0][0] not in "-dl":
        return None
    kind = {"-": "file", "d": "dir", "l": "link"}[parts[0][0]]
    name = parts[8]
    if kind == "link":
        name = name.split(" -> ", 1)[0]
    if name in (".", ".."):
        return None
    month = _MONTHS.get(parts[5][:3].lower())
    if month is None or not parts[4].isdigit():
        return None
    now = dt.datetime.now(dt.UTC)
    day = int(parts[6])
    if ":" in parts[7]:  # within the last six months: "HH:MM", the year is implied
        hour, minute = (int(x) for x in parts[7].split(":"))
        stamp = dt.datetime(now.year, month, day, hour, minute, tzinfo=dt.UTC)
        if stamp > now + dt.timedelta(days=1):
            stamp = stamp.replace(year=now.year - 1)
    else:
        stamp = dt.datetime(int(parts[7]), month, day, tzinfo=dt.UTC)
    return name, kind, int(parts[4]), stamp.timestamp()
