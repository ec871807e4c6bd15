"""Contact methods are tried in priority order: a failing method is retried with backoff
(three tries: at once, 30 s later, 2 min after that), then the next method is tried; when
every method is exhausted the notification is FAILED. The attempts tell the story."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models.functions import Now

from apps.notifications import services
from apps.notifications.models import Notification
from apps.notifications.services import Outcome, notification_deliver
from tests.notifications.helpers import make_due, probe, story

pytestmark = pytest.mark.django_db

EMAIL = ("email", "grace@example.com")


def seconds_until_next_try(note: Notification) -> float:
    row = (
        Notification.objects.filter(pk=note.pk)
        .annotate(db_now=Now())
        .values("next_attempt_at", "db_now")
        .get()
    )
    return (row["next_attempt_at"] - row["db_now"]).total_seconds()


def test_the_backoff_is_three_tries_at_once_then_30_seconds_then_2_minutes():
    assert services.retry_delays() == (timedelta(seconds=30), timedelta(minutes=2))


def test_the_backoff_is_set_by_the_environment(settings, webhook_server, smtp_server):
    settings.NOTIFICATIONS_RETRY_SECONDS = [5]  # two tries of each method, five seconds apart
    webhook_server.fail_next(2, status=500, body="boom")
    note = probe(("chat_webhook", webhook_server.url("/hook")), EMAIL)
    assert notification_deliver(notification_id=note.pk).retry_in == 5.0
    assert 4 <= seconds_until_next_try(note) <= 5
    make_due(note)
    # The second and last try of the webhook fails: the email goes at once.
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    smtp_server.wait_for(1)
    note.refresh_from_db()
    assert (note.status, note.attempts, note.sent_via) == ("sent", 3, EMAIL)


def test_a_failing_method_is_retried_with_backoff_then_the_next_method_is_used(webhook_server, smtp_server):
    hook = webhook_server.url("/hook")
    webhook_server.fail_next(3, status=500, body="boom")
    note = probe(("chat_webhook", hook), EMAIL)

    first = notification_deliver(notification_id=note.pk)
    assert (first.outcome, first.retry_in) == (Outcome.RETRY, 30.0)
    assert 29 <= seconds_until_next_try(note) <= 30

    # Not due yet: a task that turns up now sends nothing.
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.NOT_DUE
    assert len(webhook_server.requests) == 1

    make_due(note)
    second = notification_deliver(notification_id=note.pk)
    assert (second.outcome, second.retry_in) == (Outcome.RETRY, 120.0)
    assert 119 <= seconds_until_next_try(note) <= 120

    make_due(note)
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT  # 3rd failure → email

    smtp_server.wait_for(1)
    note.refresh_from_db()
    assert (note.status, note.attempts, note.sent_via) == ("sent", 4, EMAIL)
    assert story(note) == [
        f"chat to {hook} failed: HTTP 500 Internal Server Error: boom",
        f"chat to {hook} failed: HTTP 500 Internal Server Error: boom",
        f"chat to {hook} failed: HTTP 500 Internal Server Error: boom",
        "email to grace@example.com sent",
    ]
    assert len(webhook_server.requests) == 3


def test_a_method_that_recovers_is_used(webhook_server):
    webhook_server.fail_next(1, status=502)
    note = probe(("chat_webhook", webhook_server.url("/hook")), EMAIL)
    notification_deliver(notification_id=note.pk)
    make_due(note)
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    note.refresh_from_db()
    assert note.sent_via == ("chat_webhook", webhook_server.url("/hook"))
    assert [a.ok for a in note.delivery_attempts.all()] == [False, True]


def test_all_methods_failing_is_failed_and_says_why(webhook_server, settings):
    settings.SMS_GATEWAY_URL = ""
    hook = webhook_server.url("/hook")
    webhook_server.fail_next(3, status=500)
    note = probe(("phone", "+447700900123"), ("chat_webhook", hook))

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.RETRY  # SMS skipped, chat 1st try
    for _ in range(2):
        make_due(note)
        outcome = notification_deliver(notification_id=note.pk).outcome
    assert outcome == Outcome.FAILED

    note.refresh_from_db()
    assert (note.status, note.attempts, note.sent_at) == ("failed", 4, None)
    assert (
        note.last_error
        == f"every contact method failed; last, chat to {hook}: HTTP 500 Internal Server Error"
    )
    assert story(note) == [
        "SMS to +447700900123 failed: SMS gateway not configured (SMS_GATEWAY_URL)",
        *[f"chat to {hook} failed: HTTP 500 Internal Server Error"] * 3,
    ]
    assert note.summary().startswith("failed: every contact method failed")


def test_a_failed_notification_is_never_tried_again(webhook_server):
    webhook_server.fail_next(1, status=400)
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.FAILED
    make_due(note)
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.STALE
    assert len(webhook_server.requests) == 1


def test_a_pending_notification_shows_the_method_being_tried(webhook_server):
    webhook_server.fail_next(1, status=500)
    hook = webhook_server.url("/hook")
    note = probe(("chat_webhook", hook), EMAIL)
    notification_deliver(notification_id=note.pk)
    note.refresh_from_db()
    assert note.method == ("chat_webhook", hook)
    assert note.summary() == f"pending: chat to {hook}"
    assert note.last_error == f"chat to {hook}: HTTP 500 Internal Server Error"
