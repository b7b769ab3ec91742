"""SFTP: the SFTP provider's async hook, extended in this one place.

The provider's ``SFTPHookAsync`` lets asyncssh choose the cipher, and asyncssh's first choice,
chacha20-poly1305, builds four cipher contexts per SSH packet in Python: about a quarter of the
hub's CPU per small invoice (bench/transfer.py, docs/benchmarks.md). AES-GCM takes one, in
hardware where the CPU has AES instructions, and is as strong; the hook has no setting for the
cipher list, so this subclass builds the same connection as the provider's ``_get_conn``
(apache-airflow-providers-sftp 7.0: the extras, host key and keys parsed by its ``_parse_extras``)
with AES-GCM preferred. A server without it gets asyncssh's defaults, in their order.
"""

from __future__ import annotations

import asyncssh
from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.sftp.hooks.sftp import SFTPHookAsync
from asyncssh.encryption import get_default_encryption_algs

#: AES-GCM first, then asyncssh's own order.
ENCRYPTION_ALGS = list(
    dict.fromkeys(
        ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
        + [name.decode() for name in get_default_encryption_algs()]
    )
)
SSH_PORT = 22


class HubSftpHookAsync(SFTPHookAsync):
    async def _get_conn(self) -> asyncssh.SSHClientConnection:
        conn = await get_async_connection(self.sftp_conn_id)
        self._parse_extras(conn)  # key, passphrase, host key, known_hosts

        def first(*values: object) -> object:
            return next((value for value in values if value is not None), None)

        options: dict[str, object] = {
            "host": first(self.host, conn.host),
            "port": first(self.port, conn.port, SSH_PORT),
            "username": first(self.username, conn.login),
            "password": first(self.password, conn.password),
            "encryption_algs": ENCRYPTION_ALGS,
        }
        if self.key_file:
            options["client_keys"] = self.key_file
        if self.known_hosts:
            if self.known_hosts.lower() == "none":
                options["known_hosts"] = None
            elif self._should_use_known_hosts():
                options["known_hosts"] = self.known_hosts
        if self.private_key:
            options["client_keys"] = [asyncssh.import_private_key(self.private_key, self.passphrase)]
        if self.passphrase:
            options["passphrase"] = self.passphrase
        return await asyncssh.connect(**options)
