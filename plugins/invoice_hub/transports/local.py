"""A folder on this machine (or a mounted share) as a source or destination."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat as stat_module
from pathlib import Path
from typing import BinaryIO

from invoice_hub.config.safety import is_inside
from invoice_hub.transports.base import (
    Readable,
    RemoteFile,
    TargetExistsError,
    Transport,
    TransportError,
    partial_path,
)

_CHUNK = 1024 * 1024


class LocalTransport(Transport):
    """Paths are absolute, or relative to ``base_dir`` (the folder of the integration file).

    As a source, nothing outside the source folder (``root``, the configured ``path``) is ever read:
    a link whose target lies inside the folder is read as the file it points to; a link that leads
    outside it, or to a folder, is not read or followed, is reported in the log of ``wait_for_files``
    and stays where it is. The check is made again on the file actually opened (its real path through
    ``/proc/self/fd``), so a file swapped for a link between listing and reading is not read either.
    """

    def __init__(self, base_dir: Path, root: str | None = None) -> None:
        self.base_dir = base_dir
        self.root = root
        self.label = "local"
        self.notices: list[str] = []

    def resolve(self, path: str) -> str:
        """``path`` as an absolute, normalised path (relative ones against the integration's folder)."""
        return os.path.normpath(self.base_dir / path)

    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        root = self.resolve(folder)
        if not os.path.isdir(root):
            raise TransportError(
                f"local: source folder {root} does not exist; create it or fix source.path", retryable=False
            )
        real_root = os.path.realpath(root)
        found: list[RemoteFile] = []
        pending = [root]
        while pending:
            current = pending.pop()
            try:
                entries = list(os.scandir(current))
            except PermissionError as exc:
                raise TransportError(
                    f"local: no permission to list {current}: {exc.strerror}", retryable=False
                ) from exc
            for entry in entries:
                if entry.is_symlink():
                    listed = self._linked_file(entry.path, root, real_root)
                    if listed is not None:
                        found.append(listed)
                elif entry.is_dir(follow_symlinks=False):
                    if recursive:
                        pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    found.append(RemoteFile(path=entry.path, size=stat.st_size, mtime=stat.st_mtime))
        return found

    def _linked_file(self, path: str, root: str, real_root: str) -> RemoteFile | None:
        """A link in the source folder: the file it points to when that lies inside the folder, else
        None with a notice (it is left where it is)."""
        target = os.path.realpath(path)
        if not is_inside(target, real_root):
            self.notices.append(
                f"local: {path} is a link to {target}, outside the source folder {root}: "
                "not read (links never lead out of the source folder); it stays where it is"
            )
        elif os.path.isdir(target):
            self.notices.append(
                f"local: {path} is a link to the folder {target}: not followed (a recursive source "
                "lists the real folders below it); it stays where it is"
            )
        elif not os.path.isfile(target):
            self.notices.append(
                f"local: {path} is a link to {target}, which is not a file; it stays where it is"
            )
        else:
            stat = os.stat(target)
            return RemoteFile(path=path, size=stat.st_size, mtime=stat.st_mtime)
        return None

    def notices_after_selection(self, chosen: list[RemoteFile]) -> list[str]:
        """The links found while listing that were not read (see the class)."""
        return self.notices

    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        # O_NONBLOCK: a FIFO put in the file's place must not block the task (it is refused below)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(path, flags)
        except FileNotFoundError as exc:
            raise TransportError(
                f"local: {path} disappeared before it could be read", retryable=False
            ) from exc
        except PermissionError as exc:
            raise TransportError(f"local: no permission to read {path}", retryable=False) from exc
        with os.fdopen(descriptor, "rb") as source:
            self._check_opened(path, descriptor)
            os.set_blocking(descriptor, True)
            shutil.copyfileobj(source, into, _CHUNK)

    def _check_opened(self, path: str, descriptor: int) -> None:
        """The file opened for ``path`` is a regular file inside the source folder, or nothing is read."""
        if not stat_module.S_ISREG(os.fstat(descriptor).st_mode):
            raise TransportError(f"local: {path} is not a regular file; not read", retryable=False)
        try:
            opened = os.readlink(f"/proc/self/fd/{descriptor}")  # what was opened, links resolved
        except OSError:  # no /proc: the path as it resolves now
            opened = os.path.realpath(path)
        folder = self.resolve(self.root) if self.root is not None else os.path.dirname(path)
        real_folder = os.path.realpath(folder)
        if not is_inside(opened, real_folder):
            raise TransportError(
                f"local: {path} leads to {opened}, outside the source folder {folder}: not read "
                "(links never lead out of the source folder)",
                retryable=False,
            )

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)

    def move(self, path: str, folder: str) -> str:
        target_folder = self.resolve(folder)
        self.make_folder(target_folder)
        while True:
            target = self.free_name(target_folder, os.path.basename(path))
            try:
                os.link(path, target)  # fails if the name was taken meanwhile: never overwrites
            except FileExistsError:
                continue
            except OSError:  # another file system, or one without hard links
                if os.path.exists(target):
                    continue
                shutil.move(path, target)
                return target
            os.remove(path)
            return target

    def exists(self, path: str) -> int | None:
        try:
            return os.stat(self.resolve(path)).st_size
        except FileNotFoundError:
            return None

    def make_folder(self, folder: str) -> None:
        os.makedirs(self.resolve(folder), exist_ok=True)

    def upload(self, local: Readable, path: str, *, replace: bool) -> None:
        target = self.resolve(path)
        folder = os.path.dirname(target)
        self.make_folder(folder)
        temporary = partial_path(target)
        try:
            with local.open("rb") as source, open(temporary, "xb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
                sink.flush()
                os.fsync(sink.fileno())
            if replace:
                os.replace(temporary, target)
            else:
                try:
                    os.link(temporary, target)  # atomic, and refuses to overwrite
                except FileExistsError:
                    raise TargetExistsError(
                        f"local: {target} appeared while uploading; not overwritten"
                    ) from None
        except OSError as exc:
            if isinstance(exc, TargetExistsError):
                raise
            raise TransportError(
                f"local: cannot write {target}: {exc.strerror or exc}", retryable=exc.errno not in (13, 30)
            ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
