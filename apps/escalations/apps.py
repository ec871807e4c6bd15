from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "apps.escalations"
    label = "escalations"
    verbose_name = "Escalations"

    def ready(self) -> None:
        from apps.escalations import audit, audit_labels, exports, handlers, protection_links  # noqa: F401 - registers the deadline handlers

        audit.register()
        exports.register_kinds()
        audit_labels.register()
        protection_links.register()
