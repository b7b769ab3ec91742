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
from invoice_hub.staging import object_path

_CHUNK = 1024 * 1024


class DocumentStore:
    def __init__(self, base_url: str | None = None) -> None:
        self.root = object_path(base_url or settings.store_url())

    def _path(self, sha256: str, suffix: str) -> ObjectStoragePath:
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def put_file(self, source: ObjectStoragePath | Path | str, sha256: str, suffix: str = "") -> str:
        """Keep the file ``source`` (a path, or a URL such as a staging one, whose content hashes to
        ``sha256``); its URL."""
        readable = object_path(source) if isinstance(source, str) else source

        def copy(writer: BinaryIO) -> None:
            with readable.open("rb") as reader:
                shutil.copyfileobj(reader, writer, _CHUNK)

        return self._keep(self._path(sha256, suffix), copy)

    def put_bytes(self, data: bytes, suffix: str = "") -> tuple[str, str]:
        """Keep ``data``; its URL and sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        return self._keep(self._path(sha256, suffix), lambda writer: writer.write(data)), sha256

    @staticmethod
    def _keep(target: ObjectStoragePath, fill: Callable[[BinaryIO], object]) -> str:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.parent / f".{target.name}.partial"
            with partial.open("wb") as writer:
                fill(writer)
            partial.rename(target)  # readers never see half a document
        return str(target)

    @staticmethod
    def open(url: str) -> BinaryIO:
        return object_path(url).open("rb")  # type: ignore[return-value]
