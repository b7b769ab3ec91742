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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, NamedTuple, TypeVar

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
#: Small files staged together on an object store go up packed into objects of at most this size (one
#: PUT for a round of 250 invoices, not 250): an object store's cost is its requests, not its bytes.
PACK = PART_SIZE
#: A member of a pack: ``<pack URL>#member=<name>&offset=<first byte>&size=<bytes>``. Staging's own keys
#: are made of ``[A-Za-z0-9._-]`` only (:func:`safe_segment`), so a ``#`` never belongs to a key there.
_MEMBER = re.compile(r"#member=(?P<name>[A-Za-z0-9._-]+)&offset=(?P<offset>[0-9]+)&size=(?P<size>[0-9]+)\Z")

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

    def put(self, local: Path, path: ObjectStoragePath) -> str:
        """Copy a local file into a (remote) staging area; its staged URL."""
        (url,) = self.put_many([(local, path)])
        return url

    def put_many(self, files: Sequence[tuple[Path, ObjectStoragePath]]) -> list[str]:
        """Copy local files into a (remote) staging area; each one's staged URL, in order.

        The small ones go up packed, :data:`PACK` bytes to an object, the packs all in flight at once
        (a PUT each; a file alone in its pack is its own object), every file then a member URL of its
        pack (:func:`read_staged` and :func:`open_staged` read it back); the large ones one after
        the other in :data:`PART_SIZE` parts (bounded memory; a multipart upload is completed whole
        or not at all)."""
        urls = [str(path) for _, path in files]
        if self.is_local:  # a local file is no request: nothing to save by packing
            for local, path in files:
                _put_one(path, local)
            return urls
        sizes = [local.stat().st_size for local, _ in files]
        packs: list[list[int]] = []
        held = 0
        for index, size in enumerate(sizes):
            if size > READ_WHOLE:
                continue
            if not packs or held + size > PACK:
                packs.append([])
                held = 0
            packs[-1].append(index)
            held += size
        jobs: list[tuple[ObjectStoragePath, Path | bytes]] = []
        for members in packs:
            if len(members) == 1:
                jobs.append((files[members[0]][1], files[members[0]][0]))
                continue
            pack = files[members[0]][1].parent / f"{files[members[0]][1].name}.pack"
            data, offset = bytearray(), 0
            for index in members:
                local, path = files[index]
                data += local.read_bytes()
                urls[index] = f"{pack}#member={path.name}&offset={offset}&size={sizes[index]}"
                offset += sizes[index]
            jobs.append((pack, bytes(data)))
        _run_all(jobs, _put_async, _put_one)
        for (local, path), size in zip(files, sizes, strict=True):
            if size > READ_WHOLE:
                _put_one(path, local)
        return urls

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

    def __init__(self, url: str, data: bytes, name: str | None = None) -> None:
        self.url, self.data = url, data
        self.name = name or url.rstrip("/").rsplit("/", 1)[-1]

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


class Member(NamedTuple):
    """Where a packed staged file lies: its pack, its own name, its first byte and its size."""

    pack: ObjectStoragePath
    name: str
    offset: int
    size: int


def member(url: str) -> Member | None:
    """The pack member ``url`` names (see :meth:`Staging.put_many`), or None for a file of its own."""
    match = _MEMBER.search(url)
    if match is None:
        return None
    return Member(object_path(url[: match.start()]), match["name"], int(match["offset"]), int(match["size"]))


def read_staged(files: Sequence[tuple[str, int]]) -> Iterator[list[Staged]]:
    """The staged files (URL, size), in order and in groups, as uploads read them, with no local copy.

    Local staging: each file's own path (one group). On an object store the small files of a group
    are fetched together, every GET in flight at once on the store's own event loop (2,000 invoices
    one after the other cost 2,000 round trips end to end), the members of one pack that lie side
    by side in one GET; a group holds at most :data:`MEMORY` bytes of them. A large file is its
    path, which the transport streams in parts.
    """
    group: list[tuple[str, int]] = []
    held = 0
    for url, size in files:
        if size <= READ_WHOLE and held + size > MEMORY and group:
            yield _resolve(group)
            group, held = [], 0
        group.append((url, size))
        if size <= READ_WHOLE:  # (a local one is not held, but a smaller group of them costs nothing)
            held += size
    if group:
        yield _resolve(group)


def staged_file(url: str, size: int) -> Staged:
    """One staged file as :func:`read_staged` gives it."""
    (only,) = next(read_staged([(url, size)]))
    return only


def open_staged(url: str) -> BinaryIO:
    """A reader of the staged file ``url``, a file of its own or a member of a pack."""
    packed = member(url)
    if packed is None:
        return object_path(url).open("rb")
    return io.BytesIO(_members([packed])[0])


