from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "apps.policies"
    label = "policies"
    verbose_name = "Escalation policies"

    def ready(self) -> None:
        from apps.audit.scopes import Scope, register_scoper
        from apps.policies import audit_labels, handlers  # noqa: F401 - registers deadline handlers

        audit_labels.register()

        register_scoper("policies.escalationpolicy", lambda policy: Scope(team_id=policy.owner.team_id))
