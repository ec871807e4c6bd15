"""Deadlines: the rows that are the truth about every clock in the portal.

A Celery ETA task is only a way to get there on time; the beat sweep is the guarantee. A
deadline's effect happens exactly once because the handler runs in the same transaction that
sets ``fired_at``, on a row claimed with a lock and matched against its ``token``.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Q


class Deadline(models.Model):
    kind = models.CharField(max_length=64)
    # The subject is named, not linked: timers know no domain model.
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    # Equal to due_at until an attempt fails; then pushed back by the retry backoff.
    next_attempt_at = models.DateTimeField()
    # The version guard: bumped by every reschedule and cancel, carried by every ETA task, so
    # a task queued for an older version finds no matching row and leaves.
    token = models.PositiveIntegerField(default=1)
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The sweep's query: pending rows by due time. Partial, so it stays as small as the
            # number of pending deadlines however many have fired (healthchecks' alert_after).
            models.Index(
                fields=["next_attempt_at"],
                name="deadline_pending_due",
                condition=Q(fired_at__isnull=True, cancelled_at__isnull=True),
            ),
            models.Index(fields=["subject_type", "subject_id", "kind"], name="deadline_subject"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fired_at__isnull=True) | Q(cancelled_at__isnull=True),
                name="deadline_fired_or_cancelled_not_both",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.subject_type}:{self.subject_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"

    @property
    def kind_label(self) -> str:
        from apps.timers.registry import kind_label  # the registry imports this module

        return kind_label(self.kind)

    @property
    def subject_label(self) -> str:
        """ "Escalation #42": the subject's model in words and its id (timers know no domain
        model, and show no more of a subject than that)."""
        if not self.subject_type:
            return ""
        try:
            name = apps.get_model(self.subject_type)._meta.verbose_name
        except (LookupError, ValueError):
            name = self.subject_type
        return f"{str(name).capitalize()} #{self.subject_id}"

    @property
    def status(self) -> str:
        if self.fired_at:
            return "fired"
        if self.cancelled_at:
            return "cancelled"
        if self.attempts:
            return "retrying"
        return "pending"


class SweepHeartbeat(models.Model):
    """One row per sweeper, touched at the end of every sweep; /healthz reads its age."""

    name = models.CharField(max_length=32, primary_key=True)
    last_run_at = models.DateTimeField()
    last_fired = models.PositiveIntegerField(default=0)
    last_duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%H:%M:%S}"
