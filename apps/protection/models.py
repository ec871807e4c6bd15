"""Retaliation protection (DESIGN.md, "Protection"; issue 10).

A platform app: it imports no domain app. What it knows of escalations and people (who is
linked to an escalation, who manages whom) it asks through ``apps.protection.links``, which the
domain apps fill in at start-up; escalations are referred to by id and reference, not by key.

Modes of a report:
- named: the assigned reviewers see who reported;
- confidential: the reporter is signed in and known to the portal, but reviewers see the
  identity only through an approved identity disclosure (limited to its requester, expiring);
- anonymous: no user, IP address or user agent is kept anywhere; the reporter holds a receipt
  key (shown once, stored as a slow salted hash) and follows the case with it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.audit.history import tracked_history


class Mode(models.TextChoices):
    NAMED = "named", "Named"
    CONFIDENTIAL = "confidential", "Confidential"
    ANONYMOUS = "anonymous", "Anonymous"


class Status(models.TextChoices):
    RECEIVED = "received", "Received"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    UNDER_REVIEW = "under_review", "Under review"
    SUBSTANTIATED = "substantiated", "Substantiated"
    UNSUBSTANTIATED = "unsubstantiated", "Unsubstantiated"
    REMEDIED = "remedied", "Remedied"
    CLOSED = "closed", "Closed"


class ProtectionReport(models.Model):
    reference = models.CharField(max_length=20, unique=True)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Null for anonymous reports, always.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The receipt key is "<lookup>-<secret>": the lookup finds the row, the secret is checked
    # against a slow salted hash (Django's password hashers). Only the hash is kept.
    lookup = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=256, blank=True, default="")
    what_happened = models.TextField()
    # The escalation it concerns, by id and reference (protection knows no escalation model).
    escalation_id = models.PositiveIntegerField(null=True, blank=True)
    escalation_ref = models.CharField(max_length=40, blank=True, default="")
    people_named = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    received_at = models.DateTimeField()
    ack_due_at = models.DateTimeField()
    feedback_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    # No user, IP or user agent on the history rows either: services set _history_user = None.
    history = tracked_history(excluded_fields=["key_hash"])

    class Meta:
        ordering = ["-received_at"]
        permissions = [("review_protectionreport", "Review this protection report (assigned reviewer)")]
        indexes = [
            models.Index(fields=["ack_due_at"], name="protection_ack_due", condition=Q(acknowledged_at=None)),
            models.Index(fields=["feedback_due_at"], name="protection_fb_due", condition=Q(feedback_at=None)),
        ]

    def __str__(self) -> str:
        return f"Protection case {self.reference}"

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED


class ProtectionReportUserObjectPermission(UserObjectPermissionBase):
    """Guardian's direct foreign-key table: the assigned reviewers of each case."""

    content_object = models.ForeignKey(ProtectionReport, on_delete=models.CASCADE)


class ProtectionReportGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ProtectionReport, on_delete=models.CASCADE)


