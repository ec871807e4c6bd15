"""What the approval gate's outcomes do to an escalation (called by apps.approvals, inside its
transaction)."""

from __future__ import annotations

from django.utils import timezone

from apps.escalations import chain as ch
from apps.escalations.models import (
    Escalation,
    Status,
    TimelineEvent,
)
from apps.escalations.services.common import (
    ACK_DUE,
    Conflict,
    audit,
    commit,
    lock,
    refresh_next_due,
    require_status,
    schedule_clock,
    timeline_event,
)
from apps.escalations.services.routing import (
    enter_level,
)
from apps.timers.services import deadlines_cancel_for

Kind = TimelineEvent.Kind


# --- the approval gate's outcomes (called by apps.approvals, in its transaction) ------------------


def _require_awaiting(esc: Escalation, level_order: int) -> None:
    if esc.status != Status.AWAITING_APPROVAL or esc.pending_level != level_order:
        raise Conflict(
            f"{esc.reference} is not waiting for approval of level {level_order} any more "
            f"(it is {esc.get_status_display().lower()})."
        )


def escalation_reach_approved_level(
    *, escalation: Escalation, level_order: int, actor, note: str
) -> Escalation:
    """The approval for ``level_order`` was given (or nobody was left to ask): reach it. The
    level's executive is not sent the usual assignment: the approvals app sends the brief."""
    esc = lock(escalation)
    _require_awaiting(esc, level_order)
    timeline_event(esc, Kind.APPROVAL_DECIDED, actor, note, level=level_order, outcome="approved")
    enter_level(esc, order=level_order, actor=actor, now=timezone.now(), cause="approved", approved=True)
    audit(esc, "approval_granted", actor, to_level=level_order)
    commit(esc, actor, f"Level {level_order} approved")
    return esc


def escalation_approval_refused(*, escalation: Escalation, level_order: int, actor, note: str) -> Escalation:
    """The approval was refused: back where it was, with the acknowledge clock of the person the
    level reached running again."""
    esc = lock(escalation)
    _require_awaiting(esc, level_order)
    esc.status = esc.resume_status or Status.OPEN
    esc.pending_level, esc.resume_status = None, ""
    if esc.status == Status.OPEN and esc.engaged is not None:
        due = ch.clock_due(
            chain=esc.frozen,
            service=esc.service,
            start=timezone.now(),
            duration=esc.frozen.threshold.acknowledge_within,
        )
        esc.ack_due_at = due.at
        schedule_clock(esc, ACK_DUE, due.at, level=esc.current_level, person=esc.engaged_id)
    refresh_next_due(esc)
    timeline_event(esc, Kind.APPROVAL_DECIDED, actor, note, level=level_order, outcome="rejected")
    audit(esc, "approval_refused", actor, level=level_order)
    commit(esc, actor, f"Level {level_order} approval refused")
    return esc


def escalation_await_approval(
    *, escalation: Escalation, level_order: int, actor, note: str, event_key: str = ""
) -> Escalation:
    """Wait again for an approval the approvals app has opened itself (an appeal)."""
    esc = lock(escalation)
    require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "sent for approval")
    if esc.level(level_order) is None or level_order <= esc.current_level:
        raise Conflict(f"Level {level_order} is no longer above where {esc.reference} is.")
    esc.resume_status, esc.status, esc.pending_level = esc.status, Status.AWAITING_APPROVAL, level_order
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    refresh_next_due(esc)
    timeline_event(esc, Kind.APPROVAL_REQUESTED, actor, note, level=level_order, event_key=event_key)
    audit(esc, "approval_requested", actor, level=level_order)
    commit(esc, actor, f"Approval for level {level_order} asked again")
    return esc
