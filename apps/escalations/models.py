"""Escalations: a concern that climbs a documented chain until someone able to act owns it.

One ``status`` field (never several booleans) plus an append-only ``TimelineEvent`` per change,
like healthchecks' ``Flip``. ``version`` guards every transition: a service locks the row,
checks the version the user saw, and bumps it, so two people acting at once cannot both win.

The policy in force when the escalation was raised is frozen into ``chain`` (levels, the
threshold that applied, de-escalation criteria, extra fields) with the policy's history id in
``policy_version``: a later policy edit never changes an escalation in flight, and the audit
shows which version applied (Grafana OnCall's escalation snapshot).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.audit.history import tracked_history
from apps.common.keyset import FAR_FUTURE, FAR_PAST
from apps.contacts.models import Person
from apps.escalations.chain.frozen import FrozenChain, FrozenLevel
from apps.policies.models import Category, CustomerTier, EscalationPolicy, Service, Severity


class Status(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Statuses in which someone is still expected to act; the clocks run only here.
ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED, Status.AWAITING_APPROVAL)


class Criticality(models.TextChoices):
    """How critical the affected workload is to the business (the usual four tiers)."""

    MISSION_CRITICAL = "mission_critical", "Mission-critical"
    BUSINESS_CRITICAL = "business_critical", "Business-critical"
    BUSINESS_OPERATIONAL = "business_operational", "Business-operational"
    ADMINISTRATIVE = "administrative", "Administrative"


class Escalation(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    # None for a concern about no particular service (people, conduct), under a fallback policy.
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="escalations"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    customer_tier = models.CharField(max_length=20, choices=CustomerTier.choices)

    # What every escalation must say (AWS OPS03-BP03): the nature of the risk, the criticality
    # of the workload, who is impacted, what the impact is, and when it is expected.
    nature_of_risk = models.TextField()
    criticality = models.CharField(max_length=30, choices=Criticality.choices)
    who_is_impacted = models.TextField()
    impact = models.TextField()
    impact_expected_at = models.DateTimeField(help_text="When the impact is expected (or began).")
    # SBAR: situation, background, assessment, recommendation.
    situation = models.TextField()
    background = models.TextField()
    assessment = models.TextField()
    recommendation = models.TextField()
    # Answers to the policy's extra required fields: {name: answer}.
    extra_fields = models.JSONField(default=dict, blank=True)
    confidential = models.BooleanField(
        default=False, help_text="Visible only to the people taking part in it."
    )
    # Messages beyond the people working on it (stakeholder updates, executive briefs) wait.
    embargoed = models.BooleanField(default=False)

    raiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="raised_escalations"
    )
    raiser_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who works it (DESIGN.md, "Escalation lifecycle"): changes when someone takes ownership or
    # names an owner, never because the escalation climbed a level.
    owner = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_escalations"
    )
    # Whose authority is engaged: the person the level reached reaches. They acknowledge (the
    # acknowledge clock is theirs), take ownership, or name an owner. At level 1 usually the owner.
    engaged = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="engaged_escalations"
    )
    # Everyone who has owned it: they stay on as responders (stakeholder updates, comments, a
    # proposed resolution) when the owner changes.
    responders = models.ManyToManyField(Person, blank=True, related_name="responding_to")

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="escalations")
    # The policy's history id when raised, and the frozen chain (see the module docstring).
    policy_version = models.BigIntegerField()
    chain = models.JSONField()
    current_level = models.PositiveSmallIntegerField(default=1)
    # The level waiting for an approval while status is awaiting_approval.
    pending_level = models.PositiveSmallIntegerField(null=True, blank=True)
    # The status to go back to when an approval is refused.
    resume_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    # Missed acknowledgements at the current level: 1 = the backup was called in.
    ack_misses = models.PositiveSmallIntegerField(default=0)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    version = models.PositiveIntegerField(default=1)

    detected_at = models.DateTimeField(null=True, blank=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    ack_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    resolve_breached_at = models.DateTimeField(null=True, blank=True)
    # The next clock to run out while active (ack while open, else resolve): "breaches next".
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_update_at = models.DateTimeField(null=True, blank=True)

    resolution_summary = models.TextField(blank=True)
    criteria_confirmed = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = tracked_history(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            # The list's default order, and its commonest filters.
            models.Index(fields=["-raised_at", "-id"], name="esc_raised"),
            models.Index(fields=["status", "-raised_at"], name="esc_status_raised"),
            models.Index(fields=["raiser", "-raised_at"], name="esc_raiser_raised"),
            models.Index(fields=["owner", "-raised_at"], name="esc_owner_raised"),
            models.Index(fields=["engaged", "-raised_at"], name="esc_engaged_raised"),
            models.Index(fields=["service", "-raised_at"], name="esc_service_raised"),
            # "Breaches next": only active ones carry a due time worth sorting.
            models.Index(fields=["next_due_at"], name="esc_next_due", condition=Q(next_due_at__isnull=False)),
            # The list sorted by next deadline, clockless ones last either way, pages by keyset on
            # the deadline or a stand-in past every date (apps.common.keyset): one index per way.
            models.Index(Coalesce("next_due_at", Value(FAR_FUTURE)), "id", name="esc_next_due_soonest"),
            models.Index(Coalesce("next_due_at", Value(FAR_PAST)), "id", name="esc_next_due_latest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="awaiting_approval") | Q(pending_level__isnull=False),
                name="esc_awaiting_has_pending_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def frozen(self) -> FrozenChain:
        """The ``chain`` JSON as typed dataclasses. Built on each access (cheap, and never stale:
        the JSON is written once, at raise time, and read-only after)."""
        return FrozenChain.from_json(self.chain)

    def level(self, order: int | None = None) -> FrozenLevel | None:
        """The frozen level ``order`` (default: the current one), or None past the chain's end."""
        return self.frozen.level(self.current_level if order is None else order)

    @property
    def levels(self) -> tuple[FrozenLevel, ...]:
        return self.frozen.levels

    @property
    def criteria(self) -> tuple[str, ...]:
        return self.frozen.criteria


