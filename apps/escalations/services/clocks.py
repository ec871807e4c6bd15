"""What each clock does when it runs out (called by handlers.py inside the firing transaction)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.audit.services import record
from apps.escalations import chain as ch
from apps.escalations.models import (
    ACTIVE,
    Escalation,
    Status,
    TimelineEvent,
)
from apps.escalations.services.common import (
    ACK_DUE,
    RESOLVE_DUE,
    UPDATE_DUE,
    commit,
    deferral_note,
    manager_to_tell,
    notify_people,
    refresh_next_due,
    schedule_clock,
    timeline_event,
)
from apps.escalations.services.lifecycle import (
    escalation_close,
)
from apps.escalations.services.routing import (
    engage,
    enter_level,
)
from apps.timers.services import deadline_schedule

Kind = TimelineEvent.Kind


# --- what the clocks do (called by handlers.py inside the firing transaction) ---------------------


def _defer_if_in_maintenance(esc: Escalation, kind: str, payload: dict, clock: str) -> bool:
    """A clock running out inside a deferring maintenance window waits for its end, and says so."""
    now = timezone.now()
    due = ch.defer_for_maintenance(esc.service, now)
    if not due.deferred_by:
        return False
    schedule_clock(esc, kind, due.at, **payload)
    if kind == ACK_DUE:
        esc.ack_due_at = due.at
    elif kind == RESOLVE_DUE:
        esc.resolve_due_at = due.at
    refresh_next_due(esc)
    deferral_note(esc, due, clock)
    commit(esc, None, f"{clock.capitalize()} clock deferred by maintenance")
    return True


def clock_acknowledge_missed(*, escalation_id: int, payload: dict) -> None:
    """First miss: the backup of the person the level reached is called in; a miss again (or
    no backup): up one level."""
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner", "engaged", "service")
        .filter(pk=escalation_id)
        .first()
    )
    if esc is None or esc.status != Status.OPEN or payload.get("level") != esc.current_level:
        return
    # Deadlines set before owner and level reached were told apart name the person "owner".
    if payload.get("person", payload.get("owner")) != esc.engaged_id:
        return
    if _defer_if_in_maintenance(esc, ACK_DUE, payload, "acknowledge"):
        return
    now = timezone.now()
    owner = esc.engaged
    backup = ch.reachable_backup(owner, now) if owner and esc.ack_misses == 0 else None
    if backup is not None and backup != owner:
        event = timeline_event(
            esc,
            Kind.ACK_MISSED,
            None,
            f"{owner.full_name} did not acknowledge by "
            f"{esc.ack_due_at:%a %d %b %H:%M} UTC; calling in their backup, {backup.full_name}.",
            owner=owner.pk,
            backup=backup.pk,
        )
        esc.ack_misses = 1
        engage(esc, esc.level(), backup, now=now, cause="acknowledgement missed", backup_for=owner)
        notify_people(esc, event, [owner], "escalation_ack_missed")
        record(action="escalations.ack_missed", target=esc, data={"owner": owner.full_name, "then": "backup"})
    else:
        who = owner.full_name if owner else "Nobody"
        why = "again" if esc.ack_misses else "and has no backup available"
        timeline_event(
            esc,
            Kind.ACK_MISSED,
            None,
            f"{who} did not acknowledge {why}: escalating to level {esc.current_level + 1}.",
            owner=owner.pk if owner else None,
        )
        record(action="escalations.ack_missed", target=esc, data={"owner": who, "then": "escalate"})
        enter_level(esc, order=esc.current_level + 1, actor=None, now=now, cause="acknowledgement missed")
    commit(esc, None, "Acknowledgement missed")


def clock_resolve_breached(*, escalation_id: int, payload: dict) -> None:
    """The resolve deadline passed: the owner's manager hears of it (once)."""
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner", "service")
        .filter(pk=escalation_id)
        .first()
    )
    if esc is None or esc.status not in ACTIVE or esc.resolve_breached_at:
        return
    if _defer_if_in_maintenance(esc, RESOLVE_DUE, payload, "resolve"):
        return
    esc.resolve_breached_at = timezone.now()
    refresh_next_due(esc)
    manager = manager_to_tell(esc.owner)
    told = f"; {manager.full_name} (the owner's manager) has been told" if manager else ""
    event = timeline_event(
        esc, Kind.RESOLVE_BREACHED, None, f"Not resolved by {esc.resolve_due_at:%a %d %b %H:%M} UTC{told}."
    )
    notify_people(esc, event, [manager, esc.owner], "escalation_resolve_breached", manager=manager)
    record(
        action="escalations.resolve_breached",
        target=esc,
        data={"manager": manager.full_name if manager else None},
    )
    commit(esc, None, "Resolve deadline breached")


def clock_update_due(*, escalation_id: int, payload: dict) -> None:
    """Time the people affected heard something: remind the owner, and set the next reminder."""
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner")
        .filter(pk=escalation_id)
        .first()
    )
    if esc is None or esc.status not in ACTIVE:
        return
    cadence = ch.update_cadence(esc.severity)
    now = timezone.now()
    if esc.owner is not None and esc.status != Status.AWAITING_APPROVAL:
        event = timeline_event(
            esc,
            Kind.UPDATE_REMINDER,
            None,
            f"No stakeholder update for {_ago(esc.last_update_at, now)}: {esc.owner.full_name} reminded.",
        )
        notify_people(esc, event, [esc.owner], "escalation_update_due", cadence=cadence)
    deadline_schedule(kind=UPDATE_DUE, subject=esc, due_at=now + cadence)


def clock_auto_close(*, escalation_id: int, payload: dict) -> None:
    esc = Escalation.objects.filter(pk=escalation_id, status=Status.RESOLVED).first()
    if esc is not None:
        escalation_close(escalation=esc, actor=None)


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "a while"
    minutes = int((now - then).total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"
