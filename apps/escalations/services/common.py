"""Shared steps of every verb: the row lock and version check, the timeline event, the audit
event, the outbox, guardian grants and the clocks' bookkeeping."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.accounts.roles import Cap, Role
from apps.audit.services import record
from apps.common.errors import Conflict
from apps.contacts.models import Person
from apps.escalations import chain as ch
from apps.escalations.models import (
    ACTIVE,
    Escalation,
    Status,
    TimelineEvent,
)
from apps.escalations.selectors import is_participant
from apps.notifications.services import notify
from apps.timers.services import deadline_schedule, deadlines_cancel_for

Kind = TimelineEvent.Kind


SUBJECT_TYPE = "escalations.escalation"
ACK_DUE = "escalations.ack_due"
RESOLVE_DUE = "escalations.resolve_due"
UPDATE_DUE = "escalations.update_due"
AUTO_CLOSE = "escalations.auto_close"
ALL_CLOCKS = (ACK_DUE, RESOLVE_DUE, UPDATE_DUE, AUTO_CLOSE)

# The fields every escalation must fill in, whatever its policy (DESIGN.md: never fewer).
REQUIRED_TEXT = {
    "title": "Title",
    "nature_of_risk": "Nature of the risk",
    "who_is_impacted": "Who is impacted",
    "impact": "Impact",
    "situation": "Situation",
    "background": "Background",
    "assessment": "Assessment",
    "recommendation": "Recommendation",
}
MIN_REASON = 10
MIN_SUMMARY = 20


# --- shared steps -------------------------------------------------------------------------------


def lock(escalation: Escalation, expected_version: int | None = None) -> Escalation:
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner", "engaged", "service", "raiser")
        .get(pk=escalation.pk)
    )
    if expected_version is not None and esc.version != expected_version:
        owner = f", owned by {esc.owner.full_name}" if esc.owner else ""
        raise Conflict(
            f"{esc.reference} changed while you were looking at it: it is now "
            f"{esc.get_status_display().lower()} at level {esc.current_level}{owner}. "
            "Look at the page again and decide."
        )
    return esc


def require_status(esc: Escalation, allowed, verb: str) -> None:
    if esc.status not in allowed:
        raise Conflict(f"{esc.reference} cannot be {verb}: it is {esc.get_status_display().lower()}.")


def _require_responder_role(actor, verb: str) -> None:
    if not actor.has_perm(Cap.RESPOND_ESCALATION.perm):
        raise PermissionDenied(f"Your role does not allow you to {verb} escalations.")


def is_engaged(esc: Escalation, actor) -> bool:
    return esc.engaged is not None and esc.engaged.user_id == actor.pk


def is_owner(esc: Escalation, actor) -> bool:
    return esc.owner is not None and esc.owner.user_id == actor.pk


def require_owner(esc: Escalation, actor, verb: str) -> None:
    _require_responder_role(actor, verb)
    if not is_owner(esc, actor):
        who = esc.owner.full_name if esc.owner else "nobody yet"
        raise PermissionDenied(f"Only the owner of {esc.reference} ({who}) can {verb} it.")


def require_engaged(esc: Escalation, actor, verb: str) -> None:
    """The person whose authority the level reached engages: they acknowledge, take ownership."""
    _require_responder_role(actor, verb)
    if not is_engaged(esc, actor):
        who = esc.engaged.full_name if esc.engaged else "nobody yet"
        raise PermissionDenied(f"Only the person {esc.reference} has reached ({who}) can {verb} it.")


def require_owner_or_engaged(esc: Escalation, actor, verb: str) -> None:
    _require_responder_role(actor, verb)
    if not (is_owner(esc, actor) or is_engaged(esc, actor)):
        raise PermissionDenied(f"Only the owner or the person it has reached can {verb} {esc.reference}.")


def require_responder(esc: Escalation, actor, verb: str) -> None:
    """The owner and everyone who owned it before: escalating never takes the case away from the
    people working it (they update stakeholders and propose a resolution)."""
    _require_responder_role(actor, verb)
    if not esc.responders.filter(user_id=actor.pk).exists():
        raise PermissionDenied(f"Only the people working on {esc.reference} can {verb} it.")


def add_responder(esc: Escalation, person: Person) -> None:
    esc.responders.add(person)
    grant_participant(esc, person)


def require_participant(esc: Escalation, actor, verb: str) -> None:
    """Only the people taking part act on an escalation, whatever their role allows elsewhere
    (issue 8: a manager of another team could escalate anything they could see)."""
    if not is_participant(actor, esc):
        raise PermissionDenied(f"You take no part in {esc.reference}, so you cannot {verb} it.")


def require_raiser(esc: Escalation, actor, verb: str) -> None:
    if esc.raiser_id != actor.pk:
        raise PermissionDenied(f"Only the person who raised {esc.reference} can {verb} it.")


def required_text(value, field: str, label: str, minimum: int) -> str:
    value = (value or "").strip()
    if len(value) < minimum:
        raise ValidationError({field: f"{label} is required (at least {minimum} characters)."})
    return value


def commit(esc: Escalation, actor, reason: str) -> None:
    """Save the whole locked row once per verb: one history row, one version step."""
    esc.version += 1  # the row is locked (lock), so no one else can step it meanwhile
    esc._history_user, esc._change_reason = actor, reason
    esc.save()


def timeline_event(
    esc: Escalation, kind: str, actor, message: str, *, level: int | None = None, **data
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        escalation=esc,
        kind=kind,
        at=timezone.now(),
        actor=actor if actor is not None else None,
        actor_username=actor.get_username() if actor is not None else "",
        level=level if level is not None else esc.current_level,
        message=message,
        data=data,
    )


def audit(esc: Escalation, verb: str, actor, **data) -> None:
    data.setdefault("status", esc.status)
    data.setdefault("level", esc.current_level)
    data.setdefault("version", esc.version + 1)  # the version this change creates
    record(action=f"escalations.{verb}", actor=actor, target=esc, data=data)


def notify_people(
    esc: Escalation, event: TimelineEvent, people, template: str, *, hold: bool = False, **context
) -> None:
    """One outbox row per person for this timeline event; the outbox refuses a second. Held
    rows (an embargo) wait in the outbox until released."""
    seen: set[int] = set()
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        notify(
            event_key=f"escalation:{esc.pk}:event:{event.pk}",
            recipient=ch.recipient_for(person),
            template=template,
            context={"escalation": esc, "event": event, "person": person, **context},
            subject_type=SUBJECT_TYPE,
            subject_id=str(esc.pk),
            hold=hold,
            urgency=esc.severity,  # a SEV1's next contact method is tried sooner
        )


def manager_to_tell(person: Person | None) -> Person | None:
    """The owner's manager, for breaches and dead ends; never an executive: executives hear of
    an escalation only through an approved request (DESIGN.md), so the alert stops below them."""
    manager = person.manager if person else None
    if manager is None or (manager.user is not None and Role.EXECUTIVE in manager.user.roles):
        return None
    return manager


def grant_participant(esc: Escalation, person_or_user) -> None:
    """Let someone taking part see the escalation, confidential or not (guardian row)."""
    user = (
        getattr(person_or_user, "user", person_or_user)
        if isinstance(person_or_user, Person)
        else person_or_user
    )
    if user is not None:
        assign_perm("escalations.view_escalation", user, esc)


def schedule_clock(esc: Escalation, kind: str, due_at: datetime, **payload) -> None:
    deadlines_cancel_for(subject=esc, kind=kind)
    deadline_schedule(kind=kind, subject=esc, due_at=due_at, payload=payload)


def refresh_next_due(esc: Escalation) -> None:
    if esc.status == Status.OPEN and esc.ack_due_at:
        esc.next_due_at = esc.ack_due_at
    elif esc.status in ACTIVE and esc.resolve_due_at and not esc.resolve_breached_at:
        esc.next_due_at = esc.resolve_due_at
    else:
        esc.next_due_at = None


def deferral_note(esc: Escalation, due: ch.Due, clock: str) -> None:
    if due.deferred_by:
        names = ", ".join(f"“{w.name}”" for w in due.deferred_by)
        timeline_event(
            esc,
            Kind.CLOCK_DEFERRED,
            None,
            f"The {clock} clock falls inside maintenance ({names}): deferred to {due.at:%a %d %b %H:%M} UTC.",
            clock=clock,
            due_at=due.at.isoformat(),
            windows=[w.pk for w in due.deferred_by],
        )
