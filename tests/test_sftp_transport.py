"""The SFTP transport against a real OpenSSH server: listing, streaming, atomic writes, faults."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from invoice_hub.transports import TargetExistsError, TransportError
from invoice_hub.transports.sftp import SftpTransport
from tests.helpers import drop, files_in
from tests.servers.sshd import SshServer


def sftp(conn_id: str = "partner_sftp") -> SftpTransport:
    return SftpTransport(conn_id)


@pytest.mark.parametrize("auth", ["password", "key", "locked-key"])
def test_logins(sshd: SshServer, remote: Path, monkeypatch: pytest.MonkeyPatch, auth: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(auth=auth))
    drop(remote, "a.xml", "<a/>")
    with sftp() as transport:
        assert [Path(f.path).name for f in transport.list_files(str(remote), recursive=False)] == ["a.xml"]


def test_wrong_password_fails_without_retry(
    sshd: SshServer, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(auth="bad-password"))
    with pytest.raises(TransportError, match="login refused") as raised, sftp() as transport:
        transport.list_files(str(remote), recursive=False)
    assert raised.value.retryable is False
    assert sshd.password not in str(raised.value)


def test_changed_host_key_is_refused(sshd: SshServer, remote: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(host_key="wrong"))
    with pytest.raises(TransportError, match="host key does not match") as raised, sftp() as transport:
        transport.list_files(str(remote), recursive=False)
    assert raised.value.retryable is False


def test_unknown_host_key_is_refused_by_default(
    sshd: SshServer, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(host_key=None))
    unknown = "host key is unknown; put it in the connection"
    with pytest.raises(TransportError, match=unknown) as raised, sftp() as transport:
        transport.list_files(str(remote), recursive=False)
    assert raised.value.retryable is False
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", sshd.connection(host_key=None, no_host_key_check="true"))
    with sftp() as transport:
        assert transport.list_files(str(remote), recursive=False) == []


def test_refused_connection_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.servers.sshd import free_port

    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_SFTP", f"sftp://someone:pw@127.0.0.1:{free_port()}")
    with pytest.raises(TransportError, match="cannot connect") as raised, sftp() as transport:
        transport.list_files("/", recursive=False)
    assert raised.value.retryable is True


def test_listing_is_recursive_on_request(sftp_conn: str, remote: Path) -> None:
    drop(remote, "a.xml", "a")
    drop(remote / "sub" / "deeper", "b.xml", "bb")
    (remote / "sub" / "empty").mkdir()
    with sftp() as transport:
        flat = transport.list_files(str(remote), recursive=False)
        deep = transport.list_files(str(remote), recursive=True)
    assert [(Path(f.path).name, f.size) for f in flat] == [("a.xml", 1)]
    assert sorted(Path(f.path).relative_to(remote).as_posix() for f in deep) == ["a.xml", "sub/deeper/b.xml"]
    assert abs(flat[0].mtime - (remote / "a.xml").stat().st_mtime) < 1


def test_missing_folder_and_no_permission_name_the_path(sftp_conn: str, remote: Path) -> None:
    with (
        pytest.raises(TransportError, match=f"{remote}/nowhere does not exist") as raised,
        sftp() as transport,
    ):
        transport.list_files(str(remote / "nowhere"), recursive=False)
    assert raised.value.retryable is False
    locked = remote / "locked"
    locked.mkdir()  # owned by root, 0755: the SFTP user may read but not write
    payload = drop(remote, "p.xml", "x")
    with (
        pytest.raises(TransportError, match=f"no permission to write {locked}/") as raised,
        sftp() as transport,
    ):
        transport.upload(payload, str(locked / "a.xml"), replace=False)
    assert raised.value.retryable is False


def test_upload_is_atomic_and_does_not_overwrite(sftp_conn: str, remote: Path, tmp_path: Path) -> None:
    payload = drop(tmp_path, "payload", "first")
    with sftp() as transport:
        transport.make_folder(str(remote / "out"))
        transport.upload(payload, str(remote / "out" / "a.xml"), replace=False)
        payload.write_text("second")
        with pytest.raises(TargetExistsError):
            transport.upload(payload, str(remote / "out" / "a.xml"), replace=False)
        assert (remote / "out" / "a.xml").read_text() == "first"
        transport.upload(payload, str(remote / "out" / "a.xml"), replace=True)
        assert transport.target_path(str(remote / "out"), "a.xml", "unique") == f"{remote}/out/a_1.xml"
    assert (remote / "out" / "a.xml").read_text() == "second"
    assert files_in(remote / "out") == ["a.xml"], "no temporary file is left behind"


def test_move_creates_folders_and_picks_unique_names(sshd: SshServer, sftp_conn: str, remote: Path) -> None:
    sshd.drop(remote / "in", "a.xml", "1")
    sshd.drop(remote / "done", "a.xml", "0")
    with sftp() as transport:
        moved = transport.move(str(remote / "in" / "a.xml"), str(remote / "done"))
        sshd.drop(remote / "in", "b.xml", "2")
        created = transport.move(str(remote / "in" / "b.xml"), str(remote / "archive" / "2026"))
    assert moved == f"{remote}/done/a_1.xml" and (remote / "done" / "a_1.xml").read_text() == "1"
    assert created == f"{remote}/archive/2026/b.xml"
    assert files_in(remote / "in") == []


def test_large_file_streams_with_bounded_memory(sftp_conn: str, remote: Path, tmp_path: Path) -> None:
    import tracemalloc

    size = 32 << 20
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        for _ in range(size >> 20):
            handle.write(b"Z" * (1 << 20))
    received = tmp_path / "back.bin"
    with sftp() as transport:
        transport.list_files(str(remote), recursive=False)  # connect before measuring
        tracemalloc.start()
        try:
            transport.upload(big, str(remote / "big.bin"), replace=False)
            with received.open("wb") as sink:
                transport.download(str(remote / "big.bin"), sink)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received.stat().st_size == size
    assert peak < size // 4, f"peak Python allocation {peak / 2**20:.1f} MiB for a {size >> 20} MiB file"


class _KillAfter(io.RawIOBase):
    """A sink that stops the server after ``limit`` bytes: the connection drops mid-transfer."""

    def __init__(self, server: SshServer, limit: int) -> None:
        self.server, self.limit, self.seen = server, limit, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.seen += len(data)
        if self.seen > self.limit and self.server.process is not None:
            self.server.stop()  # synchronously: the rest of the file can no longer arrive
        return len(data)


def test_connection_dropped_mid_download_is_retryable(sshd: SshServer, sftp_conn: str, remote: Path) -> None:
    drop(remote, "big.xml", b"x" * (32 << 20))
    with pytest.raises(TransportError) as raised, sftp() as transport:
        transport.download(str(remote / "big.xml"), _KillAfter(sshd, 1 << 20))  # type: ignore[arg-type]
    assert raised.value.retryable is True
    assert str(remote / "big.xml") in str(raised.value)
    assert (remote / "big.xml").stat().st_size == 32 << 20, "the source file is untouched"


def test_connection_dropped_mid_upload_leaves_no_partial_file(
    sshd: SshServer, sftp_conn: str, remote: Path, tmp_path: Path
) -> None:
    import time as _time

    big = drop(tmp_path, "big.xml", b"y" * (48 << 20))
    (remote / "in").mkdir()
    sshd.chown(remote / "in")

    def stop_when_half_written() -> None:
        deadline = _time.monotonic() + 30
        while _time.monotonic() < deadline:
            parts = list((remote / "in").glob(".big.xml.*.part"))
            if parts and parts[0].stat().st_size > (4 << 20):
                sshd.stop()
                return
            _time.sleep(0.01)

    import threading

    watcher = threading.Thread(target=stop_when_half_written)
    watcher.start()
    with pytest.raises(TransportError) as raised, sftp() as transport:
        transport.upload(big, str(remote / "in" / "big.xml"), replace=False)
    watcher.join()
    assert raised.value.retryable is True
    assert not (remote / "in" / "big.xml").exists(), "never a partial file under the real name"
    assert all(p.name.endswith(".part") for p in (remote / "in").iterdir())
