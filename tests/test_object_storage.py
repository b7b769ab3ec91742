"""Staging and the document store on an S3 bucket (moto's server standing in for MinIO), and unchanged
on a local folder.

Tasks on different workers share nothing but the bucket: a URL one task writes into a manifest (or the
ledger) must open on another with no setting but the URL itself, and big files must pass through in
chunks, never read whole into memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from invoice_hub import settings
from invoice_hub import staging as staging_module
from invoice_hub.document_store import DocumentStore
from invoice_hub.exchange import fetch
from invoice_hub.exchange.deliver import deliver_files
from invoice_hub.ledger.store import Ledger
from invoice_hub.manifest import Candidate
from invoice_hub.staging import (
    PART_SIZE,
    READ_WHOLE,
    Staging,
    local_copies,
    local_file,
    member,
    object_path,
    open_staged,
    read_staged,
    write_atomically,
)
from invoice_hub.transports import open_transport
from invoice_hub.transports.local import LocalTransport
from tests.delivery_helpers import integration, staged_entries, transformed_entry
from tests.helpers import drop
from tests.servers.s3 import S3Server
from tests.servers.sshd import SshServer

BUCKET = "invoice-hub-test"
CONN_ID = "invoice_hub_s3"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log").start()
    # module-wide, like a deployment's environment; ObjectStoragePath caches file systems by connection
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = server.connection()
    try:
        yield server
    finally:
        os.environ.pop(f"AIRFLOW_CONN_{CONN_ID.upper()}", None)
        server.stop()


@pytest.fixture
def bucket(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """An empty bucket, and staging and store on it as docker-compose.yaml configures them."""
    s3.client().create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("INVOICE_HUB_STAGING_URL", f"s3://{BUCKET}/staging")
    monkeypatch.setenv("INVOICE_HUB_STORE_URL", f"s3://{BUCKET}/store")
    monkeypatch.setenv("INVOICE_HUB_OBJECT_STORE_CONN_ID", CONN_ID)
    yield s3
    client = s3.client()
    for key in s3.keys(BUCKET):
        client.delete_object(Bucket=BUCKET, Key=key)
    client.delete_bucket(Bucket=BUCKET)


def _big_file(path: Path, size: int) -> str:
    """A file of ``size`` pseudo-random bytes written in chunks; its sha256."""
    digest = hashlib.sha256()
    block = hashlib.sha256(b"seed").digest() * (MIB // 32)
    with path.open("wb") as sink:
        for index in range(size // MIB):
            chunk = block[index % 32 :] + block[: index % 32]  # not one repeated block: no dedup helps
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


# -- the connection in the URL --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/staging", f"s3://{CONN_ID}@bucket/staging"),
        ("gs://bucket/store", f"gs://{CONN_ID}@bucket/store"),
        ("s3://other_conn@bucket/staging", "s3://other_conn@bucket/staging"),  # named: kept
        ("file:///srv/hub/staging", "file:///srv/hub/staging"),  # local: no connection
        ("/srv/hub/staging", "/srv/hub/staging"),
    ],
)
def test_the_object_store_connection_is_written_into_remote_urls(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICE_HUB_OBJECT_STORE_CONN_ID", CONN_ID)
    monkeypatch.setenv("INVOICE_HUB_STAGING_URL", url)
    monkeypatch.setenv("INVOICE_HUB_STORE_URL", url)
    assert settings.staging_url() == expected
    assert settings.store_url() == expected


def test_without_a_connection_id_the_urls_are_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVOICE_HUB_OBJECT_STORE_CONN_ID", raising=False)
    monkeypatch.setenv("INVOICE_HUB_STAGING_URL", "s3://bucket/staging")
    assert settings.staging_url() == "s3://bucket/staging"


# -- staging on the bucket ------------------------------------------------------------------------


def test_staged_files_round_trip_through_their_url(bucket: S3Server) -> None:
    staging = Staging("an_integration", "manual__2026-12-01T10:00:00+00:00")
    assert not staging.is_local
    path = staging.new_path("out", "7-0", "invoice 1.xml")
    with path.open("wb") as sink:
        sink.write(b"<Invoice/>")
    url = str(path)
    assert url.startswith(
        f"s3://{CONN_ID}@{BUCKET}/staging/an_integration/manual__2026-12-01T10_00_00_00_00/"
    )
    # another task, another worker: the URL alone opens it
    with local_file(url) as local:
        assert local.read_bytes() == b"<Invoice/>"
    findings_url = staging.put_findings("7", "invoice 1.xml", [])
    with local_file(findings_url) as local:
        assert local.read_text().strip() == "[]"
    keys = bucket.keys(BUCKET, "staging/")
    assert len(keys) == 2 and all(key.startswith("staging/an_integration/") for key in keys)
    staging.remove()
    assert bucket.keys(BUCKET, "staging/") == []


def test_a_big_file_is_staged_and_read_back_in_chunks(bucket: S3Server, tmp_path: Path) -> None:
    size = 96 * MIB
    source = tmp_path / "big.xml"
    sha256 = _big_file(source, size)
    staging = Staging("an_integration", "run_1")
    path = staging.new_path("in", "0", "big.xml")
    tracemalloc.start()
    try:
        staging.put(source, path)
        with local_file(str(path)) as copy:
            assert copy != source and copy.stat().st_size == size
            assert _sha256(copy) == sha256
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # s3fs buffers up to one part (its block size) at a time; the file itself never sits in memory
    assert peak < size * 2 // 3, f"peak {peak / MIB:.0f} MiB for a {size / MIB:.0f} MiB file"


# -- the document store on the bucket -------------------------------------------------------------


def test_documents_are_kept_once_by_content_and_open_from_their_url(bucket: S3Server) -> None:
    store = DocumentStore()
    url, sha256 = store.put_bytes(b"<Invoice>1</Invoice>", ".xml")
    assert url == f"s3://{CONN_ID}@{BUCKET}/store/{sha256[:2]}/{sha256}.xml"
    again, _ = DocumentStore().put_bytes(b"<Invoice>1</Invoice>", ".xml")
    assert again == url
    with DocumentStore.open(url) as reader:
        assert reader.read() == b"<Invoice>1</Invoice>"
    assert bucket.keys(BUCKET, "store/") == [f"store/{sha256[:2]}/{sha256}.xml"]  # no partial left


def test_a_staged_file_goes_into_the_store_without_a_local_copy(bucket: S3Server, tmp_path: Path) -> None:
    size = 24 * MIB
    source = tmp_path / "received.xml"
    sha256 = _big_file(source, size)
    staging = Staging("an_integration", "run_2")
    staged = staging.new_path("in", "0", "received.xml")
    staging.put(source, staged)
    url = DocumentStore().put_file(str(staged), sha256, ".xml")
    assert url.startswith(f"s3://{CONN_ID}@{BUCKET}/store/")
    with local_file(url) as copy:
        assert _sha256(copy) == sha256


def test_the_store_writes_a_document_with_one_put_to_its_final_key(bucket: S3Server) -> None:
    """No ``.partial`` key, no server-side copy and delete: on S3 a PUT is atomic by itself."""
    puts, deletes = len(bucket.requests("PUT")), len(bucket.requests("DELETE"))
    _, sha256 = DocumentStore().put_bytes(b"<Invoice>2</Invoice>", ".xml")
    assert bucket.requests("PUT")[puts:] == [f"/{BUCKET}/store/{sha256[:2]}/{sha256}.xml"]
    assert bucket.requests("DELETE")[deletes:] == []
    assert bucket.keys(BUCKET, "store/") == [f"store/{sha256[:2]}/{sha256}.xml"]


def _uploads_in_progress(bucket: S3Server) -> list[str]:
    return [u["Key"] for u in bucket.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def test_a_failure_mid_upload_leaves_no_object_under_the_final_key(bucket: S3Server) -> None:
    """A writer that fails after a part went up (the source's connection lost, the worker's task
    timed out) aborts the multipart upload: no truncated object, no upload left to complete."""
    target = object_path(f"{settings.store_url()}/ab/abcdef.pdf")
    before = len(bucket.requests("POST"))
    with pytest.raises(ConnectionResetError), write_atomically(target) as writer:
        writer.write(b"%PDF" + b"x" * (PART_SIZE + 1))  # more than a part: a multipart upload started
        raise ConnectionResetError("the source went away")
    assert len(bucket.requests("POST")) > before, "the test must reach the multipart upload"
    assert bucket.keys(BUCKET) == []
    assert _uploads_in_progress(bucket) == []
    # what write_atomically guards against: fsspec's own `with` completes the upload on an error
    with contextlib.suppress(ConnectionResetError), target.open("wb") as writer:
        writer.write(b"%PDF" + b"x" * (PART_SIZE + 1))
        raise ConnectionResetError("the source went away")
    assert bucket.keys(BUCKET) == ["store/ab/abcdef.pdf"]  # truncated, under the final key


def test_a_small_document_failing_before_its_put_leaves_nothing(bucket: S3Server) -> None:
    target = object_path(f"{settings.store_url()}/cd/cdef.xml")
    with pytest.raises(ValueError), write_atomically(target) as writer:
        writer.write(b"<Invoice>")
        raise ValueError("the renderer failed")
    assert bucket.keys(BUCKET) == []


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


@contextlib.contextmanager
def files_written() -> Iterator[list[str]]:
    """Every file this process opens for writing and every folder it makes meanwhile (the ``open``
    and ``os.mkdir`` audit events: ``open()``, ``os.open`` as tempfile uses it, ``mkdir``)."""
    written: list[str] = []
    active = True

    def hook(event: str, args: tuple) -> None:
        if not active:
            return
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            path, mode, flags = args
            if (mode and set(mode) & set("wax+")) or (mode is None and flags & _WRITE_FLAGS):
                written.append(os.fsdecode(path))
        elif event == "os.mkdir":
            written.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)  # cannot be removed: it stops recording when the block ends
    try:
        yield written
    finally:
        active = False


def test_a_delivery_from_s3_staging_streams_without_a_temporary_file(
    bucket: S3Server, ledger_db: str, tmp_path: Path
) -> None:
    """Each staged file is one GET (all of a batch in flight together), written straight into the
    destination's temporary name and renamed: no local copy of it anywhere else."""
    staging = Staging("s3_delivery", "run_1")
    contents = {f"INV-{n}.xml": f"<Invoice>{n}</Invoice>".encode() for n in range(30)}
    contents["scan.pdf"] = b"%PDF-1.7 " + os.urandom(READ_WHOLE + 5000)  # large: streamed in parts
    contents["empty.xml"] = b""  # not asked for at all (a range of nothing may be refused)
    entries = staged_entries(staging, contents)
    outbox = tmp_path / "erp" / "in"
    hub = integration({"type": "local", "path": str(outbox)}, name="s3_delivery")
    ledger = Ledger()
    gets, heads = len(bucket.requests("GET")), len(bucket.requests("HEAD"))
    with files_written() as written:
        deliver_files(ledger, hub, entries, "run_1", lambda d: open_transport(d, tmp_path))
    assert all(entry.status == "delivered" for entry in entries)
    assert {p.name: p.read_bytes() for p in outbox.iterdir()} == contents
    outside = [p for p in written if not Path(p).is_relative_to(outbox.parent) and p != os.devnull]
    assert outside == [], f"files written outside the destination: {outside}"
    staged_gets = [p for p in bucket.requests("GET")[gets:] if p.startswith(f"/{BUCKET}/staging/")]
    assert len(staged_gets) == len(contents) - 1  # the large one too: one block of PART_SIZE
    large = "/" + object_path(entries[-2].outputs[0].url).path
    assert [p for p in bucket.requests("HEAD")[heads:] if p != large] == []  # no look before a GET


