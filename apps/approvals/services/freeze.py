"""Change-freeze exceptions: the same engine, another subject."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.approvals import routing
from apps.approvals.models import (
    ApprovalRequest,
    RequestKind,
)
from apps.approvals.services.common import (
    audit,
    open_approval,
    tell,
)
from apps.common.errors import Conflict
from apps.contacts.selectors import person_of


@transaction.atomic
def freeze_exception_request(
    *, freeze, actor, change_summary: str, timeout: timedelta = timedelta(hours=4)
) -> ApprovalRequest:
    summary = (change_summary or "").strip()
    if len(summary) < 20:
        raise ValidationError(
            {"change_summary": "Describe the change, its risk and its rollback (at least 20 characters)."}
        )
    requester = person_of(actor)
    excluded = {requester.pk} if requester else set()
    approver = routing.first_approver(requester, fallback_owner=None, excluded=excluded)
    if approver is None:
        raise Conflict("Nobody able to approve a change-freeze exception can be reached.")
    approval = open_approval(
        kind=RequestKind.FREEZE_EXCEPTION,
        freeze=freeze,
        change_summary=summary,
        approver=approver,
        route="manager",
        due_at=timezone.now() + timeout,
        requested_by=actor,
        excluded=excluded,
    )
    tell(approval, [approver], "approval_requested", "requested")
    audit(approval, "requested", actor, freeze=freeze.name)
    return approval
