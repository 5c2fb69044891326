"""Loopback servers notifications are sent to in tests: an HTTP webhook that records each
request and answers with a chosen status, and an SMTP server (aiosmtpd) that keeps each mail."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.redis_server import free_port


@dataclass
class Hook:
    """What the webhook received (JSON bodies, or the raw text) and the status it answers."""

    status: int = 200
    received: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@contextmanager
def webhook(status: int = 200) -> Iterator[tuple[Hook, int]]:
    """A loopback HTTP server on 127.0.0.1 (port yielded) recording each POST body."""
    hook = Hook(status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            try:
                hook.received.append(json.loads(raw))
            except ValueError:
                hook.received.append(raw)
            hook.paths.append(self.path)
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[_Mailbox, int]]:
    """An SMTP server (aiosmtpd, no TLS, no auth) on 127.0.0.1; yields its mailbox and port."""
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
