"""Escalation policies: who escalates to whom, on which clock.

Every model is history-tracked; policies, levels and thresholds change only through
``apps.policies.services`` with a required change reason, so an escalation that froze a
policy version (its history id) can always show what applied and why it was changed later.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.audit.history import tracked_history
from apps.common.moments import timezone_error
from apps.contacts.models import Person, Rotation, Team
from apps.policies.calendar import (
    MIN_WEEKLY_WORKING_TIME,
    CalendarError,
    WorkingCalendar,
    parse_weekly,
    weekly_working_time,
)


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 — critical"
    SEV2 = "sev2", "SEV2 — major"
    SEV3 = "sev3", "SEV3 — minor"
    SEV4 = "sev4", "SEV4 — low"


class CustomerTier(models.TextChoices):
    PREMIUM = "premium", "Premium"
    STANDARD = "standard", "Standard"
    BASIC = "basic", "Basic"


class Category(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    SECURITY = "security", "Security"
    CUSTOMER = "customer", "Customer"
    COMPLIANCE = "compliance", "Compliance"
    ETHICS = "ethics", "Ethics"
    CHANGE = "change", "Change management"


def validate_timezone(value: str) -> None:
    if message := timezone_error(value):
        raise ValidationError(message)


class BusinessCalendar(models.Model):
    """Working hours, holidays and closures that decide when business-hours clocks run.

    ``weekly_hours`` maps weekday (0 = Monday) to local [start, end] pairs, e.g.
    ``{"0": [["09:00", "17:30"]], ...}``; an end of ``"24:00"`` is midnight at the end of the
    day. ``always_open`` is the 24x7 calendar. A calendar has at least an hour of working time a
    week, so that the longest threshold runs out in a computable time (see
    ``apps.policies.calendar``).
    """

    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    always_open = models.BooleanField(default=False, help_text="24x7: every minute counts.")
    weekly_hours = models.JSONField(default=dict, blank=True)
    holiday_country = models.CharField(max_length=2, blank=True, help_text="ISO country code, e.g. GB")
    holiday_subdivision = models.CharField(max_length=10, blank=True, help_text="Region, e.g. ENG")
    history = tracked_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            weekly = parse_weekly(self.weekly_hours or {})
        except (CalendarError, ValueError, TypeError) as exc:
            raise ValidationError({"weekly_hours": str(exc)}) from None
        if not self.always_open and not any(weekly.values()):
            raise ValidationError({"weekly_hours": "A calendar needs working hours on at least one day."})
        total = weekly_working_time(weekly)
        if not self.always_open and total < MIN_WEEKLY_WORKING_TIME:
            minutes = int(total.total_seconds() // 60)
            raise ValidationError(
                {
                    "weekly_hours": "A calendar needs at least 1 hour of working time a week "
                    f"(these hours add up to {minutes} minute{'s' if minutes != 1 else ''})."
                }
            )
        if self.holiday_country:
            import holidays

            try:
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision or None)
            except NotImplementedError as exc:
                raise ValidationError({"holiday_country": str(exc)}) from None

    def working_calendar(self) -> WorkingCalendar:
        """The arithmetic view; closures must be prefetched to avoid a query per call."""
        return WorkingCalendar(
            tz=ZoneInfo(self.timezone),
            weekly=parse_weekly(self.weekly_hours or {}),
            closures=frozenset(c.date for c in self.closures.all()),
            holiday_country=self.holiday_country,
            holiday_subdivision=self.holiday_subdivision,
            always_open=self.always_open,
        )


class CalendarClosure(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200)
    history = tracked_history()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="closure_unique_per_day")]

    def __str__(self) -> str:
        return f"{self.date}: {self.reason}"


class CalendarChange(models.Model):
    """A change to a business calendar that takes effect at a chosen time rather than at once
    (new opening hours from 1 January, a move to another office's zone at the weekend).

    ``values`` are the calendar's fields as they will be, ``closures`` its closures as
    ``[["YYYY-MM-DD", reason], ...]``; both were validated when the change was scheduled and
    are checked again when it is applied (a clock fires at ``effective_at``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to take effect"
        APPLIED = "applied", "Applied"
        CANCELLED = "cancelled", "Cancelled"

    FIELDS = ("name", "timezone", "always_open", "weekly_hours", "holiday_country", "holiday_subdivision")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="scheduled_changes")
    effective_at = models.DateTimeField()
    values = models.JSONField()
    closures = models.JSONField(default=list)
    reason = models.CharField(max_length=500)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_name = models.CharField(max_length=150, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_note = models.CharField(max_length=500, blank=True)
    history = tracked_history()

    class Meta:
        ordering = ["effective_at", "pk"]
        indexes = [
            models.Index(fields=["calendar", "status", "effective_at"], name="calendar_change_pending")
        ]

    def __str__(self) -> str:
        return f"Change to {self.calendar} at {self.effective_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField(help_text="When this policy applies and what it is for.")
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="owned_policies")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies")
    # Fields the raiser must fill in beyond the fixed ones (nature of risk, criticality, who is
    # impacted, impact, when, SBAR): [{"name": "...", "label": "...", "help": "..."}]
    extra_required_fields = models.JSONField(default=list, blank=True)
    # Each must be confirmed before an escalation under this policy can be resolved.
    de_escalation_criteria = models.JSONField(default=list, blank=True)
    review_interval_days = models.PositiveIntegerField(default=180)
    next_review_on = models.DateField()
    active = models.BooleanField(default=True)
    # How long a raiser under this policy is watched for retaliation (the protection app's watch
    # window); 12 months unless the policy says otherwise.
    watch_window_months = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    # The fallback for its kind of risk: it covers every service without a policy of its own, and
    # concerns about no particular service (people, conduct), so no kind of risk is a dead end.
    covers_all_services = models.BooleanField(
        default=False,
        help_text="Covers this kind of risk for every service without a policy of its own, "
        "and concerns that are about no particular service (people, conduct).",
    )
    history = tracked_history()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(review_interval_days__gte=1), name="policy_review_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def review_overdue(self) -> bool:
        return self.active and self.next_review_on <= date.today()

    def clean(self) -> None:
        if not isinstance(self.de_escalation_criteria, list) or not all(
            isinstance(c, str) and c.strip() for c in self.de_escalation_criteria
        ):
            raise ValidationError({"de_escalation_criteria": "Each criterion must be a non-empty sentence."})
        names = [f.get("name") for f in self.extra_required_fields or [] if isinstance(f, dict)]
        if len(names) != len(self.extra_required_fields or []) or not all(names):
            raise ValidationError({"extra_required_fields": "Each extra field needs a name and a label."})
        if len(set(names)) != len(names):
            raise ValidationError({"extra_required_fields": "Extra field names must be unique."})


class Service(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    # The owner team initiates escalation when several services are impacted.
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="owned_services")
    supporting_teams = models.ManyToManyField(Team, blank=True, related_name="supported_services")
    customer_tier = models.CharField(
        max_length=20, choices=CustomerTier.choices, default=CustomerTier.STANDARD
    )
    policies = models.ManyToManyField(EscalationPolicy, blank=True, related_name="services")
    history = tracked_history(m2m_fields=[policies, supporting_teams])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    class TargetKind(models.TextChoices):
        PERSON = "person", "A named person"
        TEAM_ON_CALL = "team_on_call", "The team's on-call"
        ROTATION = "rotation", "A rotation"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    target_kind = models.CharField(max_length=20, choices=TargetKind.choices)
    target_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target_rotation = models.ForeignKey(
        Rotation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Authority must strictly increase up the chain; a named person must hold at least this.
    authority_rank = models.PositiveSmallIntegerField()
    requires_approval = models.BooleanField(
        default=False, help_text="Executive level: reached only through a manager's approval."
    )
    approval_timeout = models.DurationField(default=timedelta(hours=4))
    # Role values (apps.accounts.roles.Role) that may escalate to this level by hand.
    trigger_roles = models.JSONField(default=list, blank=True)
    history = tracked_history()

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="level_order_unique"),
            models.CheckConstraint(
                condition=(
                    Q(target_kind="person", target_person__isnull=False)
                    | Q(target_kind="team_on_call", target_team__isnull=False)
                    | Q(target_kind="rotation", target_rotation__isnull=False)
                ),
                name="level_target_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"L{self.order} {self.name}"

    @property
    def target(self):
        return {
            "person": self.target_person,
            "team_on_call": self.target_team,
            "rotation": self.target_rotation,
        }[self.target_kind]

    def clean(self) -> None:
        from apps.accounts.roles import Role

        field = {"person": "target_person", "team_on_call": "target_team", "rotation": "target_rotation"}
        wanted = field.get(self.target_kind)
        if wanted and getattr(self, f"{wanted}_id") is None:
            raise ValidationError(
                {wanted: f"Choose the {self.get_target_kind_display().lower()} this level reaches."}
            )
        for other in set(field.values()) - {wanted}:
            setattr(self, other, None)
        unknown = set(self.trigger_roles or []) - {r.value for r in Role}
        if unknown:
            raise ValidationError({"trigger_roles": f"Unknown roles: {', '.join(sorted(unknown))}."})
        if (
            self.target_kind == "person"
            and self.target_person
            and self.target_person.authority_rank < self.authority_rank
        ):
            raise ValidationError(
                {
                    "target_person": f"{self.target_person.full_name} holds authority {self.target_person.authority_rank}, "
                    f"below this level's {self.authority_rank}."
                }
            )


class ResponseThreshold(models.Model):
    """Severity x customer tier -> how fast to acknowledge and resolve."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="thresholds")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    customer_tier = models.CharField(max_length=20, choices=CustomerTier.choices)
    acknowledge_within = models.DurationField()
    resolve_within = models.DurationField()
    business_hours_only = models.BooleanField(
        default=False, help_text="Clocks stop outside the policy's calendar."
    )
    history = tracked_history()

    class Meta:
        ordering = ["policy", "severity", "customer_tier"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "severity", "customer_tier"], name="threshold_unique_cell"
            ),
            models.CheckConstraint(
                condition=Q(acknowledge_within__gt=timedelta(0)), name="threshold_ack_positive"
            ),
            models.CheckConstraint(
                condition=Q(resolve_within__gte=F("acknowledge_within")), name="threshold_resolve_after_ack"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity}/{self.customer_tier}: ack {self.acknowledge_within}, resolve {self.resolve_within}"


class MaintenanceWindow(models.Model):
    name = models.CharField(max_length=150)
    services = models.ManyToManyField(Service, related_name="maintenance_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    defers_clocks = models.BooleanField(
        default=True, help_text="Escalation clocks due inside wait until it ends."
    )
    history = tracked_history(m2m_fields=[services])

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="maintenance_period")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenance_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A maintenance window must end after it starts."})


class ChangeFreeze(models.Model):
    name = models.CharField(max_length=150)
    services = models.ManyToManyField(Service, related_name="change_freezes")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.TextField()
    history = tracked_history(m2m_fields=[services])

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="freeze_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A change freeze must end after it starts."})


class GovernanceThreshold(models.Model):
    """So many escalations for a service or team within a period trigger a governance report."""

    name = models.CharField(max_length=150)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    max_escalations = models.PositiveIntegerField()
    period_days = models.PositiveIntegerField(default=30)
    history = tracked_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(service__isnull=False, team__isnull=True) | Q(service__isnull=True, team__isnull=False)
                ),
                name="governance_threshold_one_scope",
            ),
            models.CheckConstraint(condition=Q(period_days__gte=1), name="governance_period_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.service_id) == bool(self.team_id):
            raise ValidationError({"service": "Choose either a service or a team (exactly one)."})


class SensitivePattern(models.Model):
    """Content that must not leave the portal in an executive brief or a stakeholder message:
    internal hostnames, IP addresses, keys and tokens, personal data. Kept by governance admins;
    ``apps.policies.content.sensitive_matches`` checks a text against the active ones."""

    name = models.CharField(max_length=100, unique=True, help_text="Said to the writer when it matches.")
    pattern = models.CharField(max_length=500, help_text="A Python regular expression (case-insensitive).")
    active = models.BooleanField(default=True)
    history = tracked_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        import re

        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValidationError({"pattern": f"Not a valid regular expression: {exc}."}) from None
