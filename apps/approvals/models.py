"""Approvals: no executive hears of an escalation until a manager approves, and no silent,
absent or conflicted approver can stop it being heard.

An ``ApprovalRequest`` asks one person to decide. When they do not decide in time the request
is re-routed: it ends ``expired`` and a new request goes to the next person (their backup, then
their manager, up the chain), linked by ``rerouted_from``, so every request ends decided,
re-routed or withdrawn and the decision log shows who sat on what. ``ApprovalDecision`` rows
are that log: append-only, one per outcome, with who decided and on whose behalf.

The subject is generic (an escalation reaching an executive level; a change-freeze exception):
``kind`` says which, and the engine calls the kind's handler when the request is settled.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.audit.history import tracked_history
from apps.contacts.models import Person
from apps.escalations.models import Escalation
from apps.policies.models import ChangeFreeze


class RequestKind(models.TextChoices):
    EXECUTIVE_LEVEL = "executive_level", "Executive escalation"
    FREEZE_EXCEPTION = "freeze_exception", "Change-freeze exception"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired (re-routed)"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ApprovalRequest(models.Model):
    kind = models.CharField(max_length=30, choices=RequestKind.choices)
    # The subject: one of these is set, as ``kind`` says.
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="approval_requests"
    )
    freeze = models.ForeignKey(
        ChangeFreeze, null=True, blank=True, on_delete=models.CASCADE, related_name="exception_requests"
    )
    # For an escalation: the frozen level asked for (order and name at the time).
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    level_name = models.CharField(max_length=120, blank=True)
    # For a freeze exception: the change asked for.
    change_summary = models.TextField(blank=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_requests_made",
    )
    requester_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approver = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="approval_requests")
    # Whose decision this stands in for after a re-route (the first approver), else empty.
    on_behalf_of = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why this person: "manager", "backup", "manager's manager", "appeal", "escalated around".
    route = models.CharField(max_length=60)
    rerouted_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rerouted_to"
    )
    appeal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="appeal"
    )
    # People who may never decide this request (the raiser, anyone named in the escalation,
    # anyone who already decided on it): person ids, fixed when the chain of requests started.
    excluded = models.JSONField(default=list, blank=True)

    status = models.CharField(max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    version = models.PositiveIntegerField(default=1)
    requested_at = models.DateTimeField()
    due_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="The reason given with the decision.")
    history = tracked_history()

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(
                fields=["approver", "requested_at"], name="approval_inbox", condition=Q(status="pending")
            ),
            models.Index(fields=["escalation", "level", "requested_at"], name="approval_escalation"),
            models.Index(fields=["status", "requested_at"], name="approval_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="executive_level", escalation__isnull=False, level__isnull=False)
                    | Q(kind="freeze_exception", freeze__isnull=False)
                ),
                name="approval_subject_matches_kind",
            ),
            # One pending request per escalation level: a second would be a second gate.
            models.UniqueConstraint(
                fields=["escalation", "level"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_level",
            ),
        ]

    def __str__(self) -> str:
        return f"Approval #{self.pk} ({self.get_kind_display()}) for {self.subject_label}"

    @property
    def subject_label(self) -> str:
        if self.escalation_id:
            return f"{self.escalation.reference} level {self.level} ({self.level_name})"
        return f"change-freeze exception: {self.freeze.name}" if self.freeze_id else "?"

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING

    @property
    def raised_by_id(self) -> int | None:
        """Who asked: the escalation's raiser, or whoever asked for a freeze exception. Only they
        appeal a rejection or go around a silent approver."""
        return self.escalation.raiser_id if self.escalation_id else self.requested_by_id

    def chain(self) -> list[ApprovalRequest]:
        """This request and those it was re-routed from, first first."""
        links, cursor = [], self
        while cursor is not None:
            links.append(cursor)
            cursor = cursor.rerouted_from
        return list(reversed(links))


class Outcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REROUTED = "rerouted", "No decision in time: re-routed"
    ESCALATED_AROUND = "escalated_around", "Escalated around by the raiser"
    APPEALED = "appealed", "Rejection appealed"
    UNANSWERED = "unanswered", "Nobody able to decide could be reached"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ApprovalDecision(models.Model):
    """The decision log: append-only, one row per thing that settled or moved a request."""

    approval = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    # Who decided, kept as text beside the link so it outlives the account (DESIGN.md).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_username = models.CharField(max_length=150, blank=True)
    decided_by_name = models.CharField(max_length=150, blank=True)
    on_behalf_of_name = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    at = models.DateTimeField()
    # Seconds from the first request of the chain to this decision: the bottleneck report's unit.
    waited_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="decision_log"),
            models.Index(fields=["decided_by", "-at"], name="decision_by"),
            models.Index(fields=["outcome", "-at"], name="decision_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.decided_by_name or 'escalportal'} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("approval decisions are append-only")
        super().save(*args, **kwargs)


class ExecutiveBrief(models.Model):
    """What an executive reads: the escalation in business terms. Drafted from the SBAR and
    impact fields when approval is asked; the approver may edit it before approving (every
    version kept by simple-history); sent to the level's executives on approval."""

    approval = models.OneToOneField(ApprovalRequest, on_delete=models.CASCADE, related_name="brief")
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="briefs")
    what_is_happening = models.TextField()
    who_is_affected = models.TextField()
    what_is_being_done = models.TextField()
    what_is_asked = models.TextField()
    next_update = models.CharField(max_length=200)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    history = tracked_history()

    FIELDS = ("what_is_happening", "who_is_affected", "what_is_being_done", "what_is_asked", "next_update")

    def __str__(self) -> str:
        return f"Brief for {self.escalation.reference} level {self.request.level}"

    def text(self) -> str:
        return "\n".join(str(getattr(self, f)) for f in self.FIELDS)


class BriefReceipt(models.Model):
    """An executive's copy of a brief, and when they acknowledged reading it."""

    brief = models.ForeignKey(ExecutiveBrief, on_delete=models.CASCADE, related_name="receipts")
    executive = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="brief_receipts")
    sent_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brief", "executive"], name="receipt_once")]

    def __str__(self) -> str:
        return f"{self.executive.full_name}: {self.brief}"
