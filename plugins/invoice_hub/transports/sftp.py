"""SFTP as a source or destination, on the SFTP provider's hook (paramiko underneath).

One SSH connection serves every file of a task. Listing is one ``listdir_attr`` round trip per
folder (no stat per file); downloads and uploads stream with bounded memory; an upload goes to a
temporary name in the target folder and is renamed when complete, so no partner ever reads half a
file and an existing target is never removed before the new file is whole.

Host keys are verified: the connection's ``host_key`` extra, else ``~/.ssh/known_hosts``. Turning the
check off takes ``"no_host_key_check": true`` in the connection's extra (the provider's own switch).
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import socket
import stat
import uuid
from pathlib import Path
from typing import BinaryIO

import paramiko

from invoice_hub.transports.base import RemoteFile, TargetExistsError, Transport, TransportError

#: Prefetch requests in flight per download: bounded memory however big the file (paramiko's default
#: is unbounded and has hung on large files).
_PREFETCH_REQUESTS = 64
_CHUNK = 1024 * 1024
_SMALL = 32 * 1024  # paramiko's largest single read request
#: What a broken connection or a refusing server raises from paramiko's SFTP client.
_IO_ERRORS = (OSError, EOFError, paramiko.SSHException)


#: SFTP channels used at once over the one SSH connection (connection extra ``channels`` overrides;
#: OpenSSH allows 10 sessions per connection by default).
DEFAULT_CHANNELS = 4


class SftpTransport(Transport):
    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self._extra_channels: list[SftpTransport] = []
        self.label = f"sftp:{conn_id}"
        self._hook = None
        self._sftp: paramiko.SFTPClient | None = None
        self._folders: set[str] = set()  # known to exist: checked once per connection, not per file
        # name -> size of the files in a folder, listed once per connection: one round trip per folder
        # instead of a stat per file for "does this name exist" (kept current as this connection writes)
        self._listed: dict[str, dict[str, int]] = {}

    # --- connection -----------------------------------------------------------------------
    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._sftp = self._connect()
        return self._sftp

    def _connect(self) -> paramiko.SFTPClient:
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        # One attempt: Airflow's task retries (with back-off) decide about trying again, and a wrong
        # password must not be tried three times in a row.
        hook = SFTPHook(ssh_conn_id=self.conn_id, conn_retry_attempts=1)
        where = f"{self.label} ({hook.remote_host}:{hook.port})"
        try:
            client = hook.get_conn()
        except paramiko.BadHostKeyException as exc:
            raise TransportError(
                f"{where}: the server's host key does not match the one configured (host_key in the "
                f"connection or ~/.ssh/known_hosts): {exc.key.get_name()} {exc.key.get_base64()[:24]}…; "
                "if the partner really changed its key, update host_key",
                retryable=False,
            ) from None
        except paramiko.AuthenticationException:
            raise TransportError(
                f"{where}: login refused; check the connection's login, password or key", retryable=False
            ) from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise TransportError(
                    f"{where}: the server's host key is unknown; put it in the connection's extra as "
                    '"host_key" (ssh-keyscan gives it) or in ~/.ssh/known_hosts',
                    retryable=False,
                ) from None
            raise TransportError(f"{where}: SSH failure: {exc}") from exc
        except socket.gaierror as exc:
            raise TransportError(f"{where}: host name not found (DNS): {exc.strerror}") from exc
        except (ConnectionRefusedError, TimeoutError, OSError) as exc:
            raise TransportError(f"{where}: cannot connect: {exc.strerror or exc}") from exc
        self._hook = hook
        return client

    def channels(self) -> list[Transport]:
        """This transport and more SFTP channels on its SSH connection (one login, several sessions)."""
        self.sftp  # noqa: B018 - log in first
        assert self._hook is not None
        wanted = int(self._hook.get_connection(self.conn_id).extra_dejson.get("channels", DEFAULT_CHANNELS))
        while len(self._extra_channels) < wanted - 1:
            channel = SftpTransport(self.conn_id)
            channel._sftp = self._hook.client.open_sftp()
            channel._listed = self._listed  # one view of the destination folders for all channels
            channel._folders = self._folders
            self._extra_channels.append(channel)
        return [self, *self._extra_channels]

    def close(self) -> None:
        for channel in self._extra_channels:
            with contextlib.suppress(*_IO_ERRORS):
                channel.sftp.close()
        self._extra_channels.clear()
        self._listed.clear()
        # Closing a connection the server dropped raises in paramiko; that must not hide the error
        # that ended the transfer.
        self._folders.clear()
        if self._sftp is not None:
            with contextlib.suppress(*_IO_ERRORS):
                self._sftp.close()
            self._sftp = None
        if self._hook is not None and self._hook.client is not None:
            with contextlib.suppress(*_IO_ERRORS):
                self._hook.client.close()
            self._hook = None

    def _error(self, exc: Exception, action: str, path: str) -> TransportError:
        """A paramiko / socket error as a TransportError naming the remote path."""
        if isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT:
            return TransportError(f"{self.label}: {path} does not exist ({action})", retryable=False)
        if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EACCES:
            return TransportError(f"{self.label}: no permission to {action} {path}", retryable=False)
        return TransportError(f"{self.label}: cannot {action} {path}: {exc}")

    # --- as a source ----------------------------------------------------------------------
    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        found: list[RemoteFile] = []
        pending = [self.resolve(folder)]
        while pending:
            current = pending.pop()
            try:
                entries = self.sftp.listdir_attr(current)
            except _IO_ERRORS as exc:
                raise self._error(exc, "list", current) from exc
            for entry in entries:
                path = posixpath.join(current, entry.filename)
                if entry.st_mode is not None and stat.S_ISDIR(entry.st_mode):
                    if recursive:
                        pending.append(path)
                elif entry.st_mode is None or stat.S_ISREG(entry.st_mode):
                    found.append(
                        RemoteFile(path=path, size=entry.st_size or 0, mtime=float(entry.st_mtime or 0))
                    )
        return found

    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        try:
            if size is None:
                self.sftp.getfo(
                    path, into, prefetch=True, max_concurrent_prefetch_requests=_PREFETCH_REQUESTS
                )
                return
            # The listing gave the size: no stat round trip. Small files (most invoices) take one read
            # request; paramiko's prefetch would start a thread per file for them.
            with self.sftp.open(path, "rb") as remote:
                if size > _SMALL:
                    remote.prefetch(size, max_concurrent_requests=_PREFETCH_REQUESTS)
                while chunk := remote.read(_CHUNK):
                    into.write(chunk)
        except _IO_ERRORS as exc:
            raise self._error(exc, "read", path) from exc

    def delete(self, path: str) -> None:
        try:
            self.sftp.remove(path)
        except FileNotFoundError:
            return
        except _IO_ERRORS as exc:
            raise self._error(exc, "delete", path) from exc

    def move(self, path: str, folder: str) -> str:
        target_folder = self.resolve(folder)
        self.make_folder(target_folder)
        for _attempt in range(100):
            target = self.free_name(target_folder, posixpath.basename(path))
            try:
                self.sftp.rename(path, target)  # SFTP rename refuses an existing target: never overwrites
                self._written(target, 0)
                return target
            except _IO_ERRORS as exc:
                self._listed.pop(target_folder, None)  # someone else wrote here: look again
                if self.exists(target) is not None:
                    continue  # taken between the check and the rename
                raise self._error(exc, "move", path) from exc
        raise TransportError(f"{self.label}: no free name for {path} in {target_folder}")

    # --- as a destination -----------------------------------------------------------------
    def exists(self, path: str) -> int | None:
        path = self.resolve(path)
        folder, name = posixpath.split(path)
        names = self._listed.get(folder)
        if names is None:
            try:
                names = {e.filename: e.st_size or 0 for e in self.sftp.listdir_attr(folder)}
            except FileNotFoundError:
                names = {}
            except _IO_ERRORS as exc:
                raise self._error(exc, "check", path) from exc
            self._listed[folder] = names
        return names.get(name)

    def _written(self, path: str, size: int) -> None:
        folder, name = posixpath.split(path)
        if folder in self._listed:
            self._listed[folder][name] = size

    def make_folder(self, folder: str) -> None:
        folder = self.resolve(folder)
        if folder in self._folders:
            return
        missing: list[str] = []
        current = folder
        while current not in ("/", ""):
            try:
                if stat.S_ISDIR(self.sftp.stat(current).st_mode or 0):
                    break
                raise TransportError(f"{self.label}: {current} is a file, not a folder", retryable=False)
            except FileNotFoundError:
                missing.append(current)
                current = posixpath.dirname(current)
        for part in reversed(missing):
            try:
                self.sftp.mkdir(part)
            except _IO_ERRORS as exc:
                try:
                    exists = stat.S_ISDIR(self.sftp.stat(part).st_mode or 0)  # another channel made it
                except FileNotFoundError:
                    exists = False
                if not exists:
                    raise self._error(exc, "create the folder", part) from exc
        self._folders.add(folder)  # only once it exists: other channels rely on it

    def upload(self, local: Path, path: str, *, replace: bool) -> None:
        target = self.resolve(path)
        folder = posixpath.dirname(target)
        temporary = posixpath.join(folder, f".{posixpath.basename(target)}.{uuid.uuid4().hex[:8]}.part")
        self.make_folder(folder)
        try:
            with local.open("rb") as source:
                self.sftp.putfo(source, temporary, file_size=local.stat().st_size, confirm=True)
        except _IO_ERRORS as exc:
            self._discard(temporary)
            raise self._error(exc, "write", temporary) from exc
        try:
            if replace:
                self.sftp.posix_rename(temporary, target)  # OpenSSH's atomic rename over an existing file
            else:
                self.sftp.rename(temporary, target)  # plain SFTP rename fails when the target exists
            self._written(target, local.stat().st_size)
        except _IO_ERRORS as exc:
            self._discard(temporary)
            self._listed.pop(folder, None)  # someone else wrote here: look again
            if not replace and self.exists(target) is not None:
                raise TargetExistsError(
                    f"{self.label}: {target} appeared while uploading; not overwritten"
                ) from exc
            raise self._error(exc, "rename into", target) from exc

    def _discard(self, temporary: str) -> None:
        # The connection may be gone; a left-over .part name is never picked up as input.
        with contextlib.suppress(*_IO_ERRORS):
            self.sftp.remove(temporary)
