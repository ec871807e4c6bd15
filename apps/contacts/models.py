"""Teams and people: the org chart escalations climb.

The foundation holds what the demo organisation and the approval routing need (team,
manager, authority rank); contact methods, backups and rotations come with the policies issue.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.audit.history import tracked_history


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    history = tracked_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    full_name = models.CharField(max_length=150)
    email = models.EmailField(unique=True)
    title = models.CharField(max_length=150)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    # Higher is more authority; a level chain must climb strictly (policies issue).
    authority_rank = models.PositiveSmallIntegerField(default=10)
    timezone = models.CharField(max_length=64, default="UTC")
    history = tracked_history()

    class Meta:
        ordering = ["full_name"]
        indexes = [models.Index(fields=["manager"], name="person_manager")]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.title})"

    def clean(self) -> None:
        # A manager chain that loops would send approvals round in circles.
        seen, boss = {self.pk}, self.manager
        while boss is not None:
            if boss.pk in seen:
                raise ValidationError({"manager": "This manager would make the reporting line a loop."})
            seen.add(boss.pk)
            boss = boss.manager

    def management_chain(self) -> list[Person]:
        chain, boss, seen = [], self.manager, {self.pk}
        while boss is not None and boss.pk not in seen:
            chain.append(boss)
            seen.add(boss.pk)
            boss = boss.manager
        return chain


class ContactMethod(models.Model):
    """How to reach a person, tried in priority order (1 first)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone / SMS"
        CHAT_WEBHOOK = "chat_webhook", "Chat webhook"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contact_methods")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=500)
    priority = models.PositiveSmallIntegerField(default=1)
    history = tracked_history()

    class Meta:
        ordering = ["person", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["person", "priority"], name="contact_method_priority_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"

    def clean(self) -> None:
        from apps.contacts.validation import validate_contact_value

        validate_contact_value(self.kind, self.value)


class BackupAssignment(models.Model):
    """Who stands in for a person who is unavailable or does not respond, and when."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="backup_assignments")
    backup = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="backing_up")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Leave empty for open-ended.")
    reason = models.CharField(max_length=200, blank=True)
    history = tracked_history()

    class Meta:
        ordering = ["person", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="backup_ends_after_start",
            ),
            models.CheckConstraint(condition=~models.Q(person=models.F("backup")), name="backup_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.backup.full_name} backs up {self.person.full_name} from {self.starts_on}"

    def covers(self, day) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class Rotation(models.Model):
    """An on-call rotation: members take shifts of ``shift_hours`` in order, handing off at
    ``handoff_time`` (local to ``timezone``) from ``starts_on``. Overrides win over the order."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rotations")
    name = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC")
    shift_hours = models.PositiveIntegerField(default=168, help_text="Length of one shift (168 = a week).")
    handoff_time = models.TimeField(default="09:00")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    # The team's primary rotation answers "who is on call for this team".
    is_primary = models.BooleanField(default=True)
    history = tracked_history()

    class Meta:
        ordering = ["team", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="rotation_name_unique_in_team"),
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(is_primary=True), name="one_primary_rotation_per_team"
            ),
            models.CheckConstraint(condition=models.Q(shift_hours__gte=1), name="rotation_shift_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.team.name}: {self.name}"


class RotationMember(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rotation_memberships")
    position = models.PositiveSmallIntegerField()
    history = tracked_history()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "position"], name="rotation_position_unique"),
            models.UniqueConstraint(fields=["rotation", "person"], name="rotation_person_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.person.full_name}"


class RotationOverride(models.Model):
    """A person covering a rotation for a period (swap, sickness, holiday)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rotation_overrides")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = tracked_history()

    class Meta:
        ordering = ["rotation", "starts_at"]
        indexes = [models.Index(fields=["rotation", "starts_at", "ends_at"], name="override_period")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person.full_name} covers {self.rotation} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"
