"""Deciding a request: exactly one decision stands (a row lock and the version the approver
saw), and nobody named in the escalation decides it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.approvals.models import (
    ApprovalRequest,
    ExecutiveBrief,
    Outcome,
    RequestKind,
    RequestStatus,
)
from apps.approvals.selectors import may_decide
from apps.approvals.services.brief import apply_brief_edits, send_brief
from apps.approvals.services.common import (
    MIN_REASON,
    audit,
    lock,
    log_decision,
    settle,
    tell,
)
from apps.common.errors import Conflict
from apps.contacts.selectors import person_of
from apps.escalations import services as esc_services
from apps.policies.content import check_outgoing


@transaction.atomic
def approval_decide(
    *,
    approval: ApprovalRequest,
    actor,
    approve: bool,
    reason: str = "",
    brief_edits: dict | None = None,
    expected_version: int | None = None,
) -> ApprovalRequest:
    approval = lock(approval, expected_version)
    if not approval.is_pending:
        raise Conflict(f"This request is already {approval.get_status_display().lower()}; nothing was done.")
    if why := may_decide(actor, approval):
        raise PermissionDenied(why)
    reason = (reason or "").strip()
    if not approve and len(reason) < MIN_REASON:
        raise ValidationError(
            {
                "reason": f"A rejection needs a reason (at least {MIN_REASON} characters): "
                "the raiser reads it and may appeal."
            }
        )
    on_behalf = approval.on_behalf_of or (
        approval.approver if person_of(actor) != approval.approver else None
    )
    if approval.kind == RequestKind.EXECUTIVE_LEVEL:
        _decide_escalation(approval, actor, approve, reason, brief_edits)
    else:
        settle(approval, RequestStatus.APPROVED if approve else RequestStatus.REJECTED, actor, reason)
    log_decision(
        approval, Outcome.APPROVED if approve else Outcome.REJECTED, actor, reason, on_behalf_of=on_behalf
    )
    audit(approval, "approved" if approve else "rejected", actor, reason=reason)
    told = approval.escalation.raiser_person if approval.escalation_id else approval.requester_person
    tell(approval, [told], "approval_decided", "decided", approved=approve, reason=reason, decider=actor)
    return approval


def _decide_escalation(
    approval: ApprovalRequest, actor, approve: bool, reason: str, brief_edits: dict | None
) -> None:
    esc = approval.escalation
    who = actor.get_full_name() or actor.get_username()
    if approve:
        brief = approval.brief
        apply_brief_edits(brief, brief_edits, actor)
        where = {f"Brief, {f.replace('_', ' ')}": f for f in ExecutiveBrief.FIELDS}
        check_outgoing({w: getattr(brief, f) for w, f in where.items()}, field="brief", fields=where)
        settle(approval, RequestStatus.APPROVED, actor, reason)
        esc_services.escalation_reach_approved_level(
            escalation=esc,
            level_order=approval.level,
            actor=actor,
            note=f"Approved by {who}: level {approval.level} ({approval.level_name}) may be told."
            + (f" {reason}" if reason else ""),
        )
        send_brief(approval, actor)
    else:
        settle(approval, RequestStatus.REJECTED, actor, reason)
        can_appeal = approval.appeal_of_id is None
        esc_services.escalation_approval_refused(
            escalation=esc,
            level_order=approval.level,
            actor=actor,
            note=f"Approval for level {approval.level} ({approval.level_name}) refused by {who}: {reason}"
            + (" The raiser may appeal once." if can_appeal else ""),
        )
