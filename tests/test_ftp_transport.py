"""The FTP / FTPS transport against a real FTP server: plain, explicit TLS and implicit TLS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from invoice_hub.transports import TargetExistsError, TransportError
from invoice_hub.transports.ftp import FtpTransport, _parse_list_line
from tests.helpers import drop, files_in
from tests.servers.ftpd import FtpServer


def ftp(server: FtpServer) -> FtpTransport:
    return FtpTransport("partner_ftp", tls=server.mode != "plain")


def test_list_download_upload_move(ftpd: FtpServer, ftp_conn: str, tmp_path: Path) -> None:
    drop(ftpd.root / "outbox", "a.xml", "<a/>")
    drop(ftpd.root / "outbox" / "sub", "b.xml", "<bb/>")
    with ftp(ftpd) as transport:
        flat = transport.list_files("/outbox", recursive=False)
        deep = transport.list_files("/outbox", recursive=True)
        assert [(f.path, f.size) for f in flat] == [("/outbox/a.xml", 4)]
        assert abs(flat[0].mtime - (ftpd.root / "outbox" / "a.xml").stat().st_mtime) < 2
        assert sorted(f.path for f in deep) == ["/outbox/a.xml", "/outbox/sub/b.xml"]
        received = tmp_path / "a.xml"
        with received.open("wb") as sink:
            transport.download("/outbox/a.xml", sink)
        assert received.read_text() == "<a/>"
        transport.upload(received, "/erp/in/a.xml", replace=False)
        with pytest.raises(TargetExistsError):
            transport.upload(received, "/erp/in/a.xml", replace=False)
        assert transport.target_path("/erp/in", "a.xml", "unique") == "/erp/in/a_1.xml"
        received.write_text("<a>v2</a>")
        transport.upload(received, "/erp/in/a.xml", replace=True)
        assert transport.move("/outbox/a.xml", "/outbox/done/2026") == "/outbox/done/2026/a.xml"
        transport.delete("/outbox/sub/b.xml")
    assert (ftpd.root / "erp" / "in" / "a.xml").read_text() == "<a>v2</a>"
    assert files_in(ftpd.root / "erp") == ["in/a.xml"], "no temporary file is left behind"
    assert files_in(ftpd.root / "outbox") == ["done/2026/a.xml"]


def test_wrong_password_is_not_retried(ftpd: FtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_FTP", ftpd.connection(password="wrong"))
    with pytest.raises(TransportError, match="login refused") as raised, ftp(ftpd) as transport:
        transport.list_files("/", recursive=False)
    assert raised.value.retryable is False


@pytest.mark.parametrize("ftpd", ["explicit", "implicit"], indirect=True)
def test_untrusted_certificate_is_refused(ftpd: FtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = json.loads(ftpd.connection())
    del connection["extra"]["ca_bundle"]
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_FTP", json.dumps(connection))
    with pytest.raises(TransportError, match="certificate is not trusted") as raised, ftp(ftpd) as transport:
        transport.list_files("/", recursive=False)
    assert raised.value.retryable is False
    connection["extra"]["verify"] = "false"
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_FTP", json.dumps(connection))
    with ftp(ftpd) as transport:
        assert transport.list_files("/", recursive=False) == []


@pytest.mark.parametrize("ftpd", ["plain"], indirect=True)
def test_active_mode_and_ascii_transfers(
    ftpd: FtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_FTP", ftpd.connection(passive="false", transfer_mode="ascii"))
    drop(ftpd.root, "lines.csv", b"a;b\nc;d\n")
    commands: list[str] = []
    with ftp(ftpd) as transport:
        transport.ftp.set_debuglevel(1)
        transport.ftp.sanitize = lambda line: commands.append(line) or line  # type: ignore[method-assign]
        received = tmp_path / "lines.csv"
        with received.open("wb") as sink:
            transport.download("/lines.csv", sink)
        transport.upload(received, "/back.csv", replace=False)
    assert received.read_bytes() == b"a;b\nc;d\n"  # sent as CRLF lines, stored with this machine's line ends
    assert (ftpd.root / "back.csv").read_bytes() == b"a;b\nc;d\n"
    sent = " ".join(commands)
    assert "TYPE A" in sent and "PORT" in sent and "PASV" not in sent, sent


@pytest.mark.parametrize("ftpd", ["plain"], indirect=True)
def test_missing_folder_and_dead_server(ftpd: FtpServer, ftp_conn: str) -> None:
    with pytest.raises(TransportError, match="/nowhere: it does not exist") as raised, ftp(ftpd) as transport:
        transport.list_files("/nowhere", recursive=False)
    assert raised.value.retryable is False
    ftpd.stop()
    with pytest.raises(TransportError, match="cannot connect") as raised, ftp(ftpd) as transport:
        transport.list_files("/", recursive=False)
    assert raised.value.retryable is True


def test_list_lines_of_servers_without_mlsd() -> None:
    name, kind, size, mtime = _parse_list_line("-rw-r--r--   1 ftp  ftp     1234 Jan 05  2025 INV 7.xml")
    assert (name, kind, size) == ("INV 7.xml", "file", 1234)
    assert mtime == 1736035200.0
    assert _parse_list_line("drwxr-xr-x   2 ftp  ftp     4096 Nov 21 06:00 archive")[:2] == ("archive", "dir")
    assert _parse_list_line("total 12") is None