class CaseEntry(models.Model):
    """The case's append-only record: messages both ways, internal notes, and the
    acknowledgement and feedback sent (with their text), status changes, notices."""

    class Kind(models.TextChoices):
        FROM_REPORTER = "from_reporter", "Message from the reporter"
        TO_REPORTER = "to_reporter", "Message to the reporter"
        NOTE = "note", "Internal note"
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement sent"
        FEEDBACK = "feedback", "Feedback sent"
        STATUS = "status", "Status changed"
        NOTICE = "notice", "Notice to the reporter"

    REPORTER_SEES = (Kind.FROM_REPORTER, Kind.TO_REPORTER, Kind.ACKNOWLEDGEMENT, Kind.FEEDBACK, Kind.NOTICE)

    report = models.ForeignKey(ProtectionReport, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    # Null for the anonymous reporter, and for the reporter of a confidential case (reviewers
    # must not learn who wrote from the author column).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    history = tracked_history()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.report.reference}"


class CaseAttachment(models.Model):
    """A file the reporter sent with a message, kept in the database beside the case (no file
    on a shared disk, and it leaves with the case when retention removes it). Written once and
    never changed, so it keeps no history of its own; its upload and every read are audited."""

    entry = models.ForeignKey(CaseEntry, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class IdentityDisclosure(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second officer"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    report = models.ForeignKey(ProtectionReport, on_delete=models.CASCADE, related_name="disclosures")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    reporter_told = models.BooleanField(default=False)
    not_told_reason = models.TextField(blank=True, default="")

    history = tracked_history()

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Identity disclosure on {self.report.reference}"


class WatchWindow(models.Model):
    """A period in which adverse actions against a person who spoke up raise a flag. Held under
    a pseudonym (an HMAC of the user id with a secret key): the table does not say who is
    watched; only an adverse action against a known person finds its windows."""

    pseudonym = models.CharField(max_length=64, db_index=True)
    escalation_id = models.PositiveIntegerField(null=True, blank=True)
    escalation_ref = models.CharField(max_length=40, blank=True, default="")
    act = models.CharField(max_length=200)
    opens_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    history = tracked_history()

    class Meta:
        ordering = ["-opens_at"]

    def __str__(self) -> str:
        return f"Watch window ({self.escalation_ref or 'no escalation'})"


class AdverseAction(models.Model):
    class Kind(models.TextChoices):
        DISMISSAL = "dismissal", "Dismissal"
        DEMOTION = "demotion", "Demotion"
        WITHHELD_PROMOTION = "withheld_promotion", "Withheld promotion"
        TRANSFER = "transfer", "Transfer"
        PAY_OR_HOURS = "pay_or_hours", "Pay or hours change"
        NEGATIVE_RATING = "negative_rating", "Negative rating"
        DISCIPLINE = "discipline", "Discipline"
        NON_RENEWAL = "non_renewal", "Non-renewal"

    class Status(models.TextChoices):
        EFFECTIVE = "effective", "Effective"
        AWAITING_SIGN_OFF = "awaiting_sign_off", "Waiting for an officer's sign-off"

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.TextField(blank=True, default="")
    takes_effect_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.EFFECTIVE)
    source = models.CharField(max_length=100)  # "portal" or the integration's name
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    sign_off_reason = models.TextField(blank=True, default="")

    history = tracked_history()

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} recorded {self.recorded_at:%Y-%m-%d}"


class ProtectionFlag(models.Model):
    """An adverse action against a watched person: seen by protection officers only."""

    action = models.ForeignKey(AdverseAction, on_delete=models.CASCADE, related_name="flags")
    window = models.ForeignKey(WatchWindow, on_delete=models.PROTECT, related_name="flags")
    escalation_ref = models.CharField(max_length=40, blank=True, default="")
    actor_link = models.CharField(max_length=300, blank=True, default="")
    raised_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True, default="")

    history = tracked_history()

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"Flag on {self.escalation_ref or 'an adverse action'}"


class IntegrationToken(models.Model):
    """An HR system allowed to post adverse actions. Only a SHA-256 of the token is kept (it is
    long and random, so a fast hash is enough)."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = tracked_history(excluded_fields=["token_hash"])

    def __str__(self) -> str:
        return self.name


class CheckIn(models.Model):
    """A private question to a watched person at 2, 6 and 12 weeks: "is anything happening to you
    because you escalated?". Held under the window's pseudonym, like the window: the person finds
    their own check-ins by it; nobody can list whose they are."""

    window = models.ForeignKey(WatchWindow, on_delete=models.CASCADE, related_name="check_ins")
    pseudonym = models.CharField(max_length=64, db_index=True)
    weeks = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    something_happening = models.BooleanField(null=True, blank=True)

    history = tracked_history()

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["window", "weeks"], name="protection_checkin_once")]

    def __str__(self) -> str:
        return f"Check-in at {self.weeks} weeks"
