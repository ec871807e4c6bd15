"""Reads of the outbox that views, the timeline and the API share."""

from __future__ import annotations

from django.db.models import Prefetch

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
