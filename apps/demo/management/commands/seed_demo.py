"""A demo organisation for `make run` and the browser tests. Safe to run again and again."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.services import roles_sync, user_set_roles
from apps.contacts.services import person_upsert, team_upsert
from apps.demo.policies import seed_policies
from apps.demo.protection import seed_protection

DEMO_PASSWORD = "escalportal-demo"

TEAMS = [
    ("executive", "Executive Office", "The executive leadership team."),
    ("platform-ops", "Platform Operations", "Runs production: on-call, incidents, capacity."),
    ("security", "Security", "Security operations and incident response."),
    ("customer-success", "Customer Success", "Premium customer relationships and escalations."),
    ("people-compliance", "People & Compliance", "HR, ethics and regulatory compliance."),
    ("governance", "Governance & Risk", "Keeps escalation policies and audits them."),
]

# (username or None, full name, title, team, manager's email local part, authority, roles)
PEOPLE = [
    ("executive", "Eleanor Vance", "Chief Executive Officer", "executive", None, 100, [Role.EXECUTIVE]),
    (None, "Marcus Reid", "Chief Technology Officer", "executive", "eleanor.vance", 90, [Role.EXECUTIVE]),
    (None, "Priya Natarajan", "Chief Operating Officer", "executive", "eleanor.vance", 90, [Role.EXECUTIVE]),
    ("director", "Daniel Okafor", "Director of Platform Operations", "platform-ops", "marcus.reid", 70, [Role.MANAGER]),
    ("manager", "Grace Lindqvist", "Engineering Manager, Platform", "platform-ops", "daniel.okafor", 50, [Role.MANAGER, Role.RESPONDER]),
    ("responder", "Tomás Herrera", "Site Reliability Engineer", "platform-ops", "grace.lindqvist", 30, [Role.RESPONDER]),
    (None, "Aisha Bello", "Site Reliability Engineer", "platform-ops", "grace.lindqvist", 30, [Role.RESPONDER]),
    (None, "Ken Watanabe", "Security Operations Lead", "security", "marcus.reid", 50, [Role.MANAGER, Role.RESPONDER]),
    (None, "Sofia Rossi", "Head of Customer Success", "customer-success", "priya.natarajan", 60, [Role.MANAGER]),
    ("staff", "Sam Patel", "Support Specialist, Platform", "platform-ops", "grace.lindqvist", 10, [Role.STAFF]),
    # Hannah owns level 1 of the compliance policy, so she responds too; Omar is whom an executive
    # may name to work a compliance escalation instead (issue 12's journeys).
    ("hr", "Hannah Schmidt", "HR & Compliance Officer", "people-compliance", "priya.natarajan", 40, [Role.HR_COMPLIANCE, Role.RESPONDER]),
    ("compliance", "Omar Haddad", "Compliance Officer", "people-compliance", "priya.natarajan", 40, [Role.HR_COMPLIANCE, Role.RESPONDER]),
    ("auditor", "Ingrid Novak", "Internal Auditor", "governance", "priya.natarajan", 40, [Role.AUDITOR]),
    (
        "govadmin",
        "Leo Martins",
        "Governance Administrator",
        "governance",
        "priya.natarajan",
        40,
        [Role.GOVERNANCE_ADMIN],
    ),
]

DOMAIN = "example.com"


def email_of(full_name: str) -> str:
    local = full_name.lower().replace(" ", ".").replace("á", "a").replace("é", "e")
    return f"{local}@{DOMAIN}"


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo organisation with one login per role."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--allow-production", action="store_true", help="Seed even with DEBUG off.")

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEMO_DATA_ALLOWED and not allow_production:
            raise CommandError(
                "refusing to create demo logins with a published password: DEMO_DATA_ALLOWED is off "
                "(it follows DEBUG; use --allow-production to insist)"
            )
        with transaction.atomic():
            roles_sync()
            teams = {slug: team_upsert(slug=slug, name=name, description=desc) for slug, name, desc in TEAMS}
            people = {}
            for username, full_name, title, team, manager, rank, roles in PEOPLE:
                user = self._user(username, full_name, roles) if username else None
                boss = people[f"{manager}@{DOMAIN}"] if manager else None
                email = email_of(full_name)
                people[email] = person_upsert(
                    email=email,
                    full_name=full_name,
                    title=title,
                    team=teams[team],
                    manager=boss,
                    authority_rank=rank,
                    user=user,
                )
            new_policies = seed_policies()
            logins = {u.username: u for u in User.objects.filter(username__in=["staff", "hr", "compliance"])}
            seed_protection(reporter=logins["staff"], officer=logins["hr"], second=logins["compliance"])
        self.stdout.write(
            self.style.SUCCESS(
                f"demo organisation: {len(teams)} teams, {len(people)} people, {new_policies} new policies"
            )
        )
        self.stdout.write(f"demo logins (password: {DEMO_PASSWORD}):")
        required = {Role(r) for r in settings.OTP_REQUIRED_ROLES}
        for username, full_name, _title, *_rest, roles in PEOPLE:
            if username:
                labels = ", ".join(role.label for role in roles)
                second = " (sets up an authenticator app at first sign-in)" if set(roles) & required else ""
                self.stdout.write(f"  {username:<10} {full_name:<18} {labels}{second}")

    def _user(self, username: str, full_name: str, roles: list[Role]) -> User:
        first, last = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": email_of(full_name)}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if Role.GOVERNANCE_ADMIN in roles and not user.is_staff:
            user.is_staff = True  # governance admins keep reference data in the admin
            user.save(update_fields=["is_staff"])
        user_set_roles(user=user, roles=set(roles), actor=None)
        return user
