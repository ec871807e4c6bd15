"""The steps every approval verb shares: lock and settle a request, open one, log a decision,
audit it, tell people, and when an approver's time runs out."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
)
from apps.audit.services import record
from apps.common.errors import Conflict
from apps.contacts.models import Person
from apps.contacts.selectors import person_of
from apps.escalations import chain as ch
from apps.escalations import services as escalation_services
from apps.escalations.chain import FrozenLevel
from apps.escalations.models import Escalation, TimelineEvent
from apps.notifications.services import notify
from apps.protection.services import watch_window_open
from apps.timers.services import deadline_schedule, deadlines_cancel_for

REQUEST_DUE = "approvals.request_due"
MIN_REASON = escalation_services.MIN_REASON  # one rule for the reasons given about an escalation
Kind = TimelineEvent.Kind


def event_key(approval: ApprovalRequest, what: str) -> str:
    return f"approval:{approval.pk}:{what}"


def tell(
    approval: ApprovalRequest, people, template: str, what: str, *, hold: bool = False, **context
) -> str:
    """Notify people about a request; returns the outbox key, for the timeline to show delivery."""
    key = event_key(approval, what)
    subject_type, subject_id = (
        ("escalations.escalation", str(approval.escalation_id))
        if approval.escalation_id
        else ("approvals.approvalrequest", str(approval.pk))
    )
    seen: set[int] = set()
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        notify(
            event_key=key,
            recipient=ch.recipient_for(person),
            template=template,
            context={"approval": approval, "escalation": approval.escalation, "person": person, **context},
            subject_type=subject_type,
            subject_id=subject_id,
            hold=hold,
            urgency=approval.escalation.severity if approval.escalation_id else "",
        )
    return key


def log_decision(
    approval: ApprovalRequest,
    outcome: str,
    actor,
    reason: str = "",
    on_behalf_of: Person | None = None,
    by_name: str = "",
) -> ApprovalDecision:
    now = timezone.now()
    first = approval.chain()[0]
    return ApprovalDecision.objects.create(
        approval=approval,
        outcome=outcome,
        at=now,
        reason=reason,
        decided_by=actor,
        decided_by_username=actor.get_username() if actor else "",
        decided_by_name=by_name or ((actor.get_full_name() or actor.get_username()) if actor else ""),
        on_behalf_of_name=on_behalf_of.full_name if on_behalf_of else "",
        waited_seconds=max(int((now - first.requested_at).total_seconds()), 0),
    )


def audit(approval: ApprovalRequest, verb: str, actor, **data) -> None:
    data.setdefault("status", approval.status)
    data.setdefault("approver", approval.approver.full_name)
    if approval.escalation_id:
        data.setdefault("escalation", approval.escalation.reference)
        data.setdefault("level", approval.level)
    record(action=f"approvals.{verb}", actor=actor, target=approval, data=data)


def protected_act(approval: ApprovalRequest, actor, act: str, reason: str) -> None:
    """Appealing and going around an approver are protected acts: the protection app opens or
    extends the raiser's watch window from these audit events."""
    record(
        action="protection.protected_act",
        actor=actor,
        target=approval,
        data={
            "act": act,
            "reason": reason,
            "escalation": approval.escalation.reference if approval.escalation_id else None,
        },
    )
    if approval.escalation_id and approval.escalation.raiser_id:
        # The act is recorded once, above; protection opens (or extends) the watch window.
        esc = approval.escalation
        watch_window_open(user=esc.raiser, act=act, escalation_id=esc.pk, escalation_ref=esc.reference)


def lock(approval: ApprovalRequest, expected_version: int | None = None) -> ApprovalRequest:
    locked = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("approver", "escalation", "requested_by")
        .get(pk=approval.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            f"This request changed while you were looking at it: it is now "
            f"{locked.get_status_display().lower()} (with {locked.approver.full_name})."
        )
    return locked


def settle(approval: ApprovalRequest, status: str, actor, reason: str = "") -> None:
    approval.status, approval.decided_at, approval.reason = status, timezone.now(), reason
    approval.version += 1
    approval._history_user, approval._change_reason = actor, approval.get_status_display()
    approval.save()
    deadlines_cancel_for(subject=approval, kind=REQUEST_DUE)


def open_approval(
    *,
    kind: str,
    approver: Person,
    route: str,
    due_at: datetime,
    requested_by,
    excluded: set[int],
    escalation: Escalation | None = None,
    level: FrozenLevel | None = None,
    freeze=None,
    change_summary: str = "",
    rerouted_from: ApprovalRequest | None = None,
    appeal_of: ApprovalRequest | None = None,
    on_behalf_of: Person | None = None,
) -> ApprovalRequest:
    approval = ApprovalRequest(
        kind=kind,
        escalation=escalation,
        freeze=freeze,
        change_summary=change_summary,
        level=level.order if level else None,
        level_name=level.name if level else "",
        requested_by=requested_by,
        requester_person=person_of(requested_by) if requested_by else None,
        approver=approver,
        on_behalf_of=on_behalf_of,
        route=route,
        rerouted_from=rerouted_from,
        appeal_of=appeal_of,
        excluded=sorted(excluded),
        requested_at=timezone.now(),
        due_at=due_at,
    )
    approval._history_user, approval._change_reason = requested_by, f"Requested ({route})"
    approval.save()
    deadline_schedule(kind=REQUEST_DUE, subject=approval, due_at=due_at)
    if escalation is not None and approver.user_id:
        assign_perm("escalations.view_escalation", approver.user, escalation)
    return approval


def level_timeout(level: FrozenLevel) -> timedelta:
    return level.approval_timeout


def decide_by(escalation: Escalation | None, timeout: timedelta) -> datetime:
    """When an approver's time runs out: in the policy's business calendar when the escalation's
    clocks run in business hours (a compliance concern asked for on Friday evening waits for
    Monday morning instead of re-routing through every deputy over the weekend); wall-clock for
    24x7 policies and change-freeze exceptions."""
    now = timezone.now()
    if escalation is None:
        return now + timeout
    return ch.business_due(chain=escalation.frozen, start=now, duration=timeout)
