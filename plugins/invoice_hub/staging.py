"""The run's staging area: where files wait between tasks, addressed by URL.

Tasks exchange only manifests (URLs, hashes, ids) through XCom; the bytes stay here. The base URL
(``INVOICE_HUB_STAGING_URL``) may name any store Airflow's ObjectStoragePath reaches, so tasks can
run on different workers; by default it is a folder under the Airflow home.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, TypeVar

from airflow.sdk import ObjectStoragePath

from invoice_hub import settings
from invoice_hub.naming import safe_name

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1024 * 1024
#: Upload part and read-ahead block of a file on an object store. s3fs's default (50 MiB) made one
#: 96 MiB copy peak at 160 MiB of memory; with 8 MiB parts a copy of any size stays under ~30 MiB.
#: (S3 needs parts of 5 MiB or more.)
PART_SIZE = 8 * _CHUNK
LOCAL_PROTOCOLS = frozenset({"file", "local"})
#: A staged file on an object store up to this size is read whole into memory, together with the
#: others of its batch (one GET each, all in flight at once); a larger one is streamed in parts.
READ_WHOLE = _CHUNK
#: Bytes of small staged files held in memory at once by :func:`read_staged` (a batch of 500 invoices
#: of 3 KiB is 1.5 MiB; 500 PDFs of 1 MiB are read in groups).
MEMORY = 64 * _CHUNK

T = TypeVar("T")
A = TypeVar("A")


def object_path(url: str | ObjectStoragePath) -> ObjectStoragePath:
    """``url`` as an ObjectStoragePath whose file system streams in bounded parts.

    ObjectStoragePath keeps one file system per protocol and connection in the process, so bounding
    its default block size here bounds every open on that store, the call sites' own ``path.open``
    included; a local path is left as it is (the fast path: no buffering of our own).
    """
    path = ObjectStoragePath(url) if isinstance(url, str) else url
    if path.protocol not in LOCAL_PROTOCOLS:
        fs = path.fs
        if getattr(fs, "default_block_size", 0) > PART_SIZE:
            fs.default_block_size = PART_SIZE
    return path


def safe_segment(text: str) -> str:
    """``text`` usable as one path segment in any object store (run ids contain ':' and '+')."""
    return _UNSAFE.sub("_", text).strip("._") or "_"


class HashingSink:
    """Counts and hashes what a writer writes, so the output is not read back to get its sha256."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink, self.sha256, self.size = sink, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.sink.write(data)


class Staging:
    """The staging folder of one DAG run: ``<base>/<dag_id>/<run_id>/{in,out}/...``."""

    def __init__(self, dag_id: str, run_id: str, base_url: str | None = None) -> None:
        self.root = object_path(base_url or settings.staging_url()) / dag_id / safe_segment(run_id)
        self._made: set[str] = set()

    def new_path(self, area: str, key: str, name: str) -> ObjectStoragePath:
        """A path for ``name`` in ``area`` (in / out), prefixed by ``key`` so equal names never collide;
        bounded like every name from outside (a 300-byte attachment name must not fail the run)."""
        folder = self.root / area
        if area not in self._made:
            folder.mkdir(parents=True, exist_ok=True)  # one folder per area: object stores need no more
            self._made.add(area)
        return folder / f"{safe_segment(key)}-{safe_name(safe_segment(name))}"

    @property
    def is_local(self) -> bool:
        return self.root.protocol in LOCAL_PROTOCOLS

    def local_path(self, path: ObjectStoragePath) -> Path:
        """The file system path of ``path`` in a local staging area."""
        return Path(path.path)

    def put_findings(self, key: str, name: str, findings: list) -> str:
        """Validation findings as JSON beside the run's outputs (archive writes them beside a failed
        file); their URL."""
        import json

        path = self.new_path("out", f"{key}-findings", f"{name}.json")
        with path.open("w") as sink:
            json.dump([f.model_dump() for f in findings], sink, indent=2)
        return str(path)

    def put(self, local: Path, path: ObjectStoragePath) -> None:
        """Copy a local file into a (remote) staging area."""
        self.put_many([(local, path)])

    def put_many(self, files: Sequence[tuple[Path, ObjectStoragePath]]) -> None:
        """Copy local files into a (remote) staging area: the small ones all in flight at once (a
        PUT each), the large ones one after the other in :data:`PART_SIZE` parts (bounded memory;
        a multipart upload is completed whole or not at all)."""
        small = [(path, local) for local, path in files if local.stat().st_size <= READ_WHOLE]
        _run_all(small, lambda fs, path, local: fs._put_file(str(local), path.path), _put_one)
        for local, path in files:
            if local.stat().st_size > READ_WHOLE:
                _put_one(path, local)

    def remove(self) -> None:
        """Drop the run's staging folder (its files are archived or delivered by then)."""
        if self.root.exists():
            self.root.fs.rm(self.root.path, recursive=True)


