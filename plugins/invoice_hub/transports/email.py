"""E-mail as a destination: each output file is one message with the file attached, through the
SMTP provider's hook and an Airflow SMTP connection (host, port, login, TLS; ``from_email`` extra).

Every message carries a Message-ID derived from the delivery (integration, destination, output), the
same on every attempt: see docs/guarantees.md."""

from __future__ import annotations

import contextlib
import shutil
import smtplib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from invoice_hub.config.models import EmailDestination
from invoice_hub.naming import render_name
from invoice_hub.transports.base import ConnectError, Readable, SendOnlyTransport, TransportError


def message_id(delivery_id: str) -> str:
    """The Message-ID header (RFC 5322 ``<left@right>``) of the delivery ``delivery_id``."""
    return f"<{delivery_id}@invoice-hub>"


class EmailTransport(SendOnlyTransport):
    def __init__(self, destination: EmailDestination) -> None:
        self.destination = destination
        self.label = f"email:{destination.conn_id}"

    def destination_key(self, folder: str) -> str:
        return f"{self.label}:{','.join(sorted(self.destination.to))}"

    @contextlib.contextmanager
    def _smtp(self, action: str) -> Iterator[Any]:
        """A logged-in SmtpHook; SMTP errors as TransportErrors (login and recipients are not retried)."""
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        try:
            with SmtpHook(smtp_conn_id=self.destination.conn_id) as hook:
                yield hook
        except smtplib.SMTPAuthenticationError as exc:
            raise ConnectError(
                f"{self.label}: login refused by the SMTP server: {exc.smtp_code}", retryable=False
            ) from None
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            raise ConnectError(f"{self.label}: cannot {action}: cannot reach the SMTP server: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"{self.label}: recipients refused: {', '.join(exc.recipients)}", retryable=False
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"{self.label}: cannot {action}: {exc}") from exc

    def probe(self, folder: str, *, as_destination: bool) -> str:
        with self._smtp("connect") as hook:
            hook.get_conn()
        return f"logged in to the SMTP server; would send to {', '.join(self.destination.to)}"

    def upload(self, local: Readable, path: str, *, replace: bool, delivery_id: str | None = None) -> None:
        """One message with ``local`` attached; its Message-ID is made of ``delivery_id``, so a message
        sent again after a crash (SMTP cannot tell whether the first one went) is recognisable as the
        same one by the recipient's mail system and people."""
        name = Path(path).name
        subject = render_name(self.destination.subject, source_name=name)
        with tempfile.TemporaryDirectory(prefix="invoice-hub-mail-") as folder:
            attachment = Path(folder) / name  # the attachment is named after the file
            with local.open("rb") as source, attachment.open("wb") as sink:  # the hook attaches files
                shutil.copyfileobj(source, sink)
            with self._smtp(f"send {name}") as hook:
                hook.send_email_smtp(
                    to=self.destination.to,
                    subject=subject,
                    html_content=f"<p>Attached: {name}</p><p>Sent by the invoice hub.</p>",
                    files=[str(attachment)],
                    custom_headers={"Message-ID": message_id(delivery_id)} if delivery_id else None,
                )
