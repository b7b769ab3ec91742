"""The run's staging area: where files wait between tasks, addressed by URL.

Tasks exchange only manifests (URLs, hashes, ids) through XCom; the bytes stay here. The base URL
(``INVOICE_HUB_STAGING_URL``) may name any store Airflow's ObjectStoragePath reaches, so tasks can
run on different workers; by default it is a folder under the Airflow home.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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
        with local.open("rb") as source, path.open("wb") as sink:
            shutil.copyfileobj(source, sink, _CHUNK)

    def remove(self) -> None:
        """Drop the run's staging folder (its files are archived or delivered by then)."""
        if self.root.exists():
            self.root.fs.rm(self.root.path, recursive=True)


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
