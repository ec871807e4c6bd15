"""The frozen chain of an escalation, who its levels reach, and when its clocks run out.

Reads only; the services write. Kept apart from ``services.py`` because both the services and
the deadline handlers need them, and because they are the part of the rules a reader most
often wants to check: which version applied, who was on call, why a deadline fell where it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from apps.contacts.models import Person, Rotation, Team
from apps.contacts.selectors import backup_for, on_call, on_call_rotation, rotations_prefetched
from apps.notifications.services import Recipient
from apps.policies.models import BusinessCalendar, EscalationPolicy, MaintenanceWindow, Service


def freeze_chain(policy: EscalationPolicy, *, severity: str, customer_tier: str) -> tuple[int, dict]:
    """(policy history id, the chain as it stands now) for an escalation being raised."""
    history = policy.history.order_by("-history_id").values_list("history_id", flat=True)
    version = history.first()
    # What people call the version: the how-many-th saved state of the policy this is.
    number = history.count()
    threshold = policy.thresholds.get(severity=severity, customer_tier=customer_tier)
    levels = [
        {
            "order": lvl.order,
            "name": lvl.name,
            "target_kind": lvl.target_kind,
            "target_person": lvl.target_person_id,
            "target_team": lvl.target_team_id,
            "target_rotation": lvl.target_rotation_id,
            "authority_rank": lvl.authority_rank,
            "requires_approval": lvl.requires_approval,
            "approval_timeout_seconds": int(lvl.approval_timeout.total_seconds()),
            "trigger_roles": list(lvl.trigger_roles or []),
        }
        for lvl in policy.levels.order_by("order")
    ]
    chain = {
        "policy": {"id": policy.pk, "name": policy.name, "slug": policy.slug, "version": number},
        "calendar": policy.calendar_id,
        "threshold": {
            "severity": severity,
            "customer_tier": customer_tier,
            "acknowledge_seconds": int(threshold.acknowledge_within.total_seconds()),
            "resolve_seconds": int(threshold.resolve_within.total_seconds()),
            "business_hours_only": threshold.business_hours_only,
        },
        "criteria": list(policy.de_escalation_criteria or []),
        "extra_fields": list(policy.extra_required_fields or []),
        "levels": levels,
    }
    return version or 0, chain


# --- who a level reaches ----------------------------------------------------------------------


def reachable(person: Person | None) -> bool:
    return person is not None and person.contact_methods.exists()


def level_contact(level: dict, at: datetime) -> Person | None:
    """The person a frozen level reaches at ``at``, or None when nobody can be reached now
    (no one on call, or the person has no way to be contacted): such a level is skipped at once,
    never waited on."""
    kind = level["target_kind"]
    person: Person | None = None
    if kind == "person":
        person = Person.objects.filter(pk=level["target_person"]).first()
    elif kind == "team_on_call":
        team = Team.objects.filter(pk=level["target_team"]).first()
        person = on_call(team, at) if team else None
    elif kind == "rotation":
        rotation = rotations_prefetched().filter(pk=level["target_rotation"]).first()
        person = on_call_rotation(rotation, at) if rotation else None
    return person if reachable(person) else None


def level_target_label(level: dict) -> str:
    """What a level points at, for the timeline (``Platform Operations on call``)."""
    kind = level["target_kind"]
    if kind == "person":
        person = Person.objects.filter(pk=level["target_person"]).first()
        return person.full_name if person else "a person no longer in the directory"
    if kind == "team_on_call":
        team = Team.objects.filter(pk=level["target_team"]).first()
        return f"{team.name} on call" if team else "a team no longer in the directory"
    rotation = Rotation.objects.select_related("team").filter(pk=level["target_rotation"]).first()
    return str(rotation) if rotation else "a rotation no longer in the directory"


def reachable_backup(person: Person, at: datetime) -> Person | None:
    backup = backup_for(person, at)
    return backup if reachable(backup) else None


def recipient_for(person: Person) -> Recipient:
    """A person as the notifications app sees them: contact methods in priority order."""
    methods = tuple((m.kind, m.value) for m in person.contact_methods.order_by("priority"))
    return Recipient(key=f"person:{person.pk}", name=person.full_name, methods=methods)


# --- clocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    at: datetime
    # The maintenance windows that pushed it back, in order (empty when none did).
    deferred_by: tuple[MaintenanceWindow, ...] = ()


def clock_due(*, chain: dict, service: Service, start: datetime, duration: timedelta) -> Due:
    """When a clock of ``duration`` started at ``start`` runs out: counted in the policy's
    business calendar when the threshold says so, then moved to the end of any maintenance
    window of the service that defers clocks (windows that overlap or follow are chained)."""
    return defer_for_maintenance(service, business_due(chain=chain, start=start, duration=duration))


def business_due(*, chain: dict, start: datetime, duration: timedelta) -> datetime:
    """``start + duration``, counted in the policy's business calendar when the frozen threshold
    says the escalation's clocks run in business hours only."""
    if not chain["threshold"]["business_hours_only"]:
        return start + duration
    calendar = BusinessCalendar.objects.prefetch_related("closures").get(pk=chain["calendar"])
    return calendar.working_calendar().add_business_time(start, duration)


def defer_for_maintenance(service: Service, due: datetime) -> Due:
    windows: list[MaintenanceWindow] = []
    while (window := deferring_window(service, due)) is not None and window not in windows:
        windows.append(window)
        due = window.ends_at
    return Due(due, tuple(windows))


def deferring_window(service: Service, at: datetime) -> MaintenanceWindow | None:
    """The maintenance window of ``service`` that defers clocks and covers ``at``, if any."""
    return (
        MaintenanceWindow.objects.filter(
            services=service, defers_clocks=True, starts_at__lte=at, ends_at__gt=at
        )
        .order_by("-ends_at")
        .first()
    )


def acknowledge_within(chain: dict) -> timedelta:
    return timedelta(seconds=chain["threshold"]["acknowledge_seconds"])


def resolve_within(chain: dict) -> timedelta:
    return timedelta(seconds=chain["threshold"]["resolve_seconds"])


def update_cadence(severity: str) -> timedelta:
    """How often the people affected hear something, by severity (ESCALATION_UPDATE_MINUTES)."""
    return timedelta(minutes=settings.ESCALATION_UPDATE_MINUTES[severity])
