"""Building blocks of the contact page tests: the person and rotation forms as the browser
submits them, and a cheap organisation of any size for the query-count tests."""

from __future__ import annotations

from datetime import date

from apps.contacts.models import Person
from tests.factories import ContactMethodFactory, PersonFactory, TeamFactory


def person_post(person: Person, **overrides) -> dict:
    """The edit form as the browser submits it, with the person's current values."""
    methods = overrides.pop("methods", None)
    if methods is None:
        methods = [(m.kind, m.value) for m in person.contact_methods.all()]
    data = {
        "full_name": person.full_name,
        "email": person.email,
        "title": person.title,
        "team": person.team_id or "",
        "manager": person.manager_id or "",
        "authority_rank": person.authority_rank,
        "timezone": person.timezone,
        "reason": "",
        "methods-TOTAL_FORMS": len(methods) + 1,
        "methods-INITIAL_FORMS": len(methods),
        "methods-MIN_NUM_FORMS": 0,
        "methods-MAX_NUM_FORMS": 10,
    }
    for i, (kind, value) in enumerate([*methods, ("email", "")]):
        data[f"methods-{i}-kind"], data[f"methods-{i}-value"], data[f"methods-{i}-priority"] = (
            kind,
            value,
            i + 1,
        )
    data.update(overrides)
    return data


def rotation_post(team, members, **overrides) -> dict:
    data = {
        "team": team.pk,
        "name": "Night watch",
        "timezone": "Europe/London",
        "shift_hours": 12,
        "handoff_time": "20:00",
        "starts_on": date.today().isoformat(),
        "ends_on": "",
        "is_primary": "",
        "reason": "New rotation",
        "members-TOTAL_FORMS": len(members) + 1,
        "members-INITIAL_FORMS": 0,
        "members-MIN_NUM_FORMS": 0,
        "members-MAX_NUM_FORMS": 100,
    }
    for i, person in enumerate([*members, None]):
        data[f"members-{i}-person"] = person.pk if person else ""
        data[f"members-{i}-position"] = i + 1
    data.update(overrides)
    return data


def grow_org(total: int) -> None:
    """A tree of ``total`` people (three reports each) with contact methods, in two teams."""
    teams = [TeamFactory(), TeamFactory()]
    people: list[Person] = list(Person.objects.all())
    while len(people) < total:
        boss = people[(len(people) - 1) // 3] if people else None
        person = PersonFactory(team=teams[len(people) % 2], manager=boss)
        ContactMethodFactory(person=person, kind="email", value=person.email, priority=1)
        people.append(person)