def test_a_large_staged_file_streams_from_s3_to_sftp(
    bucket: S3Server, ledger_db: str, sshd: SshServer, sftp_conn: str, remote: Path, tmp_path: Path
) -> None:
    staging = Staging("s3_to_sftp", "run_1")
    contents = {
        "INV-1.xml": b"<Invoice>1</Invoice>",
        "big.pdf": b"%PDF-1.7 " + os.urandom(3 * READ_WHOLE),  # several SFTP blocks, read in a thread
    }
    entries = staged_entries(staging, contents)
    hub = integration({"type": "sftp", "conn_id": sftp_conn, "path": str(remote / "in")}, name="s3_to_sftp")
    ledger = Ledger()  # opened (and migrated) first
    importlib.import_module("asyncssh")  # its first import probes libraries through temporary files
    with files_written() as written:
        deliver_files(ledger, hub, entries, "run_1", lambda d: open_transport(d, tmp_path))
    assert all(entry.status == "delivered" for entry in entries), [e.reason for e in entries]
    assert {p.name: p.read_bytes() for p in (remote / "in").iterdir()} == contents
    assert [p for p in written if p != os.devnull] == [], written  # nothing on this machine's disk


def test_fetch_into_s3_staging_uploads_each_round_while_the_next_downloads(
    bucket: S3Server, ledger_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven files in rounds of three: each round's files packed into one object (one PUT), every
    file its own member URL with its own hash, in the order of the candidates; a file that cannot
    be read fails alone."""
    monkeypatch.setattr(fetch, "ROUND", 3)
    inbox = tmp_path / "inbox"
    files = [drop(inbox, f"INV-{n}.xml", f"<Invoice>{n}</Invoice>") for n in range(7)]
    candidates = [Candidate(path=str(p), size=p.stat().st_size, mtime=p.stat().st_mtime) for p in files]
    candidates.insert(4, Candidate(path=str(inbox / "gone.xml"), size=10, mtime=1.0))
    staging = Staging("s3_fetch", "run_1")
    puts = len(bucket.requests("PUT"))
    entries = fetch.fetch_files(
        Ledger(), LocalTransport(tmp_path), staging, candidates, integration="s3_fetch", run_id="run_1"
    )
    assert [e.source_path for e in entries] == [c.path for c in candidates]
    assert [e.status for e in entries] == ["fetched"] * 4 + ["failed"] + ["fetched"] * 3
    fetched = [e for e in entries if e.status == "fetched"]
    for entry, path in zip(fetched, files, strict=True):
        with open_staged(entry.staged_url or "") as reader:
            data = reader.read()
        assert data == path.read_bytes() and entry.sha256 == hashlib.sha256(data).hexdigest()
    staged_puts = [p for p in bucket.requests("PUT")[puts:] if "/staging/s3_fetch/" in p]
    # rounds [0 1 2] [3 gone 4] [5 6]: three packs
    assert len(staged_puts) == len(set(staged_puts)) == 3
    assert {member(e.staged_url or "").pack.name for e in fetched} == {
        p.rsplit("/", 1)[1] for p in staged_puts
    }


def _put_all(staging: Staging, tmp_path: Path, contents: dict[str, bytes]) -> list[str]:
    local = tmp_path / "local"
    local.mkdir(exist_ok=True)
    files = []
    for index, (name, content) in enumerate(contents.items()):
        (local / name).write_bytes(content)
        files.append((local / name, staging.new_path("in", str(index), name)))
    return staging.put_many(files)


def test_small_files_staged_together_are_one_object_and_read_back_each_as_itself(
    bucket: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packs of at most PACK bytes; a large file and a lone small one are objects of their own; an
    empty file is a member too. Every reader of a staged URL reads the member, and nothing else:
    an upload's bytes (read_staged), a local copy (local_file), a stream (open_staged), the store."""
    monkeypatch.setattr(staging_module, "PACK", 100)
    contents = {f"INV-{n}.xml": f"<Invoice>{n}</Invoice>".encode() for n in range(9)}  # 20 bytes each
    contents["empty.xml"] = b""
    contents["scan.pdf"] = b"%PDF-1.7 " + os.urandom(READ_WHOLE + 10)
    staging = Staging("packing", "run_1")
    puts = len(bucket.requests("PUT"))
    urls = _put_all(staging, tmp_path, contents)
    members = [member(url) for url in urls]
    assert [m is not None for m in members] == [True] * 10 + [False]  # the large one: its own object
    assert [m.size for m in members if m] == [len(c) for c in list(contents.values())[:10]]
    # 200 bytes of members in packs of at most 100: 5 + 5 (the empty one) members
    packs = sorted({m.pack.name for m in members if m})
    assert len(packs) == 2
    staged_puts = [p for p in bucket.requests("PUT")[puts:] if "/staging/packing/" in p]
    assert len([p for p in staged_puts if p.endswith(".pack")]) == 2
    assert bucket.keys(BUCKET, "staging/packing/") == sorted(
        [f"staging/packing/run_1/in/{name}" for name in packs] + ["staging/packing/run_1/in/10-scan.pdf"]
    )

    gets = len(bucket.requests("GET"))
    sizes = [len(c) for c in contents.values()]
    staged = [s for group in read_staged(list(zip(urls, sizes, strict=True))) for s in group]
    assert [s.read_bytes() for s in staged[:10]] == list(contents.values())[:10]
    assert [s.name for s in staged[:10]] == [f"{n}-{name}" for n, name in enumerate(list(contents)[:10])]
    assert object_path(staged[10]) == object_path(urls[10])  # streamed by the transport
    ranged = [p for p in bucket.requests("GET")[gets:] if p.endswith(".pack")]
    assert len(ranged) == 2  # the members of a pack side by side: one GET per pack

    every_other = [(url, size) for url, size in list(zip(urls, sizes, strict=True))[:9:2]]
    gets = len(bucket.requests("GET"))
    picked = [s for group in read_staged(every_other) for s in group]
    assert [s.read_bytes() for s in picked] == list(contents.values())[:9:2]  # nothing of a neighbour
    assert len(bucket.requests("GET")[gets:]) == 5

    with local_file(urls[3]) as copy:
        assert copy.name == "3-INV-3.xml" and copy.read_bytes() == contents["INV-3.xml"]
    with open_staged(urls[9]) as reader:
        assert reader.read() == b""
    stored = DocumentStore().put_file(urls[4], hashlib.sha256(contents["INV-4.xml"]).hexdigest(), ".xml")
    with DocumentStore.open(stored) as reader:
        assert reader.read() == contents["INV-4.xml"]


@examples(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=12),
    pack=st.integers(1, 900),
    picked=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_every_packed_file_and_every_selection_of_them_reads_back_as_it_was(
    bucket: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    pack: int,
    picked: list[bool],
) -> None:
    """Whatever the sizes and the pack limit: every file reads back whole and alone, all of them in
    order and any selection of them (neighbours in a pack read together, gaps left out)."""
    staging_module.PACK, saved = pack, staging_module.PACK
    try:
        contents = {f"F{n}.xml": os.urandom(size) for n, size in enumerate(sizes)}
        staging = Staging("packing_property", f"run_{len(bucket.keys(BUCKET))}")
        urls = _put_all(staging, tmp_path_factory.mktemp("pack"), contents)
    finally:
        staging_module.PACK = saved
    files = list(zip(urls, sizes, strict=True))
    selection = [file for file, keep in zip(files, picked, strict=False) if keep]
    wanted = [data for data, keep in zip(contents.values(), picked, strict=False) if keep]
    assert [s.read_bytes() for group in read_staged(files) for s in group] == list(contents.values())
    assert [s.read_bytes() for group in read_staged(selection) for s in group] == wanted
    for url, data in zip(urls, contents.values(), strict=True):
        with open_staged(url) as reader:
            assert reader.read() == data


def test_validation_reads_a_fetched_round_as_local_copies_in_one_request(
    bucket: S3Server, tmp_path: Path
) -> None:
    """What validate_transform parses: each staged file as a local file, in order, a pack's members
    in one GET, a large file streamed; each copy gone once the next is asked for, and all at the end."""
    staging = Staging("s3_pack_copies", "run_1")
    contents = {f"INV-{n}.xml": f"<Invoice>{n}</Invoice>".encode() for n in range(30)}
    contents["scan.pdf"] = b"%PDF-1.7 " + os.urandom(READ_WHOLE + 10)
    urls = _put_all(staging, tmp_path, contents)
    gets = len(bucket.requests("GET"))
    seen: list[Path] = []
    for path, (name, content) in zip(
        local_copies(list(zip(urls, [len(c) for c in contents.values()], strict=True))),
        contents.items(),
        strict=True,
    ):
        assert path.read_bytes() == content and path.name.endswith(name)
        assert all(not earlier.exists() for earlier in seen)
        seen.append(path)
    assert not any(path.exists() for path in seen) and not seen[0].parent.exists()
    staged_gets = [p for p in bucket.requests("GET")[gets:] if "/staging/" in p]
    assert len([p for p in staged_gets if p.endswith(".pack")]) == 1
    assert len(staged_gets) == 2  # and the large file's one block


def test_a_lone_small_file_is_an_object_of_its_own(bucket: S3Server, tmp_path: Path) -> None:
    staging = Staging("packing", "run_2")
    (url,) = _put_all(staging, tmp_path, {"INV-1.xml": b"<Invoice>1</Invoice>"})
    assert member(url) is None
    assert object_path(url).read_bytes() == b"<Invoice>1</Invoice>"


def test_a_delivery_reads_a_fetched_round_in_one_request(
    bucket: S3Server, ledger_db: str, tmp_path: Path
) -> None:
    """What fetch packed, deliver uploads as it was: every file delivered whole, the pack one GET."""
    staging = Staging("s3_pack_delivery", "run_1")
    contents = {f"INV-{n}.xml": f"<Invoice>{n}</Invoice>".encode() * (n + 1) for n in range(40)}
    urls = _put_all(staging, tmp_path, contents)
    entries = [
        transformed_entry(index, name, content, url)
        for index, ((name, content), url) in enumerate(zip(contents.items(), urls, strict=True))
    ]
    outbox = tmp_path / "erp" / "in"
    hub = integration({"type": "local", "path": str(outbox)}, name="s3_pack_delivery")
    gets = len(bucket.requests("GET"))
    deliver_files(Ledger(), hub, entries, "run_1", lambda d: open_transport(d, tmp_path))
    assert all(entry.status == "delivered" for entry in entries), [e.reason for e in entries]
    assert {p.name: p.read_bytes() for p in outbox.iterdir()} == contents
    assert len([p for p in bucket.requests("GET")[gets:] if "/staging/" in p]) == 1


# -- local folders: the fast path, unchanged ------------------------------------------------------


def test_local_staging_hands_out_the_staged_file_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOICE_HUB_OBJECT_STORE_CONN_ID", CONN_ID)  # set, but local URLs need none
    monkeypatch.setenv("INVOICE_HUB_STAGING_URL", (tmp_path / "staging").as_uri())
    monkeypatch.setenv("INVOICE_HUB_STORE_URL", (tmp_path / "store").as_uri())
    staging = Staging("an_integration", "run_3")
    assert staging.is_local
    path = staging.new_path("out", "1", "a.xml")
    with path.open("wb") as sink:
        sink.write(b"<a/>")
    with local_file(str(path)) as local:
        assert local == staging.local_path(path)  # no copy
        assert local.is_relative_to(tmp_path / "staging")
    url, sha256 = DocumentStore().put_bytes(b"<a/>")
    assert url == (tmp_path / "store" / sha256[:2] / sha256).as_uri()
    assert sorted(p.name for p in (tmp_path / "store" / sha256[:2]).iterdir()) == [sha256]  # renamed


def test_a_local_document_failing_midway_leaves_neither_it_nor_its_partial(tmp_path: Path) -> None:
    target = object_path((tmp_path / "store" / "ab" / "abcdef.xml").as_uri())
    target.parent.mkdir(parents=True)
    with pytest.raises(ValueError), write_atomically(target) as writer:
        writer.write(b"<Invoice>")
        raise ValueError("the renderer failed")
    assert list((tmp_path / "store" / "ab").iterdir()) == []
