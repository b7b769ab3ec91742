"""The document store: every received invoice's source file and every rendered export, by content.

Staging lives as long as a run; exports and backfills need the documents long after, possibly on
another worker, so they are kept here under their sha256 (``<base>/<aa>/<sha256><suffix>``): storing
the same document twice costs nothing, and a URL in the ledger always names the same bytes.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from airflow.sdk import ObjectStoragePath

from invoice_hub import settings
from invoice_hub.staging import LOCAL_PROTOCOLS, READ_WHOLE, object_path, open_staged, write_atomically

_CHUNK = 1024 * 1024


class DocumentStore:
    def __init__(self, base_url: str | None = None) -> None:
        self.root = object_path(base_url or settings.store_url())

    def _path(self, sha256: str, suffix: str) -> ObjectStoragePath:
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def put_file(self, source: ObjectStoragePath | Path | str, sha256: str, suffix: str = "") -> str:
        """Keep the file ``source`` (a path, or a URL such as a staging one, whose content hashes to
        ``sha256``); its URL."""

        def copy(writer: BinaryIO) -> None:
            with open_staged(source) if isinstance(source, str) else source.open("rb") as reader:
                shutil.copyfileobj(reader, writer, _CHUNK)

        size = source.stat().st_size if isinstance(source, Path) else None  # a URL: no HEAD for it
        return self._keep(self._path(sha256, suffix), copy, size)

    def put_bytes(self, data: bytes, suffix: str = "") -> tuple[str, str]:
        """Keep ``data``; its URL and sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        return self._keep(self._path(sha256, suffix), lambda writer: writer.write(data), len(data)), sha256

    def _keep(self, target: ObjectStoragePath, fill: Callable[[BinaryIO], object], size: int | None) -> str:
        """Write ``target`` unless it is there; readers never see half a document (see
        :func:`write_atomically`: on an object store the final key is written directly, no rename).

        A small document on an object store is written without looking first: the key names the
        content, so writing it again puts the same bytes there, in one PUT, where the look alone
        (s3fs: a HEAD, and a listing when the key is missing) costs as many round trips or more.
        """
        if self.is_local or size is None or size > READ_WHOLE:
            if target.exists():
                return str(target)
            if self.is_local:  # an object store has no folders to make
                target.parent.mkdir(parents=True, exist_ok=True)
        with write_atomically(target) as writer:
            fill(writer)
        return str(target)

    @property
    def is_local(self) -> bool:
        return self.root.protocol in LOCAL_PROTOCOLS

    @staticmethod
    def open(url: str) -> BinaryIO:
        return object_path(url).open("rb")
