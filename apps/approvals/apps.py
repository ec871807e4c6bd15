from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from apps.approvals import handlers  # noqa: F401 - registers the deadline handler
        from apps.approvals.services import EscalationGate
        from apps.escalations.gate import register_gate

        register_gate(EscalationGate())
