"""Reads of the outbox that views, the timeline and the API share."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch
from django.db.models.functions import Now

from apps.notifications.models import DeliveryAttempt, DeliveryHeartbeat, Notification


def notifications_for_subject(subject_type: str, subject_id: str) -> list[Notification]:
    """Every notification about one subject (e.g. "escalations.escalation", "17"), oldest
    first, with its attempts prefetched (``note.delivery_attempts.all()``, oldest first), in
    two queries however many there are: the escalation timeline calls this on every view."""
    attempts = Prefetch("delivery_attempts", queryset=DeliveryAttempt.objects.order_by("at", "id"))
    return list(
        Notification.objects.filter(subject_type=subject_type, subject_id=str(subject_id))
        .order_by("created_at", "id")
        .prefetch_related(attempts)
    )


def for_person_of(user):
    """The notifications addressed to ``user``'s person (none for a login without one), newest
    first. Recipient keys are "person:<id>" (the callers' Recipient); the index
    ``notification_recipient`` serves the filter and the order."""
    person = getattr(user, "person", None)
    if person is None:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_key=f"person:{person.pk}").order_by("-created_at", "-id")


def oldest_due_wait() -> float | None:
    """How many seconds the longest-waiting due message has been due (None when nothing is due),
    by the database's clock; the partial index ``notification_due`` serves it."""
    row = (
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=Now())
        .order_by("next_attempt_at")
        .annotate(db_now=Now())
        .values("next_attempt_at", "db_now")
        .first()
    )
    return None if row is None else (row["db_now"] - row["next_attempt_at"]).total_seconds()



@dataclass(frozen=True)
class DeliveryHealth:
    age_seconds: float | None  # since a delivery worker last took a task; None: never
    max_age_seconds: float

    @property
    def ok(self) -> bool:
        return self.age_seconds is not None and self.age_seconds <= self.max_age_seconds


def delivery_health() -> DeliveryHealth:
    """Age of the delivery heartbeat by the database's clock; stale beyond three retry-sweep
    intervals (at least 30 s, so a worker finishing a slow send is not paged for)."""
    max_age = max(3.0 * settings.NOTIFICATIONS_SWEEP_INTERVAL, 30.0)
    beat = DeliveryHeartbeat.objects.filter(name="delivery").annotate(db_now=Now()).first()
    if beat is None:
        return DeliveryHealth(None, max_age)
    return DeliveryHealth((beat.db_now - beat.last_run_at).total_seconds(), max_age)
