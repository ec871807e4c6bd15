"""Comments, stakeholder updates, notes written by other apps, and the embargo."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.services import record
from apps.contacts.models import Person
from apps.escalations import chain as ch
from apps.escalations.models import (
    ACTIVE,
    Escalation,
    HandOff,
    Status,
    TimelineEvent,
)
from apps.escalations.selectors import is_participant
from apps.escalations.services.common import (
    MIN_REASON,
    SUBJECT_TYPE,
    UPDATE_DUE,
    Conflict,
    audit,
    commit,
    lock,
    notify_people,
    require_participant,
    require_responder,
    require_status,
    required_text,
    schedule_clock,
    timeline_event,
)
from apps.notifications.services import notifications_release
from apps.policies.content import check_outgoing

Kind = TimelineEvent.Kind


# --- conversation ---------------------------------------------------------------------------------


def stakeholders(esc: Escalation) -> list[Person]:
    """Who hears the updates: the raiser, everyone working on it, and everyone it has reached
    (events before owner and level reached were told apart name the person ``owner``)."""
    reached = TimelineEvent.objects.filter(escalation=esc, kind=Kind.LEVEL_REACHED)
    ids = set(reached.values_list("data__engaged", flat=True)) | set(
        reached.values_list("data__owner", flat=True)
    )
    ids |= set(esc.responders.values_list("pk", flat=True))
    ids |= set(HandOff.objects.filter(escalation=esc).values_list("to_person", flat=True))
    people = list(
        Person.objects.filter(pk__in={i for i in ids if i}).exclude(pk=getattr(esc.raiser_person, "pk", None))
    )
    return [p for p in [esc.raiser_person, *people] if p is not None]


@transaction.atomic
def escalation_comment(
    *, escalation: Escalation, actor, text: str, stakeholder_update: bool = False
) -> TimelineEvent:
    """A comment on the timeline; a stakeholder update (the owner's) goes to everyone involved
    and restarts the update clock. Not a state change: no version step."""
    esc = lock(escalation)
    require_status(esc, ACTIVE + (Status.RESOLVED,), "commented on")
    require_participant(esc, actor, "comment on")
    text = required_text(text, "text", "The comment", 2)
    if stakeholder_update:
        require_responder(esc, actor, "post stakeholder updates on")
        check_outgoing({"The update": text}, field="text")
        event = timeline_event(esc, Kind.UPDATE, actor, text, held=esc.embargoed)
        others = [p for p in stakeholders(esc) if p.user_id != actor.pk]
        notify_people(esc, event, others, "escalation_update", hold=esc.embargoed, text=text)
        now = timezone.now()
        esc.last_update_at = now
        esc._history_user, esc._change_reason = actor, "Stakeholder update posted"
        esc.save(update_fields=["last_update_at", "updated_at"])
        if esc.status in ACTIVE:
            schedule_clock(esc, UPDATE_DUE, now + ch.update_cadence(esc.severity))
    else:
        event = timeline_event(esc, Kind.COMMENT, actor, text)
    record(
        action="escalations.update_posted" if stakeholder_update else "escalations.commented",
        actor=actor,
        target=esc,
        data={"event": event.pk, "length": len(text)},
    )
    return event


def escalation_note(
    *, escalation: Escalation, kind: str, actor, message: str, event_key: str = "", **data
) -> TimelineEvent:
    """A timeline entry written by another app about this escalation (no state change)."""
    return (
        timeline_event(escalation, kind, actor, message, event_key=event_key, **data)
        if event_key
        else timeline_event(escalation, kind, actor, message, **data)
    )


@transaction.atomic
def escalation_set_embargo(
    *, escalation: Escalation, actor, embargoed: bool, reason: str, expected_version: int | None = None
) -> Escalation:
    """Hold (or release) every message that leaves the people working on it: stakeholder updates
    and executive briefs wait in the outbox until the embargo is lifted."""
    esc = lock(escalation, expected_version)
    require_status(esc, ACTIVE + (Status.RESOLVED,), "embargoed")
    if actor.pk not in {esc.raiser_id, esc.owner.user_id if esc.owner else None} and not (
        Role.EXECUTIVE in actor.roles and is_participant(actor, esc)
    ):
        raise PermissionDenied(
            "Only the raiser, the owner or an executive taking part can embargo or lift an embargo."
        )
    if esc.embargoed == embargoed:
        raise Conflict(f"{esc.reference} is {'already' if embargoed else 'not'} under embargo.")
    reason = required_text(reason, "reason", "The reason", MIN_REASON)
    esc.embargoed = embargoed
    timeline_event(
        esc,
        Kind.EMBARGO,
        actor,
        (
            f"Embargo set: messages to stakeholders and executives are held. {reason}"
            if embargoed
            else f"Embargo lifted: held messages are sent now. {reason}"
        ),
    )
    if not embargoed:
        released = notifications_release(subject_type=SUBJECT_TYPE, subject_id=str(esc.pk))
        if released:
            timeline_event(
                esc, Kind.EMBARGO, None, f"{released} held message{'s' if released != 1 else ''} released."
            )
    audit(esc, "embargo_set" if embargoed else "embargo_lifted", actor, reason=reason)
    commit(esc, actor, "Embargo set" if embargoed else "Embargo lifted")
    return esc
