"""The invoice hub as an Airflow provider: the connection types it adds to Airflow's registry.

Airflow finds this through the ``apache_airflow_provider`` entry point of the installed package; then
the UI's connection form offers the types, and "Test connection" (``airflow connections test``) logs
in with the hub's own hooks. The providers already register sftp, ftp, imap, smtp and http.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "invoice-hub",
        "name": "Invoice hub",
        "description": "Declarative invoice exchanges (SFTP, FTP/FTPS, e-mail, billy; UBL, AP Agility, CSV) as DAGs.",
        "connection-types": [
            {
                "connection-type": "ftps",
                "hook-class-name": "invoice_hub.hooks.ftp.FtpsHook",
                "hook-name": "FTPS (explicit or implicit TLS)",
            },
            {
                "connection-type": "pop3",
                "hook-class-name": "invoice_hub.hooks.mailbox.Pop3Hook",
                "hook-name": "POP3",
            },
            {
                "connection-type": "billy",
                "hook-class-name": "invoice_hub.hooks.billy.BillyHook",
                "hook-name": "billy (accounting API v2)",
            },
        ],
    }
