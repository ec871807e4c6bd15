from django.apps import AppConfig

from apps.audit.scopes import Scope, register_scoper


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from apps.approvals import audit_labels, handlers  # noqa: F401 - registers the deadline handler
        from apps.approvals.protection_links import decided_on
        from apps.approvals.services import EscalationGate
        from apps.escalations.gate import register_gate
        from apps.protection import links

        register_gate(EscalationGate())
        links.register(actor_link=decided_on)
        register_scoper("approvals.approvalrequest", _request_scope)
        audit_labels.register()
        from apps.approvals import exports

        exports.register_kinds()


def _request_scope(request) -> Scope:
    """A request belongs to its escalation; a freeze exception to the requester's team."""
    if request.escalation_id:
        return Scope(escalation_id=request.escalation_id)
    person = request.requester_person
    return Scope(team_id=person.team_id if person else None)