class EscalationUserObjectPermission(UserObjectPermissionBase):
    """Guardian's direct foreign-key permission table (its documented fast path): who takes part
    in which escalation. Confidential escalations are visible only through these rows."""

    content_object = models.ForeignKey(Escalation, on_delete=models.CASCADE)


class EscalationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Escalation, on_delete=models.CASCADE)


class ReferenceCounter(models.Model):
    """The last reference number issued per year: ESC-2026-00042."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class TimelineEvent(models.Model):
    """One row per thing that happened to an escalation; append-only, in order."""

    class Kind(models.TextChoices):
        RAISED = "raised", "Raised"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        HANDED_OFF = "handed_off", "Handed off"
        ESCALATED = "escalated", "Escalated"
        APPROVAL_REQUESTED = "approval_requested", "Approval requested"
        APPROVAL_DECIDED = "approval_decided", "Approval decided"
        LEVEL_REACHED = "level_reached", "Level reached"
        LEVEL_SKIPPED = "level_skipped", "Level skipped"
        DE_ESCALATED = "de_escalated", "De-escalated"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COMMENT = "comment", "Comment"
        UPDATE = "update", "Stakeholder update"
        ACK_MISSED = "ack_missed", "Acknowledgement missed"
        RESOLVE_BREACHED = "resolve_breached", "Resolve deadline breached"
        UPDATE_REMINDER = "update_reminder", "Update reminder"
        CLOCK_DEFERRED = "clock_deferred", "Clock deferred"
        BRIEF = "brief", "Executive brief"
        EMBARGO = "embargo", "Embargo"

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    at = models.DateTimeField()
    # The actor outlives their account: id and username as text beside the link (DESIGN.md).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["escalation", "at", "id"], name="timeline_escalation_at")]

    def __str__(self) -> str:
        return f"{self.escalation_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("timeline events are append-only")
        super().save(*args, **kwargs)

    @property
    def by_system(self) -> bool:
        return not self.actor_username


class HandOff(models.Model):
    """Ownership passed at the same level, with the context the next owner needs."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="handoffs")
    level = models.PositiveSmallIntegerField()
    from_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    context_summary = models.TextField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    history = tracked_history()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.escalation_id}: to {self.to_person_id} at {self.at:%Y-%m-%d %H:%M}"
