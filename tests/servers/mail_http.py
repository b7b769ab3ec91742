"""A real SMTP server (aiosmtpd) and a real HTTP server (http.server) on 127.0.0.1, recording what arrives."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.servers.sshd import free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def connection(self, **extra: object) -> str:
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "hub@example.com",
                    "timeout": 10,
                    "retry_limit": 1,
                    **extra,
                },
            }
        )


@dataclass
class HttpServer:
    """Records every request; answers with ``status`` (a test can change it). An error body echoes
    the request headers named in ``echo_headers``, as some partners' servers do. ``on_request`` is
    called with each request once it is recorded, before it is answered (a fault test kills the
    sender there: received, not yet acknowledged)."""

    status: int = 201
    requests: list[dict] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    echo_headers: tuple[str, ...] = ()
    on_request: Callable[[dict], None] | None = None

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = {"path": self.path, "headers": dict(self.headers), "body": body}
                recorder.requests.append(request)
                if recorder.on_request is not None:
                    recorder.on_request(request)
                self.send_response(recorder.status)
                self.end_headers()
                if recorder.status < 300:
                    self.wfile.write(b'{"ok": true}')
                elif recorder.echo_headers:
                    echoed = {name: self.headers.get(name) for name in recorder.echo_headers}
                    self.wfile.write(json.dumps({"error": "refused", **echoed}).encode())
                else:
                    self.wfile.write(b'{"error": "refused"}')

            def do_GET(self) -> None:
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def connection(self, **extra: object) -> str:
        """The Airflow connection (JSON); ``extra`` adds to its extra (headers, for the HTTP hook)."""
        return json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": self.port,
                "schema": "http",
                "login": "hub",
                "password": "s3cret",
                "extra": {"X-Partner-Account": "ACME-42", "timeout": 10, **extra},
            }
        )
