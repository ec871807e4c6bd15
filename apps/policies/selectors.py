"""Reads about policies: which applies, what it demands, whether its people can be reached,
what the policy and calendar pages show, and their histories (for those who may read them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import holidays as holidays_lib
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.accounts.roles import Cap, Role
from apps.audit.diffs import format_duration, history_entries, merge_entries
from apps.contacts.models import Person, Rotation, Team
from apps.contacts.selectors import (
    Unreachable,
    on_call,
    on_call_rotation,
    oversight_of,
    person_problems,
    rotation_problems,
    rotations_prefetched,
    team_problems,
)
from apps.policies.calendar import WEEKDAY_NAMES, parse_weekly
from apps.policies.models import (
    BusinessCalendar,
    CalendarChange,
    CalendarClosure,
    Category,
    ChangeFreeze,
    CustomerTier,
    EscalationLevel,
    EscalationPolicy,
    ResponseThreshold,
    Service,
    Severity,
)

HISTORY_LIMIT = 50
ROLE_LABELS = {r.value: r.label for r in Role}


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


def policy_for(service: Service | None, category: str) -> EscalationPolicy | None:
    """The active policy covering this service for this kind of risk: the service's own, else
    the kind's fallback (which also covers concerns about no particular service)."""
    active = EscalationPolicy.objects.filter(active=True, category=category)
    own = active.filter(services=service).order_by("pk").first() if service is not None else None
    return own or active.filter(covers_all_services=True).order_by("pk").first()


def uncovered(services: list[Service] | None = None) -> list[tuple[Service, str]]:
    """Each active service and kind of risk that no active policy covers, for the governance
    dashboard: raising one is refused. Two queries whatever the size."""
    pairs = set(
        EscalationPolicy.services.through.objects.filter(escalationpolicy__active=True).values_list(
            "service_id", "escalationpolicy__category"
        )
    )
    fallback = set(
        EscalationPolicy.objects.filter(active=True, covers_all_services=True).values_list(
            "category", flat=True
        )
    )
    services = services if services is not None else list(Service.objects.order_by("name"))
    return [
        (service, label)
        for service in services
        for category, label in Category.choices
        if category not in fallback and (service.pk, category) not in pairs
    ]


