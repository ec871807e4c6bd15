"""Reads about policies: which applies, what it demands, whether its people can be reached."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from apps.contacts.models import Person
from apps.contacts.selectors import (
    Unreachable,
    person_problems,
    rotation_problems,
    rotations_prefetched,
    team_problems,
)
from apps.policies.models import EscalationLevel, EscalationPolicy, ResponseThreshold, Service


def policies_for_list() -> QuerySet[EscalationPolicy]:
    """Policies with what a list shows, in a constant number of queries."""
    return (
        EscalationPolicy.objects.select_related("owner", "calendar")
        .prefetch_related("services", Prefetch("levels", queryset=EscalationLevel.objects.order_by("order")))
        .order_by("name")
    )


def policy_detail(pk: int) -> EscalationPolicy:
    level_qs = EscalationLevel.objects.select_related("target_person", "target_team").prefetch_related(
        "target_person__contact_methods",
        Prefetch("target_rotation", queryset=rotations_prefetched()),
    )
    return (
        EscalationPolicy.objects.select_related("owner", "calendar")
        .prefetch_related(
            "services",
            "calendar__closures",
            Prefetch("levels", queryset=level_qs.order_by("order")),
            Prefetch("thresholds", queryset=ResponseThreshold.objects.order_by("severity", "customer_tier")),
        )
        .get(pk=pk)
    )


def policy_for(service: Service, category: str) -> EscalationPolicy | None:
    """The active policy covering this service for this category of risk."""
    return (
        EscalationPolicy.objects.filter(active=True, category=category, services=service)
        .order_by("pk")
        .first()
    )


def threshold_for(policy: EscalationPolicy, severity: str, customer_tier: str) -> ResponseThreshold:
    return policy.thresholds.get(severity=severity, customer_tier=customer_tier)


def level_target_problems(level: EscalationLevel, now: datetime) -> list[Unreachable]:
    """Why this level might reach nobody (an empty list means it is reachable)."""
    if level.target_kind == "person":
        return person_problems(level.target_person) if level.target_person else [Unreachable(level.name, "no person chosen")]
    if level.target_kind == "team_on_call":
        return team_problems(level.target_team, now) if level.target_team else [Unreachable(level.name, "no team chosen")]
    if level.target_rotation is None:
        return [Unreachable(level.name, "no rotation chosen")]
    return rotation_problems(level.target_rotation, now)


def policy_reachability(policy: EscalationPolicy, now: datetime | None = None) -> list[tuple[EscalationLevel, list[Unreachable]]]:
    now = now or timezone.now()
    return [(lvl, probs) for lvl in policy.levels.all() if (probs := level_target_problems(lvl, now))]


def reachability_warnings(now: datetime | None = None) -> list[dict]:
    """Every active policy's unreachable levels, for the governance dashboard."""
    now = now or timezone.now()
    warnings = []
    for policy in policies_for_list().filter(active=True).prefetch_related(
        "levels__target_person__contact_methods", "levels__target_team", "levels__target_rotation"
    ):
        for level, problems in policy_reachability(policy, now):
            warnings.append({"policy": policy, "level": level, "problems": problems})
    return warnings


def policies_due_for_review(today: date | None = None) -> QuerySet[EscalationPolicy]:
    today = today or timezone.localdate()
    return EscalationPolicy.objects.filter(active=True, next_review_on__lte=today).select_related("owner").order_by("next_review_on")


def people_without_contact() -> QuerySet[Person]:
    return Person.objects.filter(contact_methods__isnull=True).order_by("full_name")
