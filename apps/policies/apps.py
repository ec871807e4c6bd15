from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "apps.policies"
    label = "policies"
    verbose_name = "Escalation policies"

    def ready(self) -> None:
        from apps.policies import handlers  # noqa: F401 - registers deadline handlers
