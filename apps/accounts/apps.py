from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from apps.accounts import audit_labels
        from apps.accounts.sessions import start_clock

        audit_labels.register()

        post_migrate.connect(sync_roles_after_migrate, sender=self)
        user_logged_in.connect(start_clock, dispatch_uid="accounts.start_clock")


def sync_roles_after_migrate(sender, using="default", **kwargs) -> None:
    # Like Django's own create_permissions: the matrix in roles.py is kept in the database
    # after every migrate, so a deployment can never run with stale groups.
    from apps.accounts.services import roles_sync

    roles_sync()
