"""Layouts of folders that a valid-looking integration file must not have, because running it would
read, move or delete what is not the partner's: the whole machine, Airflow's own files, the hub's own
data, or the integration's own outputs.

Checked with every integration file (by ``invoice-hub check-config`` and so by the DAG factory, which
loads files the same way). Local paths are judged as the hub would use them: relative ones against
the integration file's folder, links in them followed (a configured folder that is a link to ``/`` is
``/``). Remote endpoints (sftp, ftp, ftps, imap) are judged where the file alone can tell: the same
server (connection) and folder for a source and a destination, a ``move_to`` inside a recursive
source. Whether ``/`` on a server is dangerous cannot be told from here (it is often the account's
own, chrooted folder), so it is not refused there.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from invoice_hub import settings
from invoice_hub.config.models import Integration, MoveTo

KeyPath = tuple[str | int, ...]

#: Transport types that talk to the same server when their connection is the same.
_SERVER_FAMILY = {"sftp": "sftp", "ftp": "ftp", "ftps": "ftp", "imap": "imap", "pop3": "pop3"}


_EXAMPLE = {
    "source": "/srv/partners/NAME/outbox",
    "destination": "/srv/erp/inbox",
    "move_to": "/srv/partners/NAME/processed",
}


@dataclass(frozen=True)
class LayoutProblem:
    """One dangerous folder in an integration file: where (its key path) and what to do instead."""

    key_path: KeyPath
    message: str


@dataclass(frozen=True)
class _Place:
    """A folder the file names, as the hub would use it."""

    key_path: KeyPath
    role: str  # "source", "destination", "move_to"
    kind: str  # "local" or a server family
    conn_id: str | None
    path: str  # local: real absolute path; remote: normalised absolute path


def layout_problems(integration: Integration, file: Path) -> Iterator[LayoutProblem]:
    """Every dangerous layout of ``integration`` (read from ``file``), one problem per key."""
    places = list(_places(integration, file.parent))
    protected = protected_folders()
    for place in places:
        if place.kind != "local":
            continue
        if place.path == "/":
            yield LayoutProblem(
                place.key_path,
                f"the {place.role} folder is / (the whole machine); name the folder the partner's files "
                "are in, e.g. /srv/partners/acme/outbox",
            )
            continue
        # the most specific folder it is in (the staging area rather than the Airflow home around it)
        hits = sorted(
            (
                p
                for p in protected
                if is_inside(p.path, place.path) or (p.whole_tree and is_inside(place.path, p.path))
            ),
            key=lambda p: (not is_inside(place.path, p.path), -len(p.path)),
        )
        if hits:
            label, folder = hits[0].label, hits[0].path
            where = (
                "is" if place.path == folder else ("is inside" if is_inside(place.path, folder) else "holds")
            )
            yield LayoutProblem(
                place.key_path,
                f"{place.path} {where} {label} {folder}; the hub would {_verb(place.role)} files that are "
                f"not the partner's there. Use a folder of its own outside it, e.g. {_EXAMPLE[place.role]}",
            )
    yield from _overlaps(integration, places)


def _overlaps(integration: Integration, places: list[_Place]) -> Iterator[LayoutProblem]:
    """Folders of the file that run into each other: outputs archived away, archives read again.

    A destination (or ``move_to``) inside the source folder is listed by the source when it is the
    folder itself or the source is recursive; a subfolder of a non-recursive source is not.
    """
    source = integration.file_source
    listed = next((p for p in places if p.role == "source"), None)
    if source is None or listed is None:
        return
    archiving = [key for key in ("on_success", "on_failure") if getattr(source, key) != "keep"]
    for place in places:
        if not _same_server(place, listed) or not is_inside(place.path, listed.path):
            continue
        listed_again = place.path == listed.path or source.recursive
        if place.role == "destination" and archiving and listed_again:
            action = getattr(source, archiving[0])
            what = "deletes" if action == "delete" else f"moves to {action.move_to}"
            where = (
                "the source folder"
                if place.path == listed.path
                else f"inside the source folder {listed.path}"
            )
            yield LayoutProblem(
                place.key_path,
                f"{place.path} is {where} and source.{archiving[0]} {what} the files read there: the "
                "next runs would read the delivered files as new ones and archive them away from the "
                "destination. Deliver to a folder outside the source, or keep the source files "
                f"({archiving[0]}: keep)",
            )
        elif place.role == "move_to" and place.path == listed.path:
            yield LayoutProblem(
                place.key_path,
                f"{place.path} is the source folder itself: moved files would be read again by the next "
                "run; move them to a folder beside it, e.g. "
                f"{posixpath.join(posixpath.dirname(listed.path), 'processed')}",
            )
        elif place.role == "move_to" and source.recursive:
            yield LayoutProblem(
                place.key_path,
                f"{place.path} is inside the folder tree that the recursive source {listed.path} lists: "
                "moved files would be listed again by the next run. Move them to a folder outside it "
                "(e.g. beside it), or set recursive: false",
            )


def _places(integration: Integration, base_dir: Path) -> Iterator[_Place]:
    source = integration.file_source
    if source is not None:
        yield _place(("source", "path"), "source", source, source.path, base_dir)
        for key in ("on_success", "on_failure"):
            action = getattr(source, key)
            if isinstance(action, MoveTo):
                yield _place(("source", key, "move_to"), "move_to", source, action.move_to, base_dir)
    for index, destination in enumerate(integration.destinations):
        yield from _destination_place(("destinations", index, "path"), destination, base_dir)
    for c, customer in enumerate(integration.customers):
        for index, destination in enumerate(customer.destinations):
            yield from _destination_place(
                ("customers", c, "destinations", index, "path"), destination, base_dir
            )


def _destination_place(key_path: KeyPath, destination: Any, base_dir: Path) -> Iterator[_Place]:
    if destination.type in ("email", "http"):
        return  # sends, stores no files
    yield _place(key_path, "destination", destination, destination.path, base_dir)


def _place(key_path: KeyPath, role: str, endpoint: Any, path: str, base_dir: Path) -> _Place:
    if endpoint.type == "local":
        return _Place(key_path, role, "local", None, real_path(base_dir / path))
    conn_id = getattr(endpoint, "conn_id", None)
    if endpoint.type in ("imap", "pop3"):
        path = "/" + (path.strip("/") or "INBOX")
    return _Place(
        key_path, role, _SERVER_FAMILY[endpoint.type], conn_id, posixpath.normpath(posixpath.join("/", path))
    )


def _same_server(a: _Place, b: _Place) -> bool:
    return a.kind == b.kind and a.conn_id == b.conn_id


def is_inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (both absolute and normalised): the one test of confinement
    the config checks and the transports share."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _verb(role: str) -> str:
    return {"source": "read, move or delete", "destination": "write or overwrite", "move_to": "move"}[role]


def real_path(path: Path | str) -> str:
    """The absolute path with every link followed (missing parts kept as written)."""
    return os.path.realpath(path)


def dags_folder() -> Path:
    """Airflow's DAG folder: from Airflow's configuration when Airflow is loaded already (in the DAG
    processor), else from its environment variable or default (the CLI does not import Airflow)."""
    configuration = sys.modules.get("airflow.configuration")
    if configuration is not None:
        with contextlib.suppress(Exception):  # an Airflow without the option: fall back as Airflow would
            return Path(configuration.conf.get("core", "dags_folder"))
    return Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER") or settings.airflow_home() / "dags")


@dataclass(frozen=True)
class Protected:
    """A folder of Airflow's or the hub's own: nothing may be read, written or archived in or above it.

    ``whole_tree`` False: only the folder itself counts, not the folders below it, because it is read
    without recursion (the integrations and mappings folders: a partner's folder next to the
    integration files, ``path: inbox``, is the documented way of writing a relative path).
    """

    label: str
    path: str
    whole_tree: bool = True


#: The environment the protected folders come from (settings.py and Airflow's own defaults); what
#: the problems cache (problem_cache.py) is keyed on too.
ENVIRONMENT = (
    "AIRFLOW_HOME",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "INVOICE_HUB_INTEGRATIONS_DIR",
    "INVOICE_HUB_MAPPINGS_DIR",
    "INVOICE_HUB_STAGING_URL",
    "INVOICE_HUB_STORE_URL",
    "HOME",
)


def protected_folders() -> tuple[Protected, ...]:
    """Each folder no source, destination or move_to may be in or above (see :class:`Protected`).

    Worked out once per environment: a thousand integration files share it, and reading Airflow's
    configuration and resolving links is most of the cost of checking a file.
    """
    return _protected(
        tuple(os.environ.get(key) for key in ENVIRONMENT), "airflow.configuration" in sys.modules
    )


@lru_cache(maxsize=8)
def _protected(environment: tuple[str | None, ...], airflow_loaded: bool) -> tuple[Protected, ...]:
    named = [
        ("the Airflow home (AIRFLOW_HOME)", str(settings.airflow_home()), True),
        ("the hub's own data folder", str(settings.hub_home()), True),
        ("the hub's staging area (INVOICE_HUB_STAGING_URL)", _local_folder(settings.staging_url()), True),
        ("the hub's document store (INVOICE_HUB_STORE_URL)", _local_folder(settings.store_url()), True),
        ("the integrations folder (INVOICE_HUB_INTEGRATIONS_DIR)", str(settings.integrations_dir()), False),
        ("the mappings folder (INVOICE_HUB_MAPPINGS_DIR)", str(settings.mappings_dir()), False),
        ("Airflow's DAG folder ([core] dags_folder)", str(dags_folder()), True),
    ]
    return tuple(Protected(label, real_path(folder), tree) for label, folder, tree in named if folder)


def _local_folder(url: str) -> str:
    """The folder of a ``file://`` URL (or a plain path); "" for object stores (s3://, ...)."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(url).path)
    return "" if "://" in url else url
