"""The approval deadline: thin, calls the service inside the firing transaction."""

from __future__ import annotations

from apps.approvals import services
from apps.timers.registry import register


@register(services.REQUEST_DUE, label="Approval decision due")
def request_due(deadline) -> None:
    services.approval_timed_out(approval_id=int(deadline.subject_id))
