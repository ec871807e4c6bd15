"""Writes for teams and people; each audited, each history-tracked with its actor."""

from __future__ import annotations

from django.db import transaction

from apps.audit.services import record
from apps.contacts.models import Person, Team


@transaction.atomic
def team_upsert(*, slug: str, name: str, description: str = "", actor=None) -> Team:
    team, created = Team.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})
    if not created and (team.name, team.description) != (name, description):
        team.name, team.description = name, description
        team._history_user = actor
        team.save(update_fields=["name", "description"])
        record(action="contacts.team_updated", actor=actor, target=team)
    elif created:
        record(action="contacts.team_created", actor=actor, target=team)
    return team


@transaction.atomic
def person_upsert(*, email: str, actor=None, **fields) -> Person:
    """Create or update the person with this email; full_clean refuses a looping manager chain."""
    person = Person.objects.filter(email=email).first()
    created = person is None
    person = person or Person(email=email)
    changed = {k: v for k, v in fields.items() if getattr(person, k, None) != v}
    if not created and not changed:
        return person
    for key, value in changed.items():
        setattr(person, key, value)
    person.full_clean()
    person._history_user = actor
    person.save()
    record(
        action="contacts.person_created" if created else "contacts.person_updated",
        actor=actor,
        target=person,
        data={"fields": sorted(changed)},
    )
    return person
