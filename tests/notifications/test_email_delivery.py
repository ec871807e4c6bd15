"""Email goes through Django's email backend: here a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from apps.notifications.services import Outcome, notification_deliver
from tests.notifications.helpers import probe, story

pytestmark = pytest.mark.django_db

EMAIL = ("email", "grace@example.com")
PHONE = ("phone", "+447700900123")


def test_it_emails_the_rendered_message(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "escalportal <alerts@portal.example>"
    note = probe(EMAIL, title="Escalation 17 needs you", text="The payments API is down.")

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Escalation 17 needs you"
    assert message["To"] == "grace@example.com"
    assert message["From"] == "escalportal <alerts@portal.example>"
    assert message.get_content() == (
        "Hello Grace Lindqvist,\n\nThe payments API is down.\n\nhttp://127.0.0.1:8000/escalations/17/\n"
    )
    assert smtp_server.envelopes == [("alerts@portal.example", ["grace@example.com"])]
    # One Message-ID per outbox row, the same on every try: a repeat is recognisable as one.
    assert message["Message-ID"] == f"<escalportal-notification-{note.pk}@portal.example>"


def test_a_sent_notification_records_how_it_went(smtp_server):
    note = probe(EMAIL, PHONE)
    notification_deliver(notification_id=note.pk)
    note.refresh_from_db()
    assert (note.status, note.attempts, note.sent_via) == ("sent", 1, ("email", "grace@example.com"))
    assert note.sent_at is not None
    assert note.summary() == "sent by email to grace@example.com"
    assert story(note) == ["email to grace@example.com sent"]


def test_a_temporary_smtp_refusal_is_retried_later(smtp_server):
    smtp_server.fail_next(1, "451 4.3.0 Mailbox busy")
    note = probe(EMAIL, PHONE)

    result = notification_deliver(notification_id=note.pk)

    assert (result.outcome, result.retry_in) == (Outcome.RETRY, 30.0)
    note.refresh_from_db()
    assert (note.status, note.method_index, note.method_tries) == ("pending", 0, 1)
    assert story(note) == ["email to grace@example.com failed: SMTP 451 4.3.0 Mailbox busy"]


def test_a_permanent_smtp_refusal_moves_to_the_next_method_at_once(smtp_server, settings, webhook_server):
    settings.SMS_GATEWAY_URL = webhook_server.url("/sms")
    smtp_server.fail_next(1, "550 5.1.1 No such user")
    note = probe(EMAIL, PHONE)

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    note.refresh_from_db()
    assert note.sent_via == PHONE
    assert story(note) == [
        "email to grace@example.com failed: SMTP 550 5.1.1 No such user",
        "SMS to +447700900123 sent",
    ]
    assert [a.permanent for a in note.delivery_attempts.all()] == [True, False]


def test_an_smtp_server_that_is_down_is_retried_later(smtp_server, settings):
    smtp_server.stop()
    note = probe(EMAIL)
    result = notification_deliver(notification_id=note.pk)
    assert result.outcome == Outcome.RETRY
    note.refresh_from_db()
    assert "ConnectionRefusedError" in note.last_error
