from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "apps.contacts"
    label = "contacts"
    verbose_name = "Teams and people"

    def ready(self) -> None:
        from apps.audit.scopes import Scope, register_scoper
        from apps.contacts import audit_labels
        from apps.contacts.models import Person

        audit_labels.register()

        # Whose record each change is, for the audit trail (apps.audit.scopes).
        register_scoper("contacts.team", lambda team: Scope(team_id=team.pk))
        register_scoper("contacts.person", lambda person: Scope(team_id=person.team_id))
        register_scoper("contacts.rotation", lambda rotation: Scope(team_id=rotation.team_id))
        register_scoper(
            "accounts.user",
            lambda user: Scope(
                team_id=Person.objects.filter(user_id=user.pk).values_list("team_id", flat=True).first()
            ),
        )
