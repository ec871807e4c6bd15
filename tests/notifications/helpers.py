"""Building blocks of the outbox tests: recipients, a probe notification, the database clock."""

from __future__ import annotations

from datetime import timedelta

from django.db.models.functions import Now

from apps.notifications.models import Notification
from apps.notifications.services import Recipient, notify


def recipient(*methods: tuple[str, str], key: str = "person:1", name: str = "Grace Lindqvist") -> Recipient:
    return Recipient(key=key, name=name, methods=tuple(methods))


def probe(
    *methods: tuple[str, str],
    event_key: str = "escalation:17:event:1",
    key: str = "person:1",
    title: str = "Escalation 17 needs you",
    text: str = "The payments API is down.",
    subject_id: str = "17",
) -> Notification | None:
    """Queue a notification of the probe template about escalation 17."""
    return notify(
        event_key=event_key,
        recipient=recipient(*methods, key=key),
        template="probe",
        context={"title": title, "text": text, "number": 17},
        subject_type="escalations.escalation",
        subject_id=subject_id,
    )


def make_due(note: Notification, *, ago: timedelta = timedelta(seconds=1)) -> None:
    """Bring the next try forward (by the database's clock, which decides what is due)."""
    Notification.objects.filter(pk=note.pk).update(next_attempt_at=Now() - ago)


def story(note: Notification) -> list[str]:
    """The attempts as the timeline tells them."""
    return [str(attempt) for attempt in note.delivery_attempts.order_by("at", "id")]
