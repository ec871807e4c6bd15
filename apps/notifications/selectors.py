"""Reads of the outbox that views, the timeline and the API share."""

from __future__ import annotations

from django.db.models import Prefetch
from django.db.models.functions import Now

from apps.notifications.models import DeliveryAttempt, Notification


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

