from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit and retention"

    def ready(self) -> None:
        from apps.audit import audit_labels, exports, history  # noqa: F401 - connects the history actor receiver

        audit_labels.register()
        exports.register_kinds()
