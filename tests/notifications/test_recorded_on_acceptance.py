"""A send is recorded the moment the other side accepts it (issue 14, item 7): for email on the
mail server's 250 to DATA, before QUIT; for a webhook or the SMS gateway on the 2xx status line,
before the body is read. A worker killed in the rest of the conversation then leaves a row that
says sent, and nothing that fails after acceptance counts as a failed try."""

from __future__ import annotations

import socket
import threading

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from apps.notifications import services
from apps.notifications.models import Notification
from apps.notifications.services import Outcome, notification_deliver
from tests.notifications.helpers import probe, story

EMAIL = ("email", "grace@example.com")


def status_seen_by_another_connection(note: Notification):
    """What a second database connection sees: only committed rows."""

    def check() -> str:
        try:
            return Notification.objects.get(pk=note.pk).status
        finally:
            connection.close()

    return check


def flaky_record(monkeypatch, failures: int) -> list[int]:
    """The database refuses the first ``failures`` writes of the outcome."""
    monkeypatch.setattr(services, "RECORD_RETRY_DELAYS", (0.01,) * 5)
    real, failed = services._record, []

    def record(note, error):
        if len(failed) < failures:
            failed.append(note.pk)
            raise OperationalError("server closed the connection unexpectedly")
        return real(note, error)

    monkeypatch.setattr(services, "_record", record)
    return failed


@pytest.mark.django_db(transaction=True)
def test_an_email_is_recorded_sent_before_the_mail_server_hears_quit(smtp_server):
    note = probe(EMAIL)
    smtp_server.on_quit(status_seen_by_another_connection(note))

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.quits == ["sent"]  # committed while the connection was still open


@pytest.mark.django_db(transaction=True)
def test_a_database_error_on_the_record_is_retried_before_quit_without_a_second_data(smtp_server, monkeypatch):
    failed = flaky_record(monkeypatch, failures=2)
    note = probe(EMAIL)
    smtp_server.on_quit(status_seen_by_another_connection(note))

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    assert len(failed) == 2
    assert len(smtp_server.messages) == 1  # one DATA accepted, none refused or repeated
    assert smtp_server.quits == ["sent"]  # one conversation, recorded inside it
    note.refresh_from_db()
    assert (note.attempts, note.method_tries, story(note)) == (1, 0, ["email to grace@example.com sent"])


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_slow_to_answer_quit_is_not_a_failed_try(smtp_server, settings):
    settings.EMAIL_TIMEOUT = 1
    note = probe(EMAIL, ("phone", "+447700900123"))
    # QUIT's reply comes after the client has given up on it; the send was recorded before.
    smtp_server.on_quit(status_seen_by_another_connection(note), delay=2)

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    assert len(smtp_server.messages) == 1 and smtp_server.quits == ["sent"]
    note.refresh_from_db()
    assert (note.sent_via, story(note)) == (EMAIL, ["email to grace@example.com sent"])


@pytest.mark.django_db
def test_a_record_that_keeps_failing_leaves_the_row_leased_and_is_not_a_failed_try(smtp_server, monkeypatch):
    """A database outage longer than the record's retries: the task fails, the row stays leased
    (the retry sweep sends it again once the lease is over, with the same Message-ID), and no
    failed try of the email address is written."""
    flaky_record(monkeypatch, failures=100)
    note = probe(EMAIL)

    with pytest.raises(OperationalError):
        notification_deliver(notification_id=note.pk)

    assert len(smtp_server.messages) == 1
    note.refresh_from_db()
    assert (note.status, note.attempts, note.method_tries, story(note)) == ("pending", 0, 0, [])


class StallingHTTPServer:
    """Answers one POST with a 200 status line and headers, then stalls on the body."""

    def __init__(self, stall: float) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"
        self.requests = 0
        self._stall = stall
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        with conn:
            conn.recv(65536)
            self.requests += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nok")
            threading.Event().wait(self._stall)

    def close(self) -> None:
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.mark.django_db
def test_a_webhook_that_accepts_then_stalls_on_its_body_is_sent_not_failed(settings):
    settings.NOTIFICATIONS_WEBHOOK_TIMEOUT = 1
    server = StallingHTTPServer(stall=2)
    try:
        note = probe(("chat_webhook", server.url), EMAIL)
        assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    finally:
        server.close()
    assert server.requests == 1
    note.refresh_from_db()
    assert (note.sent_via, story(note)) == (("chat_webhook", server.url), [f"chat to {server.url} sent"])


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_on_postgresql_a_send_is_recorded_in_one_round_trip(webhook_server):
    """The window a kill can fall into after acceptance is one statement, not a transaction."""
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    claimed = services._claim(note.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert services._record(claimed, None).outcome == Outcome.SENT
    assert len(ctx.captured_queries) == 1
    note.refresh_from_db()
    assert (note.status, note.attempts, note.sent_at is not None) == ("sent", 1, True)
    assert story(note) == [f"chat to {webhook_server.url('/hook')} sent"]
    assert services._record(claimed, None).outcome == Outcome.STALE  # a claim already recorded
