"""Writes for teams and people; each audited, each history-tracked with its actor."""

from __future__ import annotations

from django.core.exceptions import ValidationError
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


def _tracked_save(obj, actor, reason: str = "") -> None:
    obj._history_user = actor
    if reason:
        obj._change_reason = reason
    obj.save()


@transaction.atomic
def contact_methods_set(
    *, person: Person, methods: list[tuple[str, str]], actor=None, reason: str = ""
) -> list:
    """Replace a person's contact methods with ``[(kind, value), ...]`` in priority order."""
    from apps.contacts.models import ContactMethod
    from apps.contacts.validation import validate_contact_value

    errors = []
    for index, (kind, value) in enumerate(methods, start=1):
        try:
            validate_contact_value(kind, value)
        except ValidationError as exc:
            errors.extend(f"Contact method {index}: {m}" for m in exc.messages)
    if errors:
        raise ValidationError({"contact_methods": errors})
    before = [(m.kind, m.value) for m in person.contact_methods.all()]
    if before == list(methods):
        return list(person.contact_methods.all())
    for old in person.contact_methods.all():
        old._history_user, old._change_reason = actor, reason
        old.delete()
    saved = []
    for priority, (kind, value) in enumerate(methods, start=1):
        method = ContactMethod(person=person, kind=kind, value=value, priority=priority)
        _tracked_save(method, actor, reason)
        saved.append(method)
    record(
        action="contacts.contact_methods_changed",
        actor=actor,
        target=person,
        data={"before": before, "after": list(methods), "reason": reason},
    )
    return saved


@transaction.atomic
def backup_assign(*, person: Person, backup: Person, starts_on, ends_on=None, reason: str = "", actor=None):
    """Name a backup for a period; refuses a backup that would close a loop of backups."""
    from apps.contacts.models import BackupAssignment
    from apps.contacts.validation import find_backup_cycle

    if backup.pk == person.pk:
        raise ValidationError({"backup": "A person cannot be their own backup."})
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": "The assignment must end on or after the day it starts."})
    # Lock every assignment: two concurrent assignments could otherwise close a loop together.
    others = list(
        BackupAssignment.objects.select_for_update().values_list(
            "person_id", "backup_id", "starts_on", "ends_on"
        )
    )
    cycle = find_backup_cycle(person.pk, backup.pk, starts_on, ends_on, others)
    if cycle:
        names = dict(Person.objects.filter(pk__in=cycle).values_list("pk", "full_name"))
        loop = " → ".join(names[pk] for pk in cycle)
        raise ValidationError({"backup": f"This would make a loop of backups: {loop}."})
    assignment = BackupAssignment(
        person=person, backup=backup, starts_on=starts_on, ends_on=ends_on, reason=reason
    )
    assignment.full_clean()
    _tracked_save(assignment, actor, reason)
    record(
        action="contacts.backup_assigned",
        actor=actor,
        target=person,
        data={"backup": backup.full_name, "starts_on": starts_on, "ends_on": ends_on, "reason": reason},
    )
    return assignment


@transaction.atomic
def rotation_save(*, rotation, members: list[Person], actor=None, reason: str = ""):
    """Create or update a rotation and set its members in order."""
    from apps.contacts.models import RotationMember

    if not members:
        raise ValidationError({"members": "A rotation needs at least one member, or nobody is ever on call."})
    if len({m.pk for m in members}) != len(members):
        raise ValidationError({"members": "A person can appear only once in a rotation."})
    rotation.full_clean()
    created = rotation.pk is None
    _tracked_save(rotation, actor, reason)
    current = [m.person_id for m in rotation.members.order_by("position")]
    if current != [m.pk for m in members]:
        for old in rotation.members.all():
            old._history_user, old._change_reason = actor, reason
            old.delete()
        for position, person in enumerate(members, start=1):
            _tracked_save(RotationMember(rotation=rotation, person=person, position=position), actor, reason)
    record(
        action="contacts.rotation_created" if created else "contacts.rotation_changed",
        actor=actor,
        target=rotation,
        data={
            "members": [m.full_name for m in members],
            "shift_hours": rotation.shift_hours,
            "reason": reason,
        },
    )
    return rotation


@transaction.atomic
def rotation_override_add(*, rotation, person: Person, starts_at, ends_at, reason: str, actor=None):
    from apps.contacts.models import RotationOverride

    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "An override must end after it starts."})
    override = RotationOverride(
        rotation=rotation, person=person, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    override.full_clean()
    _tracked_save(override, actor, reason)
    record(
        action="contacts.rotation_override_added",
        actor=actor,
        target=rotation,
        data={"person": person.full_name, "starts_at": starts_at, "ends_at": ends_at, "reason": reason},
    )
    return override
