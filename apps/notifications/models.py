"""The outbox: a notification is a row written in the same transaction as the change that
caused it, delivered afterwards by Celery.

One row per (event, recipient): the unique key makes it impossible to notify anyone twice
about the same event, whichever of their contact methods finally reaches them. The row keeps
the message as rendered at the event, the recipient's contact methods in priority order (as
they were at the event) and where delivery has got to; each try is a ``DeliveryAttempt``, so
the timeline can tell the story ("email to x failed: …, then SMS to +44… sent").
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class Channel(models.TextChoices):
    EMAIL = "email", "email"
    PHONE = "phone", "SMS"  # a phone number is reached through the SMS gateway
    CHAT_WEBHOOK = "chat_webhook", "chat"


class Notification(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held"  # waiting for its subject's embargo to lift; released to pending
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    event_key = models.CharField(max_length=200)
    recipient_key = models.CharField(max_length=200, help_text="Who, e.g. person:42")
    recipient_name = models.CharField(max_length=200, blank=True)
    # [[channel, address], ...] in priority order, frozen when the notification was queued.
    methods = models.JSONField(default=list, blank=True)
    method_index = models.PositiveSmallIntegerField(default=0, help_text="The method being tried")
    method_tries = models.PositiveSmallIntegerField(default=0, help_text="Failed tries of that method")
    template = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Tries, all methods together")
    # When the next try is due (database clock). A worker claims a row by pushing this past
    # the time its send can take (a lease), so the same column is backoff and lock.
    next_attempt_at = models.DateTimeField(db_default=Now())
    claim = models.PositiveBigIntegerField(
        default=0, help_text="The claimant's token: a random number drawn for every claim"
    )
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_via_channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    sent_via_address = models.CharField(max_length=500, blank=True)
    # The caller's urgency (an escalation's severity, e.g. "sev1"): picks the retry delays.
    urgency = models.CharField(max_length=20, blank=True)
    subject_type = models.CharField(max_length=100, blank=True, help_text="e.g. escalations.escalation")
    subject_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "recipient_key"], name="notification_once_per_recipient"
            ),
        ]
        indexes = [
            # The retry sweep reads only pending rows by due time: keep that cheap.
            models.Index(
                fields=["next_attempt_at"], name="notification_due", condition=models.Q(status="pending")
            ),
            models.Index(fields=["subject_type", "subject_id", "created_at"], name="notification_subject"),
            # "What the portal sent me", newest first.
            models.Index(fields=["recipient_key", "-created_at", "-id"], name="notification_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_name or self.recipient_key}: {self.subject}"

    @property
    def method(self) -> tuple[str, str] | None:
        """The (channel, address) being tried now, or last tried; None with no methods."""
        if self.method_index < len(self.methods):
            channel, address = self.methods[self.method_index]
            return channel, address
        return None

    @property
    def sent_via(self) -> tuple[str, str] | None:
        return (self.sent_via_channel, self.sent_via_address) if self.status == self.Status.SENT else None

    def summary(self) -> str:
        """One line for the timeline: where delivery stands."""
        if self.status == self.Status.SENT:
            return f"sent by {Channel(self.sent_via_channel).label} to {self.sent_via_address}"
        if self.status == self.Status.FAILED:
            return f"failed: {self.last_error}"
        if self.status == self.Status.HELD:
            return "held until the embargo is lifted"
        if self.method is None:
            return "pending"
        channel, address = self.method
        return f"pending: {Channel(channel).label} to {address}"


class DeliveryAttempt(models.Model):
    """One try of one contact method; append-only."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    address = models.CharField(max_length=500)
    ok = models.BooleanField()
    permanent = models.BooleanField(default=False, help_text="Failed for good: not retried on this method")
    error = models.TextField(blank=True)
    at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["notification", "at"], name="delivery_attempt_notification")]

    def __str__(self) -> str:
        how = f"{Channel(self.channel).label} to {self.address}"
        return f"{how} sent" if self.ok else f"{how} failed: {self.error}"


class DeliveryHeartbeat(models.Model):
    """Touched by the outbox's retry sweep and (at most every couple of seconds per process) by
    deliveries: /healthz fails when it is stale, i.e. when no delivery worker is taking tasks
    (stopped, or its pool hung), even while nothing happens to be due."""

    name = models.CharField(max_length=32, primary_key=True)
    last_run_at = models.DateTimeField(db_default=Now())
    last_requeued = models.PositiveIntegerField(default=0, help_text="Messages the last sweep re-queued")

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%H:%M:%S}"