def _resolve(group: list[tuple[str, int]]) -> list[Staged]:
    """An empty file is not asked for: a range of an empty object is one the store may refuse (416)."""
    resolved: list[Staged | None] = [None] * len(group)
    small: list[tuple[int, ObjectStoragePath]] = []
    packed: list[tuple[int, Member]] = []
    for index, (url, size) in enumerate(group):
        inside = member(url)
        if inside is not None:
            packed.append((index, inside))
            continue
        path = object_path(url)
        if path.protocol in LOCAL_PROTOCOLS:
            resolved[index] = Path(path.path)
        elif size == 0:
            resolved[index] = StagedBytes(url, b"")
        elif size <= READ_WHOLE:
            small.append((index, path))
        else:
            resolved[index] = path
    for (index, _path), data in zip(small, _cat_many([path for _, path in small]), strict=True):
        resolved[index] = StagedBytes(group[index][0], data)
    for (index, inside), data in zip(packed, _members(m for _, m in packed), strict=True):
        resolved[index] = StagedBytes(group[index][0], data, inside.name)
    return [staged for staged in resolved if staged is not None]


def _members(members: Iterable[Member]) -> list[bytes]:
    """The bytes of each pack member: the members of a pack that lie side by side in one range (an
    empty member is not asked for, as an empty file is not)."""
    wanted = list(members)
    ranges: list[tuple[ObjectStoragePath, int, int]] = []  # (pack, offset, size) to read
    spans: list[tuple[int, int] | None] = []  # per member: its range, and where it starts in that range
    for inside in wanted:
        if inside.size == 0:
            spans.append(None)
            continue
        if ranges:
            pack, offset, size = ranges[-1]
            if str(pack) == str(inside.pack) and offset + size == inside.offset:
                ranges[-1] = (pack, offset, size + inside.size)
                spans.append((len(ranges) - 1, inside.offset - offset))
                continue
        ranges.append((inside.pack, inside.offset, inside.size))
        spans.append((len(ranges) - 1, 0))
    data = _read_ranges(ranges)
    return [
        b"" if span is None else data[span[0]][span[1] : span[1] + inside.size]
        for span, inside in zip(spans, wanted, strict=True)
    ]


def _read_ranges(ranges: list[tuple[ObjectStoragePath, int, int]]) -> list[bytes]:
    """Each (object, offset, size) range's bytes, one GET each, all in flight together."""
    return _run_all(
        [(path, (offset, size)) for path, offset, size in ranges],
        lambda fs, path, span: fs._cat_file(path.path, start=span[0], end=span[0] + span[1]),
        _read_range,
    )


def _read_range(path: ObjectStoragePath, span: tuple[int, int]) -> bytes:
    with path.open("rb") as reader:
        reader.seek(span[0])
        return reader.read(span[1])


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
    from fsspec.asyn import _run_coros_in_chunks, sync  # type: ignore[import-untyped]  # fsspec has no stubs

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
                yield writer
            partial.rename(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(partial.path)
        return
    # the file system's own file, not ObjectStoragePath's wrapper around it: abandoning must reach it
    writer = target.fs.open(target.path, mode="wb")
    try:
        yield writer
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


def _put_async(fs: Any, path: ObjectStoragePath, content: Path | bytes) -> Awaitable[Any]:
    if isinstance(content, bytes):
        return fs._pipe_file(path.path, content)
    return fs._put_file(str(content), path.path)


def _put_one(path: ObjectStoragePath, content: Path | bytes) -> None:
    with write_atomically(path) as sink:
        if isinstance(content, bytes):
            sink.write(content)
            return
        with content.open("rb") as source:
            shutil.copyfileobj(source, sink, _CHUNK)


def local_copies(files: Sequence[tuple[str, int]]) -> Iterator[Path]:
    """Each staged file (URL, size) as a local path, in order, for readers that need one (the XML
    and CSV parsers): the file itself when staging is local. On an object store the small files
    are fetched a group at a time, as :func:`read_staged` does for uploads (a pack's side-by-side
    members in one GET: 8 requests for 2,000 invoices, not 2,000), a large one streamed; each copy
    lives in a temporary folder until the next one is asked for."""
    with tempfile.TemporaryDirectory(prefix="invoice-hub-") as folder:
        for group in read_staged(files):
            for staged in group:
                if isinstance(staged, Path):
                    yield staged
                    continue
                copy = Path(folder) / safe_segment(staged.name)
                if isinstance(staged, StagedBytes):
                    copy.write_bytes(staged.data)
                else:
                    with staged.open("rb") as source, copy.open("wb") as sink:
                        shutil.copyfileobj(source, sink, _CHUNK)
                try:
                    yield copy
                finally:
                    copy.unlink()


@contextlib.contextmanager
def local_file(url: str) -> Iterator[Path]:
    """A local path with the staged file's bytes: the file itself when staging is local, else a copy."""
    packed = member(url)
    path = object_path(url) if packed is None else packed.pack
    if packed is None and path.protocol in LOCAL_PROTOCOLS:
        yield Path(path.path)
        return
    with tempfile.TemporaryDirectory(prefix="invoice-hub-") as folder:
        copy = Path(folder) / (path.name if packed is None else packed.name)
        with open_staged(url) as source, copy.open("wb") as sink:
            shutil.copyfileobj(source, sink, _CHUNK)
        yield copy
