"""Teams, people and what makes them reachable: contact methods, backups, rotations with
their members and overrides, and helpers for people a policy level can reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import factory

from apps.contacts.models import (
    BackupAssignment,
    ContactMethod,
    Person,
    Rotation,
    RotationMember,
    RotationOverride,
    Team,
)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    full_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    title = "Engineer"
    team = factory.SubFactory(TeamFactory)


class ContactMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactMethod

    person = factory.SubFactory(PersonFactory)
    kind = "email"
    value = factory.LazyAttribute(lambda m: m.person.email)
    priority = 1


class BackupAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupAssignment

    person = factory.SubFactory(PersonFactory)
    backup = factory.SubFactory(PersonFactory)
    starts_on = date(2020, 1, 1)


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


class RotationMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RotationMember

    rotation = factory.SubFactory(RotationFactory)
    person = factory.SubFactory(PersonFactory)
    position = factory.Sequence(lambda n: n + 1)


class RotationOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RotationOverride

    rotation = factory.SubFactory(RotationFactory)
    person = factory.SubFactory(PersonFactory)
    starts_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=8))
    reason = "Swap"


def reachable_person(*, team: Team | None = None, rank: int = 10, **fields) -> Person:
    """A person with an email contact method, so a level targeting them is reachable."""
    person = PersonFactory(authority_rank=rank, **({"team": team} if team else {}), **fields)
    ContactMethodFactory(person=person, kind="email", value=person.email, priority=1)
    return person


def rotation_with(members: list[Person], **fields) -> Rotation:
    """A rotation whose members take shifts in the order given."""
    rotation = RotationFactory(**fields)
    for position, person in enumerate(members, start=1):
        RotationMemberFactory(rotation=rotation, person=person, position=position)
    return rotation


def staffed_team(size: int = 2, **rotation_fields) -> Team:
    """A team whose members are reachable and cover a primary rotation without gaps."""
    team = TeamFactory()
    members = [reachable_person(team=team) for _ in range(size)]
    rotation_with(members, team=team, **rotation_fields)
    return team
