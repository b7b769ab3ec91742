"""SFTP as a source or destination, on the SFTP provider's async hook (asyncssh underneath).

One SSH connection, and one SFTP session on it, serves every file of a task. asyncssh keeps many
requests in flight on that session, which is what makes thousands of small invoices fast (paramiko,
behind the provider's sync hook, spends about 2 ms of Python per small file, one file at a time).
The transport's methods stay synchronous: they run on an event loop of the transport's own thread.

Listing is one ``readdir`` round trip per folder (no stat per file). Files stream in blocks (bounded
memory whatever their size). An upload goes to a temporary name in the target folder and is renamed
when complete, so no partner ever reads half a file and an existing target is never removed before
the new file is whole.

Host keys are verified: the connection's ``host_key`` extra, else ``~/.ssh/known_hosts``. Turning the
check off takes ``"no_host_key_check": true`` in the connection's extra (the provider's own switch).
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import socket
import threading
from collections.abc import Awaitable, Coroutine
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

import asyncssh

from invoice_hub.transports.base import (
    ConnectError,
    Readable,
    RemoteFile,
    TargetExistsError,
    Transport,
    TransportError,
    file_error,
    partial_path,
)

T = TypeVar("T")

#: SFTP requests in flight at once on the one session (connection extra ``concurrency`` overrides).
DEFAULT_CONCURRENCY = 32
_BLOCK = 64 * 1024  # well under OpenSSH's 256 KiB message limit
_CONNECT_TIMEOUT = 30
#: Block requests in flight per file: bounds memory (about 2 MB) whatever the file's size.
_REQUESTS_PER_FILE = 32
#: What a broken connection or a refusing server raises.
_IO_ERRORS = (OSError, asyncssh.Error, asyncio.TimeoutError)


class SftpTransport(Transport):
    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self.label = f"sftp:{conn_id}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: Any = None  # the hook's managed-connection context
        self._sftp: asyncssh.SFTPClient | None = None
        self._concurrency = DEFAULT_CONCURRENCY
        self._options: dict[str, Any] | None = None
        self._folders: set[str] = set()  # known to exist: checked once per connection, not per file
        # name -> size of the files in a folder, listed once per connection: one round trip per folder
        # instead of a stat per file for "does this name exist" (kept current as this connection writes)
        self._listed: dict[str, dict[str, int]] = {}

    # --- connection -----------------------------------------------------------------------
    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._options is None:  # looked up on the calling (task) thread, not the loop's
            from airflow.sdk import BaseHook

            self._options = BaseHook.get_connection(self.conn_id).extra_dejson
            self._concurrency = int(self._options.get("concurrency", DEFAULT_CONCURRENCY))
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=f"sftp-{self.conn_id}", daemon=True
            )
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            self._sftp = await self._connect()
        return self._sftp

    async def _connect(self) -> asyncssh.SFTPClient:
        from invoice_hub.hooks.sftp import HubSftpHookAsync

        hook = HubSftpHookAsync(sftp_conn_id=self.conn_id)
        session = hook.get_managed_conn()
        try:
            sftp = await asyncio.wait_for(session.__aenter__(), _CONNECT_TIMEOUT)
        except asyncssh.HostKeyNotVerifiable:
            pinned = "host_key" in (self._options or {})
            raise ConnectError(
                f"{self.label}: the server's host key does not match the one configured (host_key in the "
                "connection); if the partner really changed its key, update host_key"
                if pinned
                else f"{self.label}: the server's host key is unknown; put it in the connection's extra as "
                '"host_key" (ssh-keyscan gives it) or in ~/.ssh/known_hosts',
                retryable=False,
            ) from None
        except asyncssh.PermissionDenied:
            raise ConnectError(
                f"{self.label}: login refused; check the connection's login, password or key", retryable=False
            ) from None
        except socket.gaierror as exc:
            raise ConnectError(f"{self.label}: host name not found (DNS): {exc.strerror}") from exc
        except (*_IO_ERRORS, ValueError) as exc:
            raise ConnectError(f"{self.label}: cannot connect: {exc}") from exc
        self._session = session
        return sftp

    def close(self) -> None:
        # Closing a connection the server dropped may raise; that must not hide the error that
        # ended the transfer.
        self._folders.clear()
        self._listed.clear()
        if self._loop is None:
            return
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._run(self._session.__aexit__(None, None, None))
        self._session = self._sftp = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    def _error(self, exc: BaseException, action: str, path: str) -> TransportError:
        """An asyncssh / socket error as a TransportError naming the remote path."""
        if isinstance(exc, TransportError):
            return exc
        if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath | FileNotFoundError):
            return TransportError(f"{self.label}: {path} does not exist ({action})", retryable=False)
        if isinstance(exc, asyncssh.SFTPPermissionDenied | PermissionError):
            return TransportError(f"{self.label}: no permission to {action} {path}", retryable=False)
        if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
            return TransportError(f"{self.label}: no space left to {action} {path}")
        return TransportError(f"{self.label}: cannot {action} {path}: {exc or type(exc).__name__}")

    # --- as a source ----------------------------------------------------------------------
    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        return self._run(self._list_files(self.resolve(folder), recursive))

    async def _list_files(self, root: str, recursive: bool) -> list[RemoteFile]:
        sftp = await self._client()
        found: list[RemoteFile] = []
        pending = [root]
        while pending:
            current = pending.pop()
            try:
                entries = await sftp.readdir(current)
            except _IO_ERRORS as exc:
                raise self._error(exc, "list", current) from exc
            for entry in entries:
                name = str(entry.filename)
                if name in (".", ".."):
                    continue
                path = posixpath.join(current, name)
                kind = entry.attrs.type
                if kind == asyncssh.FILEXFER_TYPE_DIRECTORY:
                    if recursive:
                        pending.append(path)
                elif kind in (asyncssh.FILEXFER_TYPE_REGULAR, asyncssh.FILEXFER_TYPE_UNKNOWN):
                    found.append(
                        RemoteFile(path=path, size=entry.attrs.size or 0, mtime=float(entry.attrs.mtime or 0))
                    )
        return found

    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        self._run(self._download(path, into))

    async def _download(self, path: str, into: BinaryIO) -> None:
        sftp = await self._client()
        try:
            async with sftp.open(path, "rb") as remote:
                while chunk := await remote.read(_BLOCK):
                    into.write(cast(bytes, chunk))  # binary mode; asyncssh types read() as AnyStr
        except _IO_ERRORS as exc:
            raise self._error(exc, "read", path) from exc

    def download_many(self, jobs: list[tuple[str, Path]]) -> list[TransportError | None]:
        return self._run(self._gather([(self._get(path, local), path) for path, local in jobs]))

    async def _get(self, path: str, local: Path) -> None:
        sftp = await self._client()
        try:
            await sftp.get(path, str(local), block_size=_BLOCK, max_requests=_REQUESTS_PER_FILE)
        except _IO_ERRORS as exc:
            raise self._error(exc, "read", path) from exc

    async def _gather(self, jobs: list[tuple[Awaitable[None], str]]) -> list[TransportError | None]:
        """Run the (job, remote path) pairs, ``concurrency`` at a time; per job None or its error."""
        await self._client()
        limit = asyncio.Semaphore(self._concurrency)

        async def one(job: Awaitable[None], path: str) -> TransportError | None:
            async with limit:
                try:
                    await job
                except Exception as exc:  # one file's error is that file's (see file_error)
                    return file_error(exc, self.label, path)
                return None

        return list(await asyncio.gather(*(one(job, path) for job, path in jobs)))

    def delete(self, path: str) -> None:
        self._run(self._delete(path))

    async def _delete(self, path: str) -> None:
        sftp = await self._client()
        try:
            await sftp.remove(path)
        except asyncssh.SFTPNoSuchFile:
            return
        except _IO_ERRORS as exc:
            raise self._error(exc, "delete", path) from exc

    def move(self, path: str, folder: str) -> str:
        target_folder = self.resolve(folder)
        self.make_folder(target_folder)
        for _attempt in range(100):
            target = self.free_name(target_folder, posixpath.basename(path))
            try:
                self._run(self._rename(path, target, replace=False))
            except TargetExistsError:
                continue  # taken between the check and the rename
            self._written(target, 0)
            return target
        raise TransportError(f"{self.label}: no free name for {path} in {target_folder}")

    async def _rename(self, source: str, target: str, *, replace: bool) -> None:
        sftp = await self._client()
        try:
            if replace:
                await sftp.posix_rename(source, target)  # OpenSSH's atomic rename over an existing file
            else:
                await sftp.rename(source, target)  # plain SFTP rename fails when the target exists
        except _IO_ERRORS as exc:
            if not replace and isinstance(exc, asyncssh.SFTPFailure | asyncssh.SFTPFileAlreadyExists):
                with contextlib.suppress(*_IO_ERRORS):
                    await sftp.stat(target)
                    self._listed.pop(posixpath.dirname(target), None)
                    raise TargetExistsError(
                        f"{self.label}: {target} exists already; not overwritten"
                    ) from None
            raise self._error(exc, "rename into", target) from exc

    # --- as a destination -----------------------------------------------------------------
    def exists(self, path: str) -> int | None:
        return self._run(self._exists(self.resolve(path)))

    async def _exists(self, path: str) -> int | None:
        folder, name = posixpath.split(path)
        names = self._listed.get(folder)
        if names is None:
            sftp = await self._client()
            try:
                names = {str(e.filename): e.attrs.size or 0 for e in await sftp.readdir(folder)}
            except asyncssh.SFTPNoSuchFile:
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
        self._run(self._make_folder(self.resolve(folder)))

    async def _make_folder(self, folder: str) -> None:
        if folder in self._folders:
            return
        sftp = await self._client()
        try:
            await sftp.makedirs(folder, exist_ok=True)
        except _IO_ERRORS as exc:
            raise self._error(exc, "create the folder", folder) from exc
        self._folders.add(folder)

    def upload(self, local: Readable, path: str, *, replace: bool) -> None:
        self._run(self._put(local, self.resolve(path), replace))

    def upload_many(self, jobs: list[tuple[Readable, str, bool]]) -> list[TransportError | None]:
        return self._run(
            self._gather(
                [(self._put(local, self.resolve(path), replace), path) for local, path, replace in jobs]
            )
        )

    async def _put(self, local: Readable, target: str, replace: bool) -> None:
        sftp = await self._client()
        folder = posixpath.dirname(target)
        await self._make_folder(folder)
        temporary = partial_path(target)
        size = local.stat().st_size  # a staged file on an object store is only given here when large
        try:
            if size <= _BLOCK:  # a small invoice: one write request, no block copier
                async with sftp.open(temporary, "wb") as remote:
                    await remote.write(local.read_bytes())
            elif isinstance(local, Path):
                await sftp.put(str(local), temporary, block_size=_BLOCK, max_requests=_REQUESTS_PER_FILE)
            else:
                await self._stream(local, temporary)
        except _IO_ERRORS as exc:
            await self._discard(temporary)
            raise self._error(exc, "write", temporary) from exc
        try:
            await self._rename(temporary, target, replace=replace)
        except TransportError:
            await self._discard(temporary)
            raise
        self._written(target, size)

    async def _stream(self, local: Readable, temporary: str) -> None:
        """A large file from an object store, block by block: each read waits on the store in a
        thread, so the event loop keeps the other uploads going meanwhile."""
        sftp = await self._client()
        with local.open("rb") as reader:
            async with sftp.open(temporary, "wb") as remote:
                while chunk := await asyncio.to_thread(reader.read, _BLOCK):
                    await remote.write(chunk)

    async def _discard(self, temporary: str) -> None:
        # The connection may be gone; a left-over .part name is never picked up as input.
        with contextlib.suppress(*_IO_ERRORS):
            await (await self._client()).remove(temporary)