def policy_contacts() -> list[Person]:
    """Whom to ask for a policy: the governance admins in the directory."""
    return list(
        Person.objects.filter(user__groups__name=Role.GOVERNANCE_ADMIN.value, user__is_active=True).order_by(
            "full_name"
        )
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


def level_target_problems(
    level: EscalationLevel, now: datetime, facts: TeamFacts | None = None
) -> list[Unreachable]:
    """Why this level might reach nobody (an empty list means it is reachable)."""
    if level.target_kind == "person":
        return (
            person_problems(level.target_person)
            if level.target_person
            else [Unreachable(level.name, "no person chosen")]
        )
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


def policy_reachability(
    policy: EscalationPolicy, now: datetime | None = None
) -> list[tuple[EscalationLevel, list[Unreachable]]]:
    now = now or timezone.now()
    return [(lvl, probs) for lvl in policy.levels.all() if (probs := level_target_problems(lvl, now))]


def reachability_warnings(now: datetime | None = None) -> list[dict]:
    """Every active policy's unreachable levels, for the governance dashboard."""
    now = now or timezone.now()
    warnings = []
    for policy in (
        policies_for_list()
        .filter(active=True)
        .prefetch_related(
            "levels__target_person__contact_methods", "levels__target_team", "levels__target_rotation"
        )
    ):
        for level, problems in policy_reachability(policy, now):
            warnings.append({"policy": policy, "level": level, "problems": problems})
    return warnings


def open_freezes() -> QuerySet[ChangeFreeze]:
    """Change freezes not yet over (an exception can be asked for during or before them)."""
    return ChangeFreeze.objects.filter(ends_at__gt=timezone.now())


def policies_due_for_review(today: date | None = None) -> QuerySet[EscalationPolicy]:
    today = today or timezone.localdate()
    return (
        EscalationPolicy.objects.filter(active=True, next_review_on__lte=today)
        .select_related("owner")
        .order_by("next_review_on")
    )


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
        dashboard["uncovered"] = uncovered()
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


# --- the policy page ------------------------------------------------------------------------


def policy_page(policy: EscalationPolicy, now: datetime, today: date) -> dict:
    """What the policy page shows of a policy read by ``policy_detail``: each level with who
    it reaches now and why it might reach nobody, the threshold matrix and the calendar."""
    problems = dict((level.pk, probs) for level, probs in policy_reachability(policy, now))
    return {
        "policy": policy,
        "levels": [_level_row(level, now, problems.get(level.pk, [])) for level in policy.levels.all()],
        "reachability": [
            f"Level {level.order} ({level.name}): {problem}"
            for level in policy.levels.all()
            for problem in problems.get(level.pk, [])
        ],
        "matrix": threshold_matrix(policy.thresholds.all()),
        "tiers": CustomerTier.labels,
        "calendar": calendar_summary(policy.calendar, today),
        "services": list(policy.services.all()),
        "overdue": policy.active and policy.next_review_on <= today,
        "version": policy_version_number(policy),
        "now": now,
    }


def policy_version_number(policy: EscalationPolicy) -> dict:
    """Which version this is (the how-many-th saved state, as escalations name the version they
    froze) and when it was saved."""
    history = EscalationPolicy.history.filter(id=policy.pk)
    latest = history.order_by("-history_id").values_list("history_date", flat=True).first()
    return {"number": history.count(), "saved_at": latest}


def level_holder(level: EscalationLevel, now: datetime) -> Person | None:
    """Who the level reaches right now: the named person, or whoever holds the rotation."""
    if level.target_kind == "person":
        return level.target_person
    if level.target_kind == "team_on_call":
        return on_call(level.target_team, now) if level.target_team else None
    return on_call_rotation(level.target_rotation, now) if level.target_rotation else None


def _level_row(level: EscalationLevel, now: datetime, problems: list[Unreachable]) -> dict:
    return {
        "level": level,
        "target": level.target,
        "now": level_holder(level, now),
        "timeout": format_duration(level.approval_timeout),
        "trigger_roles": [ROLE_LABELS.get(r, r) for r in level.trigger_roles or []],
        "problems": problems,
    }


def threshold_matrix(thresholds) -> list[dict]:
    """Rows by severity, one cell per customer tier (None where the policy has no threshold)."""
    cells = {(t.severity, t.customer_tier): t for t in thresholds}
    return [
        {
            "severity": sev,
            "cells": [_threshold_cell(cells.get((sev.value, tier.value))) for tier in CustomerTier],
        }
        for sev in Severity
    ]


def _threshold_cell(threshold: ResponseThreshold | None) -> dict | None:
    if threshold is None:
        return None
    return {
        "ack": format_duration(threshold.acknowledge_within),
        "resolve": format_duration(threshold.resolve_within),
        "business_hours_only": threshold.business_hours_only,
    }


def policy_history_for(user, policy: EscalationPolicy) -> list[dict] | None:
    """The policy's history for those who oversee its owner's team; None for anyone else."""
    return policy_history(policy) if oversight_of(user).covers_team(policy.owner.team_id) else None


def policy_history(policy: EscalationPolicy) -> list[dict]:
    """The policy, its levels and its thresholds as one history, newest first.

    Levels and thresholds are read from their own history tables by policy, so a removed
    level's past still shows."""
    severity, tier = dict(Severity.choices), dict(CustomerTier.choices)
    return merge_entries(
        history_entries(
            EscalationPolicy.history.filter(id=policy.pk),
            HISTORY_LIMIT,
            label=lambda r: "Policy",
            formatters={"extra_required_fields": _extra_fields_text},
            show_created=True,
        ),
        history_entries(
            EscalationLevel.history.filter(policy_id=policy.pk),
            HISTORY_LIMIT,
            label=lambda r: f"Level {r.order} · {r.name}",
            formatters={"trigger_roles": lambda roles: ", ".join(ROLE_LABELS.get(x, x) for x in roles)},
            exclude=["policy"],
            show_created=True,
        ),
        history_entries(
            ResponseThreshold.history.filter(policy_id=policy.pk),
            HISTORY_LIMIT,
            label=lambda r: (
                f"Threshold {severity.get(r.severity, r.severity)} × {tier.get(r.customer_tier, r.customer_tier)}"
            ),
            exclude=["policy", "severity", "customer_tier"],
            show_created=True,
        ),
        limit=HISTORY_LIMIT,
    )


def _extra_fields_text(fields: list) -> str:
    return "; ".join(" | ".join(filter(None, [f.get("name"), f.get("label"), f.get("help")])) for f in fields)


# --- the policy form ------------------------------------------------------------------------


def policy_for_edit(pk: int) -> EscalationPolicy:
    """The policy with what its form shows (raises ``DoesNotExist``)."""
    return EscalationPolicy.objects.prefetch_related(
        "services",
        "thresholds",
        Prefetch("levels", queryset=EscalationLevel.objects.order_by("order")),
    ).get(pk=pk)


def policy_version(policy: EscalationPolicy | None) -> str:
    """The policy's newest history id: every ``policy_save`` writes one, so a different value
    at save time means someone else saved the policy since this page was opened."""
    if policy is None:
        return ""
    latest = (
        EscalationPolicy.history.filter(id=policy.pk)
        .order_by("-history_id")
        .values_list("history_id", flat=True)
    )
    return str(latest.first() or "")


def level_target_choices() -> dict[str, list[tuple[int, str]]]:
    """Select options for level targets, three queries for the whole formset. People without
    a contact method are marked: a level pointing at one is refused as unreachable."""
    people = Person.objects.annotate(methods=Count("contact_methods")).order_by("full_name")
    return {
        "target_person": [
            (
                p.pk,
                f"{p.full_name} — {p.title} (authority {p.authority_rank})"
                + ("" if p.methods else " — no contact method"),
            )
            for p in people
        ],
        "target_team": list(Team.objects.order_by("name").values_list("pk", "name")),
        "target_rotation": [
            (r.pk, f"{r.team.name}: {r.name}")
            for r in Rotation.objects.select_related("team").order_by("team__name", "name")
        ],
    }


def level_targets(ids: dict[str, set[int]]) -> dict[str, dict]:
    """The chosen targets by id, prefetched the way the reachability checks read them."""
    return {
        "target_person": Person.objects.prefetch_related("contact_methods").in_bulk(ids["target_person"]),
        "target_team": Team.objects.in_bulk(ids["target_team"]),
        "target_rotation": rotations_prefetched()
        .prefetch_related("members__person__contact_methods")
        .in_bulk(ids["target_rotation"]),
    }


# --- services, windows and freezes ----------------------------------------------------------


def services_for_list() -> QuerySet[Service]:
    """Services with their owner team, supporting teams and policies, for the services table."""
    return Service.objects.select_related("owner_team").prefetch_related(
        "supporting_teams", Prefetch("policies", queryset=EscalationPolicy.objects.order_by("name"))
    )


def periods(model, now: datetime, noun: str) -> list[tuple[str, list, str]]:
    """Maintenance windows or change freezes (``model``) as the page's sections: current and
    coming ones (all of them), then the twenty most recent past ones."""
    queryset = model.objects.prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
    return [
        (
            "In progress",
            list(queryset.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at")),
            f"No {noun} now.",
        ),
        ("Coming", list(queryset.filter(starts_at__gt=now).order_by("starts_at")), f"No {noun} planned."),
        ("Recently ended", list(queryset.filter(ends_at__lte=now).order_by("-ends_at")[:20]), "None."),
    ]


# --- business calendars ---------------------------------------------------------------------


def calendars_for_list() -> list[dict]:
    calendars = BusinessCalendar.objects.annotate(
        policy_count=Count("policies", distinct=True), closure_count=Count("closures", distinct=True)
    ).order_by("name")
    return [{"calendar": c, "hours": hours_summary(c)} for c in calendars]


def calendar_page(calendar: BusinessCalendar, user, today: date) -> dict:
    """What the calendar page shows: its summary, the policies using it and, for those who
    oversee everything (a calendar serves every team), its history."""
    return {
        "calendar": calendar,
        "summary": calendar_summary(calendar, today),
        "policies": calendar.policies.order_by("name"),
        "scheduled": scheduled_changes(calendar),
        "history": calendar_history(calendar) if oversight_of(user).everything else None,
        "history_limit": HISTORY_LIMIT,
    }


def calendar_history(calendar: BusinessCalendar) -> list[dict]:
    """The calendar and its closures as one history, newest first."""
    return merge_entries(
        history_entries(
            BusinessCalendar.history.filter(id=calendar.pk),
            HISTORY_LIMIT,
            label=lambda r: "Calendar",
            formatters={"weekly_hours": weekly_text},
            show_created=True,
        ),
        history_entries(
            CalendarClosure.history.filter(calendar_id=calendar.pk),
            HISTORY_LIMIT,
            label=lambda r: f"Closure {r.date:%Y-%m-%d}",
            exclude=["calendar"],
            show_created=True,
        ),
        limit=HISTORY_LIMIT,
    )


def hours_summary(calendar: BusinessCalendar) -> str:
    """“Mon–Fri 09:00–17:30”: consecutive days with the same hours grouped."""
    return "24x7" if calendar.always_open else weekly_text(calendar.weekly_hours)


def weekly_text(weekly_hours: dict) -> str:
    try:
        weekly = parse_weekly(weekly_hours or {})
    except (ValueError, TypeError):
        return "invalid hours"
    groups: list[list] = []
    for day in range(7):
        spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in weekly.get(day, ()))
        if groups and groups[-1][2] == spans and groups[-1][1] == day - 1:
            groups[-1][1] = day
        else:
            groups.append([day, day, spans])
    short = [d[:3] for d in WEEKDAY_NAMES]
    parts = [f"{short[a]}{'–' + short[b] if b != a else ''} {spans}" for a, b, spans in groups if spans]
    return "; ".join(parts) or "no working hours"


def calendar_summary(calendar: BusinessCalendar, today: date) -> dict:
    """Hours by weekday, the next public holidays and the coming closures (closures prefetched)."""
    try:
        weekly = parse_weekly(calendar.weekly_hours or {})
    except (ValueError, TypeError):
        weekly = {}
    days = [
        {"day": name, "spans": [f"{a:%H:%M}–{b:%H:%M}" for a, b in weekly.get(i, ())]}
        for i, name in enumerate(WEEKDAY_NAMES)
    ]
    closures = sorted(calendar.closures.all(), key=lambda c: c.date)
    return {
        "days": days,
        "hours": hours_summary(calendar),
        "holidays": upcoming_holidays(calendar, today),
        "closures": [c for c in closures if c.date >= today],
        "past_closures": len([c for c in closures if c.date < today]),
    }


def upcoming_holidays(calendar: BusinessCalendar, today: date, count: int = 8) -> list[tuple]:
    if not calendar.holiday_country:
        return []
    try:
        found = holidays_lib.country_holidays(
            calendar.holiday_country,
            subdiv=calendar.holiday_subdivision or None,
            years=[today.year, today.year + 1],
        )
    except NotImplementedError:
        return []
    return sorted((day, name) for day, name in found.items() if day >= today)[:count]


CHANGE_LABELS = {
    "name": "Name",
    "timezone": "Time zone",
    "always_open": "Open 24x7",
    "weekly_hours": "Working hours",
    "holiday_country": "Public holidays of",
    "holiday_subdivision": "Region",
}


@dataclass(frozen=True)
class ScheduledChange:
    change: CalendarChange
    differences: list[tuple[str, str, str]]  # (what, now, then)


def scheduled_changes(calendar: BusinessCalendar) -> list[ScheduledChange]:
    """The calendar's changes waiting to take effect, soonest first, each with what it changes
    compared with the calendar as it is now (closures included)."""
    now_closures = sorted((f"{c.date:%Y-%m-%d}", c.reason) for c in calendar.closures.all())
    found = []
    for change in calendar.scheduled_changes.filter(status=CalendarChange.Status.PENDING):
        differences = []
        for name, label in CHANGE_LABELS.items():
            before, after = getattr(calendar, name), change.values.get(name)
            if before != after:
                differences.append((label, _said(name, before), _said(name, after)))
        then_closures = sorted(tuple(c) for c in change.closures)
        if then_closures != now_closures:
            differences.append(("Closures", _closures_text(now_closures), _closures_text(then_closures)))
        found.append(ScheduledChange(change, differences))
    return found


def _said(name: str, value) -> str:
    if name == "weekly_hours":
        return weekly_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in (None, "") else "—"


def _closures_text(closures) -> str:
    return "; ".join(f"{day} {why}" for day, why in closures) or "none"
