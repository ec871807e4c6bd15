"""The escalation gate (``apps.escalations.gate``): the only way an executive level is reached."""

from __future__ import annotations

from apps.approvals import routing
from apps.approvals.models import (
    ApprovalRequest,
    Outcome,
    RequestKind,
    RequestStatus,
)
from apps.approvals.services.brief import draft_brief
from apps.approvals.services.common import (
    audit,
    decide_by,
    level_timeout,
    lock,
    log_decision,
    open_approval,
    settle,
    tell,
)
from apps.contacts.selectors import person_of
from apps.escalations.chain import FrozenLevel
from apps.escalations.gate import ApprovalOpened, GateClosed
from apps.escalations.models import Escalation


class EscalationGate:
    """Registered with apps.escalations: the only way an executive level is reached."""

    def open(self, *, escalation: Escalation, level: FrozenLevel, actor, reason: str) -> ApprovalOpened:
        excluded = routing.excluded_for_escalation(escalation, level)
        requester = actor or escalation.raiser
        # The raiser's manager decides, whoever pressed the button (DESIGN.md).
        approver = routing.first_approver(
            escalation.raiser_person, fallback_owner=escalation.policy.owner, excluded=excluded
        )
        if approver is None:
            raise GateClosed(
                f"Level {level.order} ({level.name}) needs a manager's approval, and nobody "
                "able to approve it can be reached."
            )
        approval = open_approval(
            kind=RequestKind.EXECUTIVE_LEVEL,
            escalation=escalation,
            level=level,
            approver=approver,
            route="manager" if approver.pk in _line_ids(escalation.raiser) else "next available approver",
            due_at=decide_by(escalation, level_timeout(level)),
            requested_by=requester,
            excluded=excluded,
        )
        draft_brief(approval)
        key = tell(approval, [approver], "approval_requested", "requested")
        audit(approval, "requested", actor, reason=reason)
        return ApprovalOpened(
            approver_name=approver.full_name, due_at=approval.due_at, approval_id=approval.pk, event_key=key
        )

    def withdraw(self, *, escalation: Escalation, actor, reason: str) -> None:
        for approval in ApprovalRequest.objects.filter(escalation=escalation, status=RequestStatus.PENDING):
            approval = lock(approval)
            settle(approval, RequestStatus.WITHDRAWN, actor, reason)
            log_decision(approval, Outcome.WITHDRAWN, actor, reason)
            audit(approval, "withdrawn", actor, reason=reason)


def _line_ids(user) -> set[int]:
    person = person_of(user)
    return {p.pk for p in person.management_chain()} if person else set()
