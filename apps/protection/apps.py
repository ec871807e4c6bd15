from django.apps import AppConfig

from apps.audit.scopes import Scope, register_scoper

# Every protection record's audit events stay out of the general trail (apps.audit.scopes).
CONFINED = Scope(confined_to="protection")


class ProtectionConfig(AppConfig):
    name = "apps.protection"
    label = "protection"
    verbose_name = "Protection"

    def ready(self) -> None:
        from apps.protection import (
            handlers,  # noqa: F401 - registers the deadline handlers
            retention,
        )

        retention.register()

        for model in (
            "protectionreport",
            "caseentry",
            "identitydisclosure",
            "watchwindow",
            "adverseaction",
            "protectionflag",
            "integrationtoken",
            "checkin",
        ):
            register_scoper(f"protection.{model}", lambda _obj: CONFINED)
