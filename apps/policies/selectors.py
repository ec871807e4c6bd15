"""Reads about policies: which applies, what it demands, whether its people can be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.accounts.roles import Cap, Role
from apps.contacts.models import Person, Rotation, Team
from apps.contacts.selectors import (
    Unreachable,
    person_problems,
    rotation_problems,
    rotations_prefetched,
    team_problems,
)
from apps.policies.models import ChangeFreeze, EscalationLevel, EscalationPolicy, ResponseThreshold, Service


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


@dataclass(frozen=True)
class TeamFacts:
    """What ``level_target_problems`` would otherwise ask per team and per rotation, read in
    bulk beforehand (``reachability_overview``): team sizes, primary rotations by team, and
    rotations by id, with their members, contact methods and overrides prefetched."""

    sizes: dict[int, int]
    primary_by_team: dict[int, Rotation]
    rotations: dict[int, Rotation]


def level_target_problems(level: EscalationLevel, now: datetime, facts: TeamFacts | None = None) -> list[Unreachable]:
    """Why this level might reach nobody (an empty list means it is reachable)."""
    if level.target_kind == "person":
        return person_problems(level.target_person) if level.target_person else [Unreachable(level.name, "no person chosen")]
    if level.target_kind == "team_on_call":
        team = level.target_team
        if team is None:
            return [Unreachable(level.name, "no team chosen")]
        if facts is None:
            return team_problems(team, now)
        if not facts.sizes.get(team.pk):
            return [Unreachable(team.name, "has no members")]
        rotation = facts.primary_by_team.get(team.pk)
        if rotation is None:
            return [Unreachable(team.name, "has no primary on-call rotation")]
        return rotation_problems(rotation, now)
    rotation = facts.rotations.get(level.target_rotation_id) if facts else level.target_rotation
    if rotation is None:
        return [Unreachable(level.name, "no rotation chosen")]
    return rotation_problems(rotation, now)


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


def open_freezes() -> QuerySet[ChangeFreeze]:
    """Change freezes not yet over (an exception can be asked for during or before them)."""
    return ChangeFreeze.objects.filter(ends_at__gt=timezone.now())


def policies_due_for_review(today: date | None = None) -> QuerySet[EscalationPolicy]:
    today = today or timezone.localdate()
    return EscalationPolicy.objects.filter(active=True, next_review_on__lte=today).select_related("owner").order_by("next_review_on")


def people_without_contact() -> QuerySet[Person]:
    return Person.objects.filter(contact_methods__isnull=True).order_by("full_name")


# --- governance dashboard (the home page's cards for governance admins and auditors) --------


def governance_dashboard(user, now: datetime | None = None) -> dict | None:
    """What the home page shows a governance admin (an auditor sees the overdue reviews).

    Reachability is read in a fixed number of queries however many policies, levels and
    rotations there are: ``reachability_warnings`` asks per team and per rotation,
    which the home page of every governance admin cannot afford as the organisation grows."""
    is_admin = user.has_perm(Cap.EDIT_POLICIES.perm)
    if not is_admin and Role.AUDITOR not in user.roles:
        return None
    now = now or timezone.now()
    dashboard = {"due_reviews": list(policies_due_for_review(timezone.localdate(now))[:20])}
    if is_admin:
        no_contact = people_without_contact().select_related("team")
        dashboard["unreachable"] = reachability_overview(now)
        dashboard["no_contact"] = list(no_contact[:20])
        dashboard["no_contact_more"] = (
            max(0, no_contact.count() - 20) if len(dashboard["no_contact"]) == 20 else 0
        )
    return dashboard


def reachability_overview(now: datetime) -> list[dict]:
    """Every active policy's unreachable levels, like ``reachability_warnings``, in
    seven queries: levels, their people's contact methods, teams' sizes, the rotations
    involved with their members, the members' contact methods and the overrides."""
    levels = list(
        EscalationLevel.objects.filter(policy__active=True)
        .select_related("policy", "target_person", "target_team")
        .prefetch_related("target_person__contact_methods")
        .order_by("policy__name", "order")
    )
    team_ids = {
        lvl.target_team_id for lvl in levels if lvl.target_kind == "team_on_call" and lvl.target_team_id
    }
    rotation_ids = {
        lvl.target_rotation_id for lvl in levels if lvl.target_kind == "rotation" and lvl.target_rotation_id
    }
    sizes = dict(Team.objects.filter(pk__in=team_ids).annotate(n=Count("members")).values_list("pk", "n"))
    rotations = list(
        rotations_prefetched()
        .filter(Q(pk__in=rotation_ids) | Q(team_id__in=team_ids, is_primary=True))
        .prefetch_related("members__person__contact_methods")
    )
    facts = TeamFacts(
        sizes=sizes,
        primary_by_team={r.team_id: r for r in rotations if r.is_primary},
        rotations={r.pk: r for r in rotations},
    )
    warnings = []
    for level in levels:
        problems = level_target_problems(level, now, facts)
        if problems:
            warnings.append({"policy": level.policy, "level": level, "problems": problems})
    return warnings
