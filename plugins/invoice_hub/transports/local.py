"""A folder on this machine (or a mounted share) as a source or destination."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from invoice_hub.transports.base import (
    RemoteFile,
    TargetExistsError,
    Transport,
    TransportError,
    partial_path,
)

_CHUNK = 1024 * 1024


class LocalTransport(Transport):
    """Paths are absolute, or relative to ``base_dir`` (the folder of the integration file)."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.label = "local"

    def resolve(self, path: str) -> str:
        """``path`` as an absolute, normalised path (relative ones against the integration's folder)."""
        return os.path.normpath(self.base_dir / path)

    def list_files(self, folder: str, recursive: bool) -> list[RemoteFile]:
        root = self.resolve(folder)
        if not os.path.isdir(root):
            raise TransportError(
                f"local: source folder {root} does not exist; create it or fix source.path", retryable=False
            )
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
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        pending.append(entry.path)
                elif entry.is_file():
                    stat = entry.stat()
                    found.append(RemoteFile(path=entry.path, size=stat.st_size, mtime=stat.st_mtime))
        return found

    def download(self, path: str, into: BinaryIO, size: int | None = None) -> None:
        try:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, into, _CHUNK)
        except FileNotFoundError as exc:
            raise TransportError(
                f"local: {path} disappeared before it could be read", retryable=False
            ) from exc
        except PermissionError as exc:
            raise TransportError(f"local: no permission to read {path}", retryable=False) from exc

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

    def upload(self, local: Path, path: str, *, replace: bool) -> None:
        target = self.resolve(path)
        folder = os.path.dirname(target)
        self.make_folder(folder)
        temporary = partial_path(target)
        try:
            with open(local, "rb") as source, open(temporary, "xb") as sink:
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
