from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero at the first broken row."

    def handle(self, *args, **options) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(str(report))
        self.stdout.write(self.style.SUCCESS(str(report)))
