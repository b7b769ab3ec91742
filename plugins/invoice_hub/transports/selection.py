"""Which listed files are candidates: the rules every source type shares."""

from __future__ import annotations

import fnmatch
import logging
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from invoice_hub.config.models import MoveTo, SourceBase
from invoice_hub.config.safety import is_inside
from invoice_hub.transports.base import RemoteFile, Transport

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


def confine(files: Iterable[RemoteFile], root: str) -> tuple[list[RemoteFile], list[str]]:
    """The listed files that lie inside ``root`` (the source folder as the transport resolves it), and
    a notice for each other one.

    A listing is the server's word: a name with ``/``, ``..`` or an absolute path in it (from a hostile
    or broken server, or an attachment called ``../x``) would otherwise make the hub read, move or
    delete outside the configured folder. A path must be normalised already (no ``.``, ``..`` or
    ``//`` parts) and lie below ``root``.
    """
    inside: list[RemoteFile] = []
    notices: list[str] = []
    for remote in files:
        if (
            posixpath.normpath(remote.path) == remote.path
            and remote.path != root
            and is_inside(remote.path, root)
        ):
            inside.append(remote)
        else:
            notices.append(
                f"{remote.path!r} was listed but lies outside the source folder {root}: not read, "
                "moved or deleted"
            )
    return inside, notices


@dataclass
class Selection:
    """What ``wait_for_files`` found at a source: every file listed, the candidates, and what a person
    should know (files outside the folder, links not followed, messages without attachments)."""

    listed: list[RemoteFile]
    candidates: list[RemoteFile]
    notices: list[str] = field(default_factory=list)


def find_candidates(transport: Transport, source: SourceBase, now: float) -> Selection:
    """List ``source`` through ``transport`` and keep the candidates: inside the source folder (see
    :func:`confine`), matching the rules of :func:`select_candidates`."""
    listed = transport.list_files(source.path, source.recursive)
    inside, notices = confine(listed, transport.source_root(source.path))
    archive = [
        transport.resolve(action.move_to)
        for action in (source.on_success, source.on_failure)
        if isinstance(action, MoveTo)
    ]
    candidates = select_candidates(inside, source, now, archive)
    notices += transport.notices_after_selection(candidates)
    return Selection(listed=listed, candidates=candidates, notices=notices)
