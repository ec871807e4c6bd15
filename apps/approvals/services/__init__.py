"""Every change to approvals: open, decide, re-route, appeal, go around, withdraw; and the
executive brief that goes out on approval.

Exactly one decision stands: a decision locks the approval request row and checks its version,
so two approvers deciding together (or an approver and the deadline) cannot both win. Every
step is a decision-log row, an audit event and a timeline entry on the escalation.

The verbs live in submodules: ``common`` (the steps they share), ``gate`` (the escalation gate),
``decide``, ``reroute`` (silence, going around, appeals), ``brief`` and ``freeze`` (change-freeze
exceptions). In code an approval request is ``approval``, never ``request`` (which every Django
reader takes for the HTTP request).
"""

from apps.approvals.services.brief import brief_acknowledge, draft_brief  # noqa: F401
from apps.approvals.services.common import MIN_REASON, REQUEST_DUE  # noqa: F401
from apps.approvals.services.decide import approval_decide  # noqa: F401
from apps.approvals.services.freeze import freeze_exception_request  # noqa: F401
from apps.approvals.services.gate import EscalationGate  # noqa: F401
from apps.approvals.services.reroute import (  # noqa: F401
    approval_appeal,
    approval_escalate_around,
    approval_timed_out,
)
