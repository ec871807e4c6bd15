"""A phone number is reached by SMS through an HTTP gateway (here the webhook server)."""

from __future__ import annotations

import pytest

from apps.notifications.channels import SMS_MAX_CHARS, sms_text
from apps.notifications.services import Outcome, notification_deliver
from tests.notifications.helpers import probe, story

pytestmark = pytest.mark.django_db

PHONE = ("phone", "+447700900123")
EMAIL = ("email", "grace@example.com")


@pytest.fixture
def gateway(settings, webhook_server):
    settings.SMS_GATEWAY_URL = webhook_server.url("/v1/sms")
    settings.SMS_GATEWAY_TOKEN = "s3cret-token"
    return webhook_server


def test_it_posts_the_number_and_text_with_the_bearer_token(gateway):
    note = probe(PHONE, EMAIL)

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    [hit] = gateway.wait_for(1)
    assert hit.path == "/v1/sms"
    assert hit.headers["Authorization"] == "Bearer s3cret-token"
    key = f"escalportal-notification-{note.pk}"  # the same on every try: the gateway can drop a repeat
    assert hit.headers["Idempotency-Key"] == key
    assert hit.json == {
        "to": "+447700900123",
        "message": (
            "Escalation 17 needs you\nHello Grace Lindqvist,\nThe payments API is down.\n"
            "http://127.0.0.1:8000/escalations/17/"
        ),
        "idempotency_key": key,
    }
    note.refresh_from_db()
    assert note.sent_via == PHONE
    assert story(note) == ["SMS to +447700900123 sent"]


def test_without_a_token_there_is_no_authorization_header(gateway, settings):
    settings.SMS_GATEWAY_TOKEN = ""
    notification_deliver(notification_id=probe(PHONE).pk)
    [hit] = gateway.wait_for(1)
    assert "Authorization" not in hit.headers


def test_a_long_message_is_cut_to_fit(gateway):
    notification_deliver(notification_id=probe(PHONE, text="word " * 400).pk)
    [hit] = gateway.wait_for(1)
    assert len(hit.json["message"]) == SMS_MAX_CHARS
    assert hit.json["message"].startswith("Escalation 17 needs you\nHello Grace Lindqvist,\nword word")
    assert hit.json["message"].endswith("…")


def test_sms_text_keeps_short_messages_whole():
    assert sms_text("Subject", "\n\nLine one\n\n\nLine two\n") == "Subject\nLine one\nLine two"


def test_without_a_gateway_sms_falls_through_to_the_next_method_at_once(settings, smtp_server):
    settings.SMS_GATEWAY_URL = ""
    note = probe(PHONE, EMAIL)

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    smtp_server.wait_for(1)
    note.refresh_from_db()
    assert note.sent_via == EMAIL
    assert story(note) == [
        "SMS to +447700900123 failed: SMS gateway not configured (SMS_GATEWAY_URL)",
        "email to grace@example.com sent",
    ]
    assert note.attempts == 2


def test_a_gateway_rejecting_the_number_moves_on_at_once(gateway, smtp_server):
    gateway.fail_next(1, status=422, body='{"error": "invalid number"}')
    note = probe(PHONE, EMAIL)
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    note.refresh_from_db()
    assert note.sent_via == EMAIL
    assert story(note)[0] == (
        'SMS to +447700900123 failed: HTTP 422 Unprocessable Entity: {"error": "invalid number"}'
    )
