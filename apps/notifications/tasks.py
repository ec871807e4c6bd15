"""Thin Celery tasks over ``apps.notifications.services``; both are idempotent and acks_late."""

from __future__ import annotations

from celery import shared_task

from apps.notifications.services import (
    delivery_heartbeat_now_and_then,
    notification_deliver,
    notification_enqueue,
    notifications_retry_pending,
)


@shared_task(name="notifications.deliver", bind=True, acks_late=True, ignore_result=True)
def deliver_notification(self, notification_id: int) -> str:
    result = notification_deliver(notification_id=notification_id)
    # Come back when the next try is due; the beat's retry sweep covers a task lost meanwhile.
    # (Never in eager mode, where a countdown is ignored and the task would call itself.)
    if result.retry_in is not None and not self.request.is_eager:
        notification_enqueue(notification_id=notification_id, countdown=result.retry_in)
    # A worker busy with a burst may reach the retry sweep's task late: its deliveries keep the
    # heartbeat fresh meanwhile (/healthz).
    delivery_heartbeat_now_and_then()
    return result.outcome.value


@shared_task(name="notifications.retry_pending", acks_late=True, ignore_result=True)
def retry_pending() -> int:
    return notifications_retry_pending()
