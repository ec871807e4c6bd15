"""Queueing and delivering notifications."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.notifications.models import Notification

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def notify(*, event_key: str, recipient_key: str, address: str, subject: str, body: str) -> Notification | None:
    """Put a notification in the outbox (in the caller's transaction); None if already queued
    for this event and recipient. Delivery is queued only once the transaction commits."""
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                event_key=event_key, recipient_key=recipient_key, address=address, subject=subject[:250], body=body
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _enqueue(note.pk))
    return note


def _enqueue(notification_id: int) -> None:
    from apps.notifications.tasks import deliver_notification

    try:
        deliver_notification.delay(notification_id)
    except Exception:  # the retry sweep picks it up
        log.warning("could not queue notification %s", notification_id, exc_info=True)


def notification_deliver(*, notification_id: int) -> str:
    """Send one pending notification. The row lock keeps two workers from sending it at once."""
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if note is None:
            return "stale"
        try:
            send_mail(note.subject, note.body, settings.DEFAULT_FROM_EMAIL, [note.address], fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - recorded; retried by the task and the sweep
            note.attempts += 1
            note.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if note.attempts >= MAX_ATTEMPTS:
                note.status = Notification.Status.FAILED
            note.save(update_fields=["attempts", "last_error", "status"])
            return "failed"
        note.status, note.sent_at = Notification.Status.SENT, timezone.now()
        note.attempts += 1
        note.save(update_fields=["status", "sent_at", "attempts"])
        return "sent"


def notifications_retry_pending(*, older_than_seconds: int = 60, limit: int = 200) -> int:
    """Re-queue pending notifications whose task was lost (broker down, worker killed)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        _enqueue(pk)
    return len(ids)
