"""The escalation gate (``apps.escalations.gate``): the only way an executive level is reached."""

from __future__ import annotations

from django.urls import reverse

from apps.approvals import routing
from apps.approvals.models import (
    ApprovalRequest,
    Outcome,
    RequestKind,
    RequestStatus,
)
from apps.approvals.selectors import appeal_chance
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
from apps.escalations.gate import ApprovalOpened, GateClosed, GateStatus
from apps.escalations.models import Escalation, Status


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

    def status(self, *, escalation: Escalation, user) -> GateStatus:
        """The approval the escalation waits for, or its latest refusal with the raiser's way to
        appeal it (a read: no lock, nothing written)."""
        latest = (
            ApprovalRequest.objects.filter(escalation=escalation)
            .exclude(status__in=[RequestStatus.EXPIRED, RequestStatus.WITHDRAWN])
            .select_related("approver")
            .order_by("-requested_at", "-pk")
            .first()
        )
        if latest is None:
            return GateStatus()
        url = reverse("approvals:request", args=[latest.pk])
        if latest.status == RequestStatus.PENDING:
            return GateStatus(waiting_for=latest.approver.full_name, due_at=latest.due_at, approval_url=url)
        if latest.status != RequestStatus.REJECTED or escalation.status not in (
            Status.OPEN,
            Status.ACKNOWLEDGED,
        ):
            return GateStatus()
        chance = appeal_chance(latest) if latest.raised_by_id == user.pk else None
        return GateStatus(
            refused_by=latest.approver.full_name,
            refusal_reason=latest.reason,
            appeal_to=chance.hearer.full_name if chance and chance.state == "open" else "",
            approval_url=url,
            appeal_url=reverse("approvals:appeal", args=[latest.pk]),
        )


def _line_ids(user) -> set[int]:
    person = person_of(user)
    return {p.pk for p in person.management_chain()} if person else set()
