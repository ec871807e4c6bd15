"""Reaching a level: skip whoever cannot be reached now, go through the approval gate for an
executive level, or say so at the top of the chain."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.audit.services import record
from apps.contacts.models import Person
from apps.escalations import chain as ch
from apps.escalations.chain import FrozenLevel
from apps.escalations.gate import GateClosed, approval_gate
from apps.escalations.models import (
    Escalation,
    Status,
    TimelineEvent,
)
from apps.escalations.services.common import (
    ACK_DUE,
    Conflict,
    add_responder,
    deferral_note,
    grant_participant,
    manager_to_tell,
    notify_people,
    refresh_next_due,
    schedule_clock,
    timeline_event,
)
from apps.timers.services import deadlines_cancel_for

Kind = TimelineEvent.Kind


# --- routing: reaching a level -----------------------------------------------------------------


def enter_level(
    esc: Escalation, *, order: int, actor, now: datetime, cause: str, approved: bool = False
) -> None:
    """Route to level ``order``: levels nobody can reach right now are skipped at once (and say
    so); a level that requires approval goes through the gate unless it was just approved."""
    while True:
        level = esc.level(order)
        if level is None:
            _top_of_chain(esc, now)
            return
        if level.requires_approval and not approved:
            _request_approval(esc, level, actor, cause)
            return
        person = ch.level_contact(level, now)
        if person is None:
            event = timeline_event(
                esc,
                Kind.LEVEL_SKIPPED,
                None,
                f"Level {order} ({level.name}): nobody can be reached now ({ch.level_target_label(level)}); "
                "skipped to the next level.",
                level=order,
            )
            record(action="escalations.level_skipped", target=esc, data={"level": order, "event": event.pk})
            order += 1
            approved = False
            continue
        engage(esc, level, person, now=now, cause=cause, announce=not approved)
        return


def engage(
    esc: Escalation,
    level: FrozenLevel,
    person: Person,
    *,
    now: datetime,
    cause: str,
    backup_for: Person | None = None,
    announce: bool = True,
) -> None:
    """Reach ``person`` at ``level``: their authority is engaged and the acknowledge clock is
    theirs. The owner keeps working it; only an escalation that has no owner yet (just raised),
    or whose owner was the one who missed the clock, gets ``person`` as its owner too.
    ``announce=False`` when the caller tells them itself (an approved executive level gets the
    brief instead)."""
    previous = esc.owner
    if esc.owner is None or (backup_for is not None and esc.owner == backup_for):
        esc.owner = person
        add_responder(esc, person)
    esc.current_level, esc.engaged, esc.status = level.order, person, Status.OPEN
    esc.pending_level, esc.resume_status = None, ""
    if backup_for is None:
        esc.ack_misses = 0
    due = ch.clock_due(
        chain=esc.frozen, service=esc.service, start=now, duration=esc.frozen.threshold.acknowledge_within
    )
    esc.ack_due_at = due.at
    refresh_next_due(esc)
    schedule_clock(esc, ACK_DUE, due.at, level=level.order, person=person.pk)
    grant_participant(esc, person)
    event = timeline_event(
        esc,
        Kind.LEVEL_REACHED,
        None,
        _reached_message(esc, level, person, due.at, backup_for),
        level=level.order,
        engaged=person.pk,
        cause=cause,
    )
    deferral_note(esc, due, "acknowledge")
    if announce:
        notify_people(
            esc, event, [person], "escalation_assigned", level=level, due_at=due.at, previous=previous
        )
    if esc.raiser_person and esc.raiser_person != person and level.order > 1:
        notify_people(esc, event, [esc.raiser_person], "escalation_progress", level=level)


def _reached_message(esc: Escalation, level: FrozenLevel, person: Person, due_at, backup_for) -> str:
    by = f"must acknowledge by {due_at:%a %d %b %H:%M} UTC"
    if backup_for is not None:
        return f"{backup_for.full_name} did not acknowledge in time; their backup {person.full_name} {by}."
    if esc.owner == person:
        return f"Level {level.order} ({level.name}) reached: {person.full_name} owns it and {by}."
    return (
        f"Level {level.order} ({level.name}) reached: {person.full_name} {by}; "
        f"{esc.owner.full_name} keeps working on it."
    )


def _request_approval(esc: Escalation, level: FrozenLevel, actor, cause: str) -> None:
    try:
        opened = approval_gate().open(escalation=esc, level=level, actor=actor, reason=cause)
    except GateClosed as exc:
        if actor is not None:
            raise Conflict(str(exc)) from None
        # A clock climbing on its own must not fail (and retry forever): it stops and says so.
        _top_of_chain(esc, timezone.now(), why=str(exc))
        return
    if esc.status != Status.AWAITING_APPROVAL:
        esc.resume_status = esc.status
    esc.status, esc.pending_level = Status.AWAITING_APPROVAL, level.order
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    refresh_next_due(esc)
    timeline_event(
        esc,
        Kind.APPROVAL_REQUESTED,
        None,
        f"Level {level.order} ({level.name}) is reached only with a manager's approval: requested from "
        f"{opened.approver_name}, due {opened.due_at:%a %d %b %H:%M} UTC.",
        level=level.order,
        approver=opened.approver_name,
        event_key=opened.event_key,
        request=opened.approval_id,  # the timeline data key the escalation page links by
    )


def _top_of_chain(esc: Escalation, now: datetime, why: str = "") -> None:
    """Nobody above can be reached: say so and tell the policy owner and the owner's manager,
    rather than leave the escalation silently where it is."""
    policy_owner = esc.policy.owner
    manager = manager_to_tell(esc.owner)
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    refresh_next_due(esc)
    event = timeline_event(
        esc,
        Kind.LEVEL_SKIPPED,
        None,
        (why or f"No level above level {esc.current_level} can be reached now.")
        + f" {policy_owner.full_name} (policy owner)"
        + (f" and {manager.full_name}" if manager else "")
        + " have been told.",
    )
    record(action="escalations.chain_exhausted", target=esc, data={"level": esc.current_level})
    notify_people(esc, event, [policy_owner, manager, esc.owner], "escalation_chain_exhausted")
