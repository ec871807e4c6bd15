"""An embargoed subject's notifications are HELD: written now, delivered by nobody (not the
task, not the retry sweep) until notifications_release lifts the hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.notifications.services import (
    Outcome,
    notification_deliver,
    notifications_release,
    notifications_retry_pending,
    notify,
)
from tests.notifications.helpers import make_due, recipient

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(minutes=5)


def held(url: str, *, subject_id: str = "17"):
    return notify(
        event_key=f"brief:{subject_id}",
        recipient=recipient(("chat_webhook", url)),
        template="probe",
        context={"title": "Executive brief", "text": "Payments down", "number": subject_id},
        subject_type="escalations.escalation",
        subject_id=subject_id,
        hold=True,
    )


def test_a_held_notification_is_queued_and_sent_by_nobody(
    webhook_server, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        note = held(webhook_server.url("/hook"))
    assert (note.status, queued) == ("held", [])
    assert note.summary() == "held until the embargo is lifted"

    make_due(note, ago=LONG_AGO)
    assert notifications_retry_pending() == 0
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.STALE
    assert webhook_server.requests == []


def test_releasing_queues_the_subjects_held_notifications_on_commit(
    webhook_server, django_capture_on_commit_callbacks, queued
):
    note = held(webhook_server.url("/hook"))
    other = held(webhook_server.url("/other"), subject_id="18")

    with django_capture_on_commit_callbacks(execute=True):
        assert notifications_release(subject_type="escalations.escalation", subject_id="17") == 1
    assert queued == [(note.pk, None)]

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    assert [hit.path for hit in webhook_server.requests] == ["/hook"]
    other.refresh_from_db()
    assert other.status == "held"
