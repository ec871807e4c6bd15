from django.core.management.base import BaseCommand

from apps.accounts.services import roles_sync


class Command(BaseCommand):
    help = "Create or update the role groups and their permissions from apps/accounts/roles.py."

    def handle(self, *args, **options) -> None:
        result = roles_sync()
        self.stdout.write(f"{result['capabilities']} capabilities; {result['groups_changed']} groups changed")
