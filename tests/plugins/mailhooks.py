"""A real SMTP server and a real HTTP webhook receiver for tests (pytest plugin, see
tests/conftest.py). Both listen on 127.0.0.1 on a free port, in a thread of the test process,
for one test.

``smtp_server``
    An aiosmtpd server; Django's settings point at it (``EMAIL_BACKEND`` SMTP, ``EMAIL_HOST``,
    ``EMAIL_PORT``) for the test, so anything sent with ``django.core.mail`` arrives here::

        def test_it_emails(smtp_server):
            ...  # deliver something
            [message] = smtp_server.wait_for(1)
            assert message["To"] == "grace@example.com"
            assert "Review due" in message["Subject"]
            assert "policies/7/" in message.get_content()

    ``messages``: every message accepted (``email.message.EmailMessage``, parsed with
    ``email.policy.default``, line endings as ``\n``); ``envelopes``: the matching ``(mail_from, rcpt_tos)``;
    ``wait_for(count, timeout=5)``: returns the messages once ``count`` have arrived, fails the
    test otherwise; ``fail_next(n, reply="451 4.3.0 Try again later")``: the next ``n``
    messages are refused at DATA with that reply (a 5xx reply is a permanent refusal) and not
    recorded; ``on_quit(check=None, delay=0)``: from then on, each QUIT runs ``check()`` (in a
    thread of its own, so it may query the database) and keeps what it returns in ``quits``,
    then answers after ``delay`` seconds (a server slow to say goodbye);
    ``host``, ``port``.

``webhook_server``
    An ``http.server`` that answers every POST (any path) with 200 and records it::

        def test_it_posts(webhook_server):
            url = webhook_server.url("/hooks/slack")
            ...  # post to url
            [hit] = webhook_server.wait_for(1)
            assert (hit.path, hit.json) == ("/hooks/slack", {"text": "*Subject*\\nBody"})
            assert hit.headers["Authorization"] == "Bearer token"

    ``url(path="/")``: the address to post to; ``requests``: every ``WebhookRequest(path,
    headers, body, json)`` received (``headers`` is case-insensitive, ``json`` is None when the
    body was not JSON); ``wait_for(count, timeout=5)``; ``fail_next(n, status=500, body="")``:
    the next ``n`` requests are answered with that status instead (and still recorded).
    It also serves as an SMS gateway: set ``settings.SMS_GATEWAY_URL = webhook_server.url("/sms")``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class _Recorder:
    """A list that threads append to and tests wait on."""

    def __init__(self) -> None:
        self._items: list = []
        self._changed = threading.Condition()
        self._failures: list = []

    def append(self, item) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def snapshot(self) -> list:
        with self._changed:
            return list(self._items)

    def wait_for(self, count: int, timeout: float, what: str) -> list:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._items) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} {what} within {timeout}s, got {len(self._items)}")
                self._changed.wait(remaining)
            return list(self._items)

    def queue_failures(self, n: int, failure) -> None:
        with self._changed:
            self._failures.extend([failure] * n)

    def next_failure(self):
        with self._changed:
            return self._failures.pop(0) if self._failures else None


# --- SMTP --------------------------------------------------------------------------------------


class SMTPServer:
    """See the module docstring. Start with ``start()``, stop with ``stop()``."""

    def __init__(self) -> None:
        self.host = HOST
        self.port = free_port()
        self._received = _Recorder()
        self.envelopes: list[tuple[str, list[str]]] = []
        self._running = False
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self.quits: list = []
        self._quit_check: Callable[[], object] | None = None
        self._quit_delay = 0.0

    # aiosmtpd handler hook, called in the server's thread
    async def handle_DATA(self, server, session, envelope) -> str:
        failure = self._received.next_failure()
        if failure is not None:
            return failure
        # SMTP speaks CRLF; tests compare text as Python writes it.
        content = envelope.original_content.replace(b"\r\n", b"\n")
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self._received.append(message)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope) -> str:
        if self._quit_check is not None:
            self.quits.append(await asyncio.to_thread(self._quit_check))
        if self._quit_delay:
            await asyncio.sleep(self._quit_delay)
        return "221 Bye"

    def on_quit(self, check: Callable[[], object] | None = None, delay: float = 0.0) -> None:
        self._quit_check, self._quit_delay = check, delay

    @property
    def messages(self) -> list[EmailMessage]:
        return self._received.snapshot()

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        return self._received.wait_for(count, timeout, "emails")

    def fail_next(self, n: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        self._received.queue_failures(n, reply)

    def start(self) -> None:
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        """Stop listening (a test may do it early to see a server that is down); idempotent."""
        if self._running:
            self._running = False
            self._controller.stop()


@pytest.fixture
def smtp_server(settings) -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1, with Django's email settings pointed at it."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()


# --- HTTP webhooks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    headers: object  # http.client.HTTPMessage: case-insensitive ``headers["Content-Type"]``
    body: bytes
    json: object  # the decoded body, or None when it was not JSON


@dataclass(frozen=True)
class _HTTPFailure:
    status: int
    body: str


class WebhookServer:
    """See the module docstring. Start with ``start()``, stop with ``stop()``."""

    def __init__(self) -> None:
        self._received = _Recorder()
        self._httpd = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="webhook-server",
            daemon=True,
        )

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path if path.startswith('/') else '/' + path}"

    @property
    def requests(self) -> list[WebhookRequest]:
        return self._received.snapshot()

    def wait_for(self, count: int, timeout: float = 5) -> list[WebhookRequest]:
        return self._received.wait_for(count, timeout, "webhook requests")

    def fail_next(self, n: int = 1, status: int = 500, body: str = "") -> None:
        self._received.queue_failures(n, _HTTPFailure(status, body))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (a test may do it early to see a server that is down); idempotent."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    decoded = json.loads(body)
                except ValueError:
                    decoded = None
                # Recorded before answering, so a test that saw the response sees the request.
                server._received.append(WebhookRequest(self.path, self.headers, body, decoded))
                failure = server._received.next_failure()
                status, text = (failure.status, failure.body) if failure else (200, "ok")
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                pass  # quiet: pytest shows what the test asserts on

        return Handler


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """A real HTTP server on 127.0.0.1 recording every POST; see ``fail_next`` for errors."""
    server = WebhookServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