class StagedBytes:
    """A small staged file read from an object store, held in memory for its upload.

    It reads like the :class:`~pathlib.Path` of a local staged file (``name``, ``open``, ``read_bytes``,
    ``stat().st_size``), which is all a transport's upload asks of its source
    (:class:`invoice_hub.transports.base.Readable`): nothing is written to a temporary file.
    """

    def __init__(self, url: str, data: bytes) -> None:
        self.url, self.data = url, data
        self.name = url.rstrip("/").rsplit("/", 1)[-1]

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError(f"{self.url} is read-only here (mode {mode!r})")
        return io.BytesIO(self.data)

    def read_bytes(self) -> bytes:
        return self.data

    def stat(self) -> SimpleNamespace:
        return SimpleNamespace(st_size=len(self.data))

    def __repr__(self) -> str:
        return f"StagedBytes({self.url!r}, {len(self.data)} bytes)"


#: What an upload reads a staged file from: the file itself (local staging), the bytes of a small one
#: read from an object store, or the object store path of a large one (streamed in parts).
Staged = Path | StagedBytes | ObjectStoragePath


def read_staged(files: Sequence[tuple[str, int]]) -> Iterator[list[Staged]]:
    """The staged files (URL, size), in order and in groups, as uploads read them, with no local copy.

    Local staging: each file's own path (one group). On an object store the small files of a group
    are fetched together, every GET in flight at once on the store's own event loop (2,000 invoices
    one after the other cost 2,000 round trips end to end); a group holds at most :data:`MEMORY`
    bytes of them. A large file is its path, which the transport streams in parts.
    """
    group: list[tuple[ObjectStoragePath, int]] = []
    held = 0
    for url, size in files:
        path = object_path(url)
        if path.protocol in LOCAL_PROTOCOLS:
            group.append((path, size))
            continue
        if size <= READ_WHOLE and held + size > MEMORY and group:
            yield _resolve(group)
            group, held = [], 0
        group.append((path, size))
        if size <= READ_WHOLE:
            held += size
    if group:
        yield _resolve(group)


def staged_file(url: str, size: int) -> Staged:
    """One staged file as :func:`read_staged` gives it."""
    (only,) = next(read_staged([(url, size)]))
    return only


def _resolve(group: list[tuple[ObjectStoragePath, int]]) -> list[Staged]:
    """An empty file is not asked for: a range of an empty object is one the store may refuse (416)."""
    small = [path for path, size in group if path.protocol not in LOCAL_PROTOCOLS and 0 < size <= READ_WHOLE]
    fetched = iter(_cat_many(small))
    resolved: list[Staged] = []
    for path, size in group:
        if path.protocol in LOCAL_PROTOCOLS:
            resolved.append(Path(path.path))
        elif size == 0:
            resolved.append(StagedBytes(str(path), b""))
        elif size <= READ_WHOLE:
            resolved.append(StagedBytes(str(path), next(fetched)))
        else:
            resolved.append(path)
    return resolved


