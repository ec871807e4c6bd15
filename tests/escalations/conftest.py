"""A small organisation for escalation tests: named actors linked to people, a three-level
chain (engineer -> engineering manager -> CTO, who needs approval), reachable by email.

``world`` builds it under a 24x7 calendar; ``world_factory(calendar=...)`` under another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.accounts.roles import Role
from apps.contacts.models import BackupAssignment, ContactMethod, Person
from apps.escalations.services import escalation_raise
from apps.policies.models import BusinessCalendar, Service
from tests.factories import (
    BusinessCalendarFactory,
    TeamFactory,
    UserFactory,
    full_matrix,
    person_level,
    saved_policy,
)

H = timedelta(hours=1)


@dataclass
class World:
    service: Service
    policy: object
    raiser: object
    engineer: object  # user, level 1 owner
    backup: object  # user, the engineer's backup
    eng_manager: object  # user, level 2
    cto: object  # user, level 3 (approval)
    outsider: object
    auditor: object

    def person(self, user) -> Person:
        return Person.objects.get(user=user)


def person_for(user, *, rank: int, team, manager=None, title="Engineer", methods=("email",)) -> Person:
    person = Person.objects.create(
        user=user,
        full_name=user.get_full_name() or user.username,
        email=f"{user.username}@example.com",
        title=title,
        team=team,
        manager=manager,
        authority_rank=rank,
    )
    for priority, kind in enumerate(methods, start=1):
        value = person.email if kind == "email" else "+447700900123"
        ContactMethod.objects.create(person=person, kind=kind, value=value, priority=priority)
    return person


def build_world(
    *,
    calendar: BusinessCalendar | None = None,
    business_hours_only: bool = False,
    ack: timedelta = H,
    resolve: timedelta = 8 * H,
    category: str = "operational",
) -> World:
    team = TeamFactory()
    cto = UserFactory(username="cto", first_name="Cass", last_name="Taylor", roles=[Role.EXECUTIVE])
    eng_manager = UserFactory(
        username="engmgr", first_name="Grace", last_name="Lind", roles=[Role.MANAGER, Role.RESPONDER]
    )
    engineer = UserFactory(username="engineer", first_name="Tom", last_name="Herr", roles=[Role.RESPONDER])
    backup = UserFactory(username="backup", first_name="Aisha", last_name="Bell", roles=[Role.RESPONDER])
    raiser = UserFactory(username="raiser", first_name="Sam", last_name="Patel", roles=[Role.STAFF])
    p_cto = person_for(cto, rank=90, team=team, title="CTO")
    p_mgr = person_for(eng_manager, rank=50, team=team, manager=p_cto, title="Engineering manager")
    p_eng = person_for(engineer, rank=20, team=team, manager=p_mgr)
    p_backup = person_for(backup, rank=20, team=team, manager=p_mgr)
    person_for(raiser, rank=10, team=team, manager=p_mgr, title="Analyst")
    BackupAssignment.objects.create(person=p_eng, backup=p_backup, starts_on=date(2020, 1, 1))
    calendar = calendar or BusinessCalendarFactory(
        always_open=True, timezone="UTC", weekly_hours={}, holiday_country="", holiday_subdivision=""
    )
    policy = saved_policy(
        actor=None,
        category=category,
        calendar=calendar,
        owner=p_mgr,
        de_escalation_criteria=["Service restored", "Customers told"],
        levels=[
            person_level(1, p_eng, name="On-call engineer", trigger_roles=["staff", "responder", "manager"]),
            person_level(
                2, p_mgr, name="Engineering manager", trigger_roles=["staff", "responder", "manager"]
            ),
            person_level(3, p_cto, name="CTO", requires_approval=True, trigger_roles=["manager"]),
        ],
        thresholds=full_matrix(ack=ack, resolve=resolve, business_hours_only=business_hours_only),
    )
    service = Service.objects.create(
        name="Payments API", slug="payments-api", owner_team=team, customer_tier="premium"
    )
    policy.services.add(service)
    return World(
        service=service,
        policy=policy,
        raiser=raiser,
        engineer=engineer,
        backup=backup,
        eng_manager=eng_manager,
        cto=cto,
        outsider=UserFactory(username="nobody"),
        auditor=UserFactory(username="auditor1", roles=[Role.AUDITOR]),
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def world_factory(db):
    return build_world


FIELDS = {
    "title": "Card payments failing for premium customers",
    "criticality": "mission_critical",
    "nature_of_risk": "Payment authorisations time out under load.",
    "who_is_impacted": "Premium merchants in the EU.",
    "impact": "Lost revenue, contractual penalties.",
    "situation": "Error rate at 12% and climbing.",
    "background": "Started after the 14:00 deploy.",
    "assessment": "Connection pool exhaustion in the gateway.",
    "recommendation": "Roll back the deploy; page the gateway owner.",
}


def raise_one(world: World, *, actor=None, severity: str = "sev1", confidential: bool = False, **overrides):
    fields = {
        **FIELDS,
        "impact_expected_at": datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        **overrides.pop("fields", {}),
    }
    return escalation_raise(
        actor=actor or world.raiser,
        service=overrides.pop("service", world.service),
        category=overrides.pop("category", "operational"),
        severity=severity,
        fields=fields,
        confidential=confidential,
        **overrides,
    )
