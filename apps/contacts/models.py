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

    def management_chain(self) -> list["Person"]:
        chain, boss, seen = [], self.manager, {self.pk}
        while boss is not None and boss.pk not in seen:
            chain.append(boss)
            seen.add(boss.pk)
            boss = boss.manager
        return chain