def _cat_many(paths: list[ObjectStoragePath]) -> list[bytes]:
    """Each object's bytes, one GET each, all in flight together (fsspec's async API: s3fs, gcsfs, adlfs)."""
    # start=0: a GET of the whole object, "bytes=0-"; without a range s3fs first asks the size (a HEAD)
    return _run_all(
        [(path, None) for path in paths],
        lambda fs, path, _: fs._cat_file(path.path, start=0),
        lambda path, _: path.read_bytes(),
    )


def _run_all(
    jobs: Sequence[tuple[ObjectStoragePath, A]],
    concurrent: Callable[[Any, ObjectStoragePath, A], Awaitable[T]],
    one: Callable[[ObjectStoragePath, A], T],
) -> list[T]:
    """``concurrent(fs, path, arg)`` for every (path, arg) on its file system's event loop,
    ``fs.batch_size`` at a time (an async file system: s3fs, gcsfs, adlfs), else ``one(path, arg)``
    after the other; the results in order. The first error is raised (as the same jobs one at a time would
    have raised it), on an async file system once every job of the group ended."""
    from fsspec.asyn import _run_coros_in_chunks, sync

    results: list[Any] = [None] * len(jobs)
    by_fs: dict[int, tuple[Any, list[int]]] = {}
    for index, (path, _) in enumerate(jobs):
        by_fs.setdefault(id(path.fs), (path.fs, []))[1].append(index)
    for fs, indexes in by_fs.values():
        if getattr(fs, "async_impl", False):
            done = sync(
                fs.loop,
                _run_coros_in_chunks,
                [concurrent(fs, *jobs[i]) for i in indexes],
                batch_size=fs.batch_size,
                nofiles=True,
                return_exceptions=True,
            )
        else:
            done = [one(*jobs[i]) for i in indexes]
        for index, value in zip(indexes, done, strict=True):
            if isinstance(value, BaseException):
                raise value
            results[index] = value
    return results


@contextlib.contextmanager
def write_atomically(target: ObjectStoragePath) -> Iterator[BinaryIO]:
    """A writer for ``target`` whose content appears there whole or not at all.

    On an object store the final key is written directly: a PUT (or a multipart upload, completed by
    the last call) is atomic, readers see the old object or the new one, never a part; a rename would
    cost a server-side copy and a delete per object. If the block raises, the upload is abandoned
    (a multipart upload aborted) instead of completed with what was written so far: fsspec's own
    ``with`` closes, and so commits, the file on error too. On a local disk: a hidden ``.partial``
    beside the target, renamed when complete.
    """
    if target.protocol in LOCAL_PROTOCOLS:
        partial = target.parent / f".{target.name}.partial"
        try:
            with partial.open("wb") as writer:
                yield writer  # type: ignore[misc]
            partial.rename(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(partial.path)
        return
    # the file system's own file, not ObjectStoragePath's wrapper around it: abandoning must reach it
    writer = target.fs.open(target.path, mode="wb")
    try:
        yield writer  # type: ignore[misc]
    except BaseException:
        _abandon(writer)
        raise
    writer.close()


def _abandon(writer: Any) -> None:
    """Drop an unfinished object store upload: nothing reaches the key, no multipart upload is left."""
    try:
        writer.discard()  # s3fs: aborts the multipart upload when one was started
    finally:
        writer.closed = True  # neither close() nor the garbage collector may flush and commit it now


def _put_one(path: ObjectStoragePath, local: Path) -> None:
    with local.open("rb") as source, write_atomically(path) as sink:
        shutil.copyfileobj(source, sink, _CHUNK)


@contextlib.contextmanager
def local_file(url: str) -> Iterator[Path]:
    """A local path with the staged file's bytes: the file itself when staging is local, else a copy."""
    path = object_path(url)
    if path.protocol in LOCAL_PROTOCOLS:
        yield Path(path.path)
        return
    with tempfile.TemporaryDirectory(prefix="invoice-hub-") as folder:
        copy = Path(folder) / path.name
        with path.open("rb") as source, copy.open("wb") as sink:
            shutil.copyfileobj(source, sink, _CHUNK)
        yield copy
