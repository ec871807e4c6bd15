"""The outbox: a notification is a row written in the same transaction as the change that
caused it, delivered afterwards by Celery. The unique (event, recipient, channel) key makes a
notification impossible to send twice for the same event and recipient."""

from __future__ import annotations

from django.db import models


class Notification(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    event_key = models.CharField(max_length=200)
    recipient_key = models.CharField(max_length=200, help_text="Who, e.g. person:42")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    address = models.CharField(max_length=500)
    subject = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event_key", "recipient_key", "channel"], name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="notification_pending", condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.address}: {self.subject}"
