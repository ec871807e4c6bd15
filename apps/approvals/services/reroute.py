"""When an approver is silent or says no: re-routing on timeout, going around (the raiser,
after half the time), appealing a rejection once. A silent approver can never bury an escalation."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.approvals import routing
from apps.approvals.models import (
    ApprovalRequest,
    ExecutiveBrief,
    Outcome,
    RequestStatus,
)
from apps.approvals.selectors import appeal_chance
from apps.approvals.services.common import (
    MIN_REASON,
    Kind,
    audit,
    decide_by,
    level_timeout,
    lock,
    log_decision,
    open_approval,
    protected_act,
    settle,
    tell,
)
from apps.common.errors import Conflict
from apps.common.moments import shown
from apps.escalations import services as esc_services


def _reroute(
    approval: ApprovalRequest, actor, outcome: str, *, skip_backup: bool, reason: str
) -> ApprovalRequest | None:
    """Move a pending request on to the next person; None only when nobody at all can decide."""
    chain = approval.chain()
    start = chain[0].approver
    asked = {r.approver_id for r in chain}
    found = routing.next_approver(
        start, asked, set(approval.excluded), timezone.now(), skip_backup=skip_backup
    )
    settle(approval, RequestStatus.EXPIRED, actor, reason)
    log_decision(approval, outcome, actor, reason, by_name="" if actor else "escalportal")
    if found is None:
        return None
    person, route = found
    level = approval.escalation.level(approval.level) if approval.escalation_id else None
    timeout = level_timeout(level) if level else approval.due_at - approval.requested_at
    due_at = decide_by(approval.escalation if approval.escalation_id else None, timeout)
    new = open_approval(
        kind=approval.kind,
        escalation=approval.escalation,
        level=level,
        freeze=approval.freeze,
        change_summary=approval.change_summary,
        approver=person,
        route=route,
        due_at=due_at,
        requested_by=approval.requested_by,
        excluded=set(approval.excluded),
        rerouted_from=approval,
        on_behalf_of=start,
    )
    if approval.escalation_id:
        brief = approval.brief
        ExecutiveBrief.objects.create(
            approval=new,
            escalation=approval.escalation,
            **{f: getattr(brief, f) for f in ExecutiveBrief.FIELDS},
        )
    return new


def approval_timed_out(*, approval_id: int) -> None:
    """The deadline passed without a decision: the backup, then up the line, then the other
    executives, then a new round: a silent approver can never bury an escalation."""
    approval = ApprovalRequest.objects.filter(pk=approval_id, status=RequestStatus.PENDING).first()
    if approval is None:
        return
    approval = lock(approval)
    silent = approval.approver
    new = _reroute(
        approval,
        None,
        Outcome.REROUTED,
        skip_backup=approval.route.startswith(("backup", "manager of")),
        reason=f"{silent.full_name} did not decide by {approval.due_at:%a %d %b %H:%M} UTC.",
    )
    _after_reroute(approval, new, None, f"{silent.full_name} did not decide in time")


def _after_reroute(old: ApprovalRequest, new: ApprovalRequest | None, actor, why: str) -> None:
    if new is not None:
        key = tell(new, [new.approver], "approval_requested", "requested", rerouted_from=old)
        tell(new, [old.approver], "approval_rerouted", "rerouted-away", new=new)
        audit(new, "rerouted", actor, reason=why, previous=old.approver.full_name)
        if new.escalation_id:
            esc_services.escalation_note(
                escalation=new.escalation,
                kind=Kind.APPROVAL_REQUESTED,
                actor=actor,
                event_key=key,
                message=f"{why}: the approval now goes to {new.approver.full_name} ({new.route}), "
                f"due {new.due_at:%a %d %b %H:%M} UTC.",
                level=new.level,
                request=new.pk,  # the timeline data key the escalation page links by
            )
        return
    # Nobody at all can decide (everyone able to is named in the escalation): it stays where it
    # is, the raiser and the policy owner are told, and nothing reaches an executive unapproved.
    audit(old, "unanswered", actor, reason=why)
    if old.escalation_id:
        esc = old.escalation
        esc_services.escalation_approval_refused(
            escalation=esc,
            level_order=old.level,
            actor=actor,
            note=f"{why}, and nobody else able to approve can be reached: it stays at level {esc.current_level}. "
            f"{esc.policy.owner.full_name} (policy owner) has been told.",
        )
        tell(old, [esc.raiser_person, esc.policy.owner], "approval_unanswered", "unanswered")


@transaction.atomic
def approval_escalate_around(
    *, approval: ApprovalRequest, actor, reason: str, expected_version: int | None = None
) -> ApprovalRequest:
    """The raiser goes around an approver who has not answered: straight to their manager.
    Allowed once half the time to decide has passed. A protected act."""
    approval = lock(approval, expected_version)
    if not approval.is_pending:
        raise Conflict(f"This request is already {approval.get_status_display().lower()}.")
    if approval.raised_by_id != actor.pk:
        raise PermissionDenied("Only the person who raised it can go around the approver.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            {"reason": f"Say why (at least {MIN_REASON} characters): it is kept in the decision log."}
        )
    halfway = approval.requested_at + (approval.due_at - approval.requested_at) / 2
    if timezone.now() < halfway:
        raise Conflict(
            f"{approval.approver.full_name} has until {shown(approval.due_at)}; you can go "
            f"around them from {shown(halfway)}."
        )
    silent = approval.approver
    new = _reroute(approval, actor, Outcome.ESCALATED_AROUND, skip_backup=True, reason=reason)
    protected_act(approval, actor, "escalated around an unresponsive approver", reason)
    _after_reroute(approval, new, actor, f"The raiser went around {silent.full_name}, who had not answered")
    return new or approval


@transaction.atomic
def approval_appeal(*, approval: ApprovalRequest, actor, reason: str) -> ApprovalRequest:
    """Appeal a rejection, once, to the rejecting approver's manager. A protected act."""
    approval = lock(approval)
    if approval.status == RequestStatus.REJECTED and approval.raised_by_id != actor.pk:
        raise PermissionDenied("Only the person who raised it can appeal the rejection.")
    chance = appeal_chance(approval)
    if chance.why_not:
        raise Conflict(chance.why_not)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            {"reason": f"Say why the rejection is wrong (at least {MIN_REASON} characters)."}
        )
    rejecter, person, esc = approval.approver, chance.hearer, approval.escalation
    excluded = set(approval.excluded) | {rejecter.pk}
    level = esc.level(approval.level)
    appeal = open_approval(
        kind=approval.kind,
        escalation=esc,
        level=level,
        approver=person,
        route=f"appeal against {rejecter.full_name}'s rejection",
        due_at=decide_by(esc, level_timeout(level)),
        requested_by=actor,
        excluded=excluded,
        appeal_of=approval,
    )
    ExecutiveBrief.objects.create(
        approval=appeal, escalation=esc, **{f: getattr(approval.brief, f) for f in ExecutiveBrief.FIELDS}
    )
    log_decision(approval, Outcome.APPEALED, actor, reason)
    key = tell(appeal, [person], "approval_requested", "requested", appeal=True, reason=reason)
    esc_services.escalation_await_approval(
        escalation=esc,
        level_order=approval.level,
        actor=actor,
        event_key=key,
        note=f"The raiser appealed {rejecter.full_name}'s rejection to {person.full_name}: {reason}",
    )
    audit(appeal, "appealed", actor, reason=reason, rejected_by=rejecter.full_name)
    protected_act(approval, actor, "appealed a rejected escalation", reason)
    return appeal
