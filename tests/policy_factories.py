"""Factories for the policies and contacts tests: people who can be reached, rotations, calendars
and whole policies saved through ``apps.policies.services.policy_save``.

Kept apart from ``tests/factories.py`` (shared with other suites); import from here.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import factory

from apps.contacts.models import ContactMethod, Person, Rotation, RotationMember, Team
from apps.policies.models import BusinessCalendar, CustomerTier, EscalationPolicy, Severity
from apps.policies.services import LevelSpec, ThresholdSpec, policy_save
from tests.factories import PersonFactory, TeamFactory

H = timedelta(hours=1)
OFFICE_HOURS = {str(day): [["09:00", "17:30"]] for day in range(5)}


def reachable_person(*, team: Team | None = None, rank: int = 10, **fields) -> Person:
    """A person with an email contact method, so a level targeting them is reachable."""
    person = PersonFactory(authority_rank=rank, **({"team": team} if team else {}), **fields)
    ContactMethod.objects.create(person=person, kind="email", value=person.email, priority=1)
    return person


class RotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rotation

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Rotation {n}")
    timezone = "UTC"
    shift_hours = 168
    handoff_time = time(9, 0)
    starts_on = date(2020, 1, 6)
    is_primary = True


def rotation_with(members: list[Person], **fields) -> Rotation:
    """A rotation whose members take shifts in the order given."""
    rotation = RotationFactory(**fields)
    for position, person in enumerate(members, start=1):
        RotationMember.objects.create(rotation=rotation, person=person, position=position)
    return rotation


def staffed_team(size: int = 2, **rotation_fields) -> Team:
    """A team whose members are reachable and cover a primary rotation without gaps."""
    team = TeamFactory()
    members = [reachable_person(team=team) for _ in range(size)]
    rotation_with(members, team=team, **rotation_fields)
    return team


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "Europe/London"
    weekly_hours = factory.LazyFunction(lambda: dict(OFFICE_HOURS))
    holiday_country = "GB"
    holiday_subdivision = "ENG"


def full_matrix(ack: timedelta = H, resolve: timedelta = 8 * H, **fields) -> list[ThresholdSpec]:
    """Every severity x customer tier cell, each with the same durations."""
    return [
        ThresholdSpec(sev.value, tier.value, ack, resolve, **fields)
        for sev in Severity
        for tier in CustomerTier
    ]


def person_level(order: int, person: Person, rank: int | None = None, **fields) -> LevelSpec:
    return LevelSpec(
        order=order,
        name=fields.pop("name", f"Level {order}"),
        target_kind="person",
        target_person=person,
        authority_rank=person.authority_rank if rank is None else rank,
        **fields,
    )


def unsaved_policy(
    *, owner: Person | None = None, calendar: BusinessCalendar | None = None, **fields
) -> EscalationPolicy:
    n = EscalationPolicy.objects.count() + 1
    fields.setdefault("name", f"Policy {n}")
    fields.setdefault("slug", f"policy-{n}")
    fields.setdefault("category", "operational")
    fields.setdefault("description", "When production is down.")
    fields.setdefault("next_review_on", date.today() + timedelta(days=90))
    return EscalationPolicy(
        owner=owner or reachable_person(rank=50),
        calendar=calendar or BusinessCalendarFactory(),
        **fields,
    )


def two_level_chain() -> list[LevelSpec]:
    """An engineer (rank 10), then their manager (rank 20): a chain that climbs."""
    return [person_level(1, reachable_person(rank=10)), person_level(2, reachable_person(rank=20))]


def saved_policy(
    *, actor, reason: str = "Initial version of the policy", levels=None, thresholds=None, **fields
):
    return policy_save(
        policy=unsaved_policy(**fields),
        levels=levels if levels is not None else two_level_chain(),
        thresholds=thresholds if thresholds is not None else full_matrix(),
        actor=actor,
        reason=reason,
    )
