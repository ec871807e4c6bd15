"""Who a frozen level reaches, and how a person is reached."""

from __future__ import annotations

from datetime import datetime

from apps.contacts.models import Person, Rotation, Team
from apps.contacts.selectors import backup_for, on_call, on_call_rotation, rotations_prefetched
from apps.escalations.chain.frozen import FrozenLevel
from apps.notifications.services import Recipient


def reachable(person: Person | None) -> bool:
    return person is not None and person.contact_methods.exists()


def level_contact(level: FrozenLevel, at: datetime) -> Person | None:
    """The person a frozen level reaches at ``at``, or None when nobody can be reached now
    (no one on call, or the person has no way to be contacted): such a level is skipped at once,
    never waited on."""
    person: Person | None = None
    if level.target_kind == "person":
        person = Person.objects.filter(pk=level.target_person).first()
    elif level.target_kind == "team_on_call":
        team = Team.objects.filter(pk=level.target_team).first()
        person = on_call(team, at) if team else None
    elif level.target_kind == "rotation":
        rotation = rotations_prefetched().filter(pk=level.target_rotation).first()
        person = on_call_rotation(rotation, at) if rotation else None
    return person if reachable(person) else None


def level_target_label(level: FrozenLevel) -> str:
    """What a level points at, for the timeline (``Platform Operations on call``)."""
    if level.target_kind == "person":
        person = Person.objects.filter(pk=level.target_person).first()
        return person.full_name if person else "a person no longer in the directory"
    if level.target_kind == "team_on_call":
        team = Team.objects.filter(pk=level.target_team).first()
        return f"{team.name} on call" if team else "a team no longer in the directory"
    rotation = Rotation.objects.select_related("team").filter(pk=level.target_rotation).first()
    return str(rotation) if rotation else "a rotation no longer in the directory"


def reachable_backup(person: Person, at: datetime) -> Person | None:
    backup = backup_for(person, at)
    return backup if reachable(backup) else None


def recipient_for(person: Person) -> Recipient:
    """A person as the notifications app sees them: contact methods in priority order."""
    methods = tuple((m.kind, m.value) for m in person.contact_methods.order_by("priority"))
    return Recipient(key=f"person:{person.pk}", name=person.full_name, methods=methods)
