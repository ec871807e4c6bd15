"""Recovery in seconds (issue 14, item 6): a database error while delivering is not a failed
contact method, a killed worker's message is taken up again after a lease of seconds, and a
SEV1's next contact method is reached within about half a minute."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from django.db import OperationalError

from apps.notifications import services
from apps.notifications.models import DeliveryAttempt, Notification
from apps.notifications.services import Outcome, notification_deliver, notifications_retry_pending, notify
from tests.notifications.helpers import make_due, probe, recipient, story
from tests.notifications.test_retry_and_fallback import seconds_until_next_try
from tests.notifications.test_settings import start

pytestmark = pytest.mark.django_db

EMAIL = ("email", "grace@example.com")


def flaky_claim(monkeypatch, failures: int) -> list[int]:
    """The database refuses the first ``failures`` claims, as during a restart."""
    monkeypatch.setattr(services, "CLAIM_RETRY_DELAYS", (0.01,) * 5)
    real, failed = services._claim, []

    def claim(notification_id, *, token=None):
        if len(failed) < failures:
            failed.append(notification_id)
            raise OperationalError("the database system is starting up")
        return real(notification_id, token=token)

    monkeypatch.setattr(services, "_claim", claim)
    return failed


def test_a_database_error_while_claiming_is_retried_in_seconds_not_counted_as_a_failed_try(
    monkeypatch, smtp_server, caplog
):
    failed = flaky_claim(monkeypatch, failures=3)
    note = probe(EMAIL)
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    assert len(failed) == 3 and len(smtp_server.wait_for(1)) == 1
    note.refresh_from_db()
    assert (note.attempts, note.method_tries, story(note)) == (1, 0, ["email to grace@example.com sent"])
    assert "database error before sending" in caplog.text


def test_a_database_outage_longer_than_the_retries_leaves_the_row_to_the_retry_sweep(
    monkeypatch, smtp_server, queued
):
    flaky_claim(monkeypatch, failures=6)
    note = probe(EMAIL)
    queued.clear()
    with pytest.raises(OperationalError):
        notification_deliver(notification_id=note.pk)
    assert DeliveryAttempt.objects.count() == 0 and smtp_server.messages == []
    make_due(note, ago=services.RETRY_PENDING_GRACE + timedelta(seconds=1))
    assert notifications_retry_pending() == 1 and queued == [(note.pk, None)]


def test_a_killed_workers_message_is_leased_for_seconds_not_minutes(settings, queued):
    settings.NOTIFICATIONS_LEASE_SECONDS = 30
    note = probe(EMAIL)
    services._claim(note.pk)  # claimed, then the worker was killed
    assert 28 <= seconds_until_next_try(note) <= 30
    assert notifications_retry_pending() == 0  # still leased
    make_due(note, ago=services.RETRY_PENDING_GRACE + timedelta(seconds=1))  # 36 s later
    assert notifications_retry_pending() == 1


def test_a_sev1_tries_the_next_method_within_half_a_minute(webhook_server, smtp_server):
    assert services.retry_delays("sev1") == (timedelta(seconds=10), timedelta(seconds=20))
    assert services.retry_delays("sev3") == (timedelta(seconds=30), timedelta(minutes=2))
    webhook_server.fail_next(3, status=503)
    note = notify(
        event_key="escalation:17:event:1",
        recipient=recipient(("chat_webhook", webhook_server.url("/hook")), EMAIL),
        template="probe",
        context={"title": "Payments down", "text": "", "number": 17},
        urgency="sev1",
    )
    assert notification_deliver(notification_id=note.pk).retry_in == 10.0
    make_due(note)
    assert notification_deliver(notification_id=note.pk).retry_in == 20.0
    make_due(note)
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    note.refresh_from_db()
    assert (note.sent_via, note.attempts) == (EMAIL, 4)


def test_a_lease_shorter_than_a_send_can_take_stops_start_up(tmp_path):
    result: subprocess.CompletedProcess = start(
        tmp_path, NOTIFICATIONS_LEASE_SECONDS="20", NOTIFICATIONS_WEBHOOK_TIMEOUT="10"
    )
    assert result.returncode != 0
    assert "NOTIFICATIONS_LEASE_SECONDS must be at least twice" in result.stderr
    assert start(tmp_path, NOTIFICATIONS_LEASE_SECONDS="25").returncode == 0


def test_the_urgency_is_kept_on_the_row():
    note = notify(
        event_key="e", recipient=recipient(EMAIL), template="probe", context={"title": "t"}, urgency="sev1"
    )
    assert Notification.objects.get(pk=note.pk).urgency == "sev1"

