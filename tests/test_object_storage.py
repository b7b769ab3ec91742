"""Staging and the document store on an S3 bucket (moto's server standing in for MinIO), and unchanged
on a local folder.

Tasks on different workers share nothing but the bucket: a URL one task writes into a manifest (or the
ledger) must open on another with no setting but the URL itself, and big files must pass through in
chunks, never read whole into memory.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoice_hub import settings
from invoice_hub.staging import Staging, local_file
from invoice_hub.store import DocumentStore
from tests.servers.s3 import S3Server

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
