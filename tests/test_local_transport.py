"""The local folder transport and the source selection rules every transport shares."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from invoice_hub.config.models import LocalSource
from invoice_hub.transports import TargetExistsError, TransportError
from invoice_hub.transports.base import RemoteFile
from invoice_hub.transports.local import LocalTransport
from invoice_hub.transports.selection import select_candidates
from tests.helpers import drop, files_in


def source(**fields) -> LocalSource:
    return LocalSource(type="local", **fields)


def test_listing_flat_and_recursive(tmp_path: Path) -> None:
    drop(tmp_path / "in", "a.xml", "a")
    drop(tmp_path / "in" / "sub", "b.xml", "bb")
    transport = LocalTransport(tmp_path)
    flat = transport.list_files("in", recursive=False)
    assert [(Path(f.path).name, f.size) for f in flat] == [("a.xml", 1)]
    deep = transport.list_files("in", recursive=True)
    assert sorted(Path(f.path).name for f in deep) == ["a.xml", "b.xml"]


def test_missing_source_folder_is_a_clear_non_retryable_error(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match=r"source folder .*/nowhere does not exist") as raised:
        LocalTransport(tmp_path).list_files("nowhere", recursive=False)
    assert raised.value.retryable is False


def test_selection_rules() -> None:
    now = time.time()
    files = [
        RemoteFile("/in/old.xml", 1, now - 600),
        RemoteFile("/in/young.xml", 1, now - 5),
        RemoteFile("/in/notes.txt", 1, now - 600),
        RemoteFile("/rootfile.xml", 1, now - 600),
        RemoteFile("/in/.hidden.xml", 1, now - 600),
        RemoteFile("/in/.x.xml.1234.part", 1, now - 600),
        RemoteFile("/in/done/archived.xml", 1, now - 600),
        RemoteFile("/in/older.xml", 1, now - 900),
    ]
    chosen = select_candidates(
        files,
        source(pattern="*.xml", min_age_seconds=60, ignore_root_files=True),
        now,
        archive_folders=["/in/done"],
    )
    assert [f.path for f in chosen] == ["/in/older.xml", "/in/old.xml"], "oldest first"
    everything = select_candidates(files, source(), now)
    assert "/rootfile.xml" in [f.path for f in everything]
    assert "/in/young.xml" in [f.path for f in everything]


def test_upload_is_atomic_and_never_overwrites_by_default(tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(b"new")
    out = tmp_path / "out"
    transport = LocalTransport(tmp_path)
    transport.upload(payload, "out/a.xml", replace=False)
    assert (out / "a.xml").read_bytes() == b"new"
    payload.write_bytes(b"newer")
    with pytest.raises(TargetExistsError):
        transport.upload(payload, "out/a.xml", replace=False)
    assert (out / "a.xml").read_bytes() == b"new"
    transport.upload(payload, "out/a.xml", replace=True)
    assert (out / "a.xml").read_bytes() == b"newer"
    assert files_in(out) == ["a.xml"], "no temporary file is left behind"


def test_target_path_policies(tmp_path: Path) -> None:
    transport = LocalTransport(tmp_path)
    drop(tmp_path / "out", "a.xml", "x")
    drop(tmp_path / "out", "a_1.xml", "x")
    folder = transport.resolve("out")
    assert transport.target_path(folder, "b.xml", "unique") == f"{folder}/b.xml"
    assert transport.target_path(folder, "a.xml", "unique") == f"{folder}/a_2.xml"
    assert transport.target_path(folder, "a.xml", "replace") == f"{folder}/a.xml"
    with pytest.raises(TargetExistsError, match=r"a.xml exists already; set if_exists"):
        transport.target_path(folder, "a.xml", "fail")


def test_move_creates_the_folder_and_picks_a_unique_name(tmp_path: Path) -> None:
    transport = LocalTransport(tmp_path)
    first = drop(tmp_path / "in", "a.xml", "1")
    moved = transport.move(str(first), "archive")
    assert moved == str(tmp_path / "archive" / "a.xml")
    second = drop(tmp_path / "in", "a.xml", "2")
    moved_again = transport.move(str(second), "archive")
    assert moved_again == str(tmp_path / "archive" / "a_1.xml")
    assert (tmp_path / "archive" / "a.xml").read_text() == "1"
    assert files_in(tmp_path / "in") == []
