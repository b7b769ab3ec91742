"""Which listed files are candidates: the rules every source type shares."""

from __future__ import annotations

import fnmatch
import logging
import posixpath
from collections.abc import Iterable

from invoice_hub.config.models import SourceBase
from invoice_hub.transports.base import RemoteFile

#: Names the hub itself writes at a source or destination and must never pick up as input.
HUB_SUFFIXES = (".part", ".error.json")

log = logging.getLogger(__name__)


def is_text(path: str) -> bool:
    """Whether ``path`` is text: a local name with bytes that are not UTF-8 is listed with lone
    surrogates in it (Python's surrogateescape), which nothing downstream can encode."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def select_candidates(
    files: Iterable[RemoteFile], source: SourceBase, now: float, archive_folders: Iterable[str] = ()
) -> list[RemoteFile]:
    """Files matching ``pattern``, old enough, outside the root when asked, oldest first.

    Files in ``archive_folders`` (the move_to folders of on_success / on_failure, as the transport
    resolves them) are excluded too, so that a recursive source never reads back what it archived.
    """
    excluded = [posixpath.normpath(folder).rstrip("/") + "/" for folder in archive_folders]
    chosen = []
    for remote in files:
        name = remote.name
        if name.startswith(".") or name.endswith(HUB_SUFFIXES):
            continue
        if not fnmatch.fnmatchcase(name, source.pattern):
            continue
        if not is_text(remote.path):
            log.warning(
                "%r: its name is not UTF-8 (bytes of another encoding), which no ledger, XCom or "
                "destination can hold; it stays at the source: rename it",
                remote.path,
            )
            continue
        if source.ignore_root_files and posixpath.dirname(remote.path) == "/":
            continue
        if source.min_age_seconds and now - remote.mtime < source.min_age_seconds:
            continue
        if any(remote.path.startswith(folder) for folder in excluded):
            continue
        chosen.append(remote)
    return sorted(chosen, key=lambda f: (f.mtime, f.path))
