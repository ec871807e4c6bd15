from celery import shared_task

from apps.notifications.services import notification_deliver, notifications_retry_pending


@shared_task(name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver_notification(notification_id: int) -> str:
    return notification_deliver(notification_id=notification_id)


@shared_task(name="notifications.retry_pending", acks_late=True, ignore_result=True)
def retry_pending() -> int:
    return notifications_retry_pending()
