"""Creating and editing a person from the portal: fields and contact methods in one go.

``services.person_upsert`` finds people by email, so it cannot change an email address, and
it saves the person before the contact methods are looked at. The edit page needs both in one
transaction with every error reported together: a bad phone number must leave the person's
name, manager and title untouched too, and the admin should see the phone error and a manager
loop on the same page rather than one after the other.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import record
from apps.common.moments import timezone_error
from apps.contacts.models import Person
from apps.contacts.services import contact_methods_set
from apps.contacts.validation import validate_contact_value

PERSON_FIELDS = ("full_name", "email", "title", "team", "manager", "authority_rank", "timezone")


def contact_method_errors(methods: list[tuple[str, str]]) -> list[str]:
    """The messages ``contact_methods_set`` would refuse with, collected up front."""
    errors = []
    for index, (kind, value) in enumerate(methods, start=1):
        try:
            validate_contact_value(kind, value)
        except ValidationError as exc:
            errors.extend(f"Contact method {index}: {m}" for m in exc.messages)
    return errors


def person_errors(*, person: Person | None, fields: dict) -> dict[str, list[str]]:
    """What ``person_save`` would refuse about the fields alone, without saving or locking:
    lets a form whose contact methods are already known to be bad still show a manager loop
    or a taken email in the same round trip."""
    person = Person() if person is None else Person.objects.get(pk=person.pk)
    _, errors = _apply(person, fields, created=person.pk is None)
    return errors


def _apply(person: Person, fields: dict, *, created: bool) -> tuple[list[str], dict[str, list[str]]]:
    changed = sorted(k for k in PERSON_FIELDS if k in fields and (created or getattr(person, k) != fields[k]))
    for key in changed:
        setattr(person, key, fields[key])
    errors: dict[str, list[str]] = {}
    try:
        person.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    # Person.timezone has no validator of its own; an unknown zone would break on-call maths.
    if message := timezone_error(person.timezone):
        errors.setdefault("timezone", []).append(message)
    return changed, errors


@transaction.atomic
def person_save(
    *,
    person: Person | None,
    fields: dict,
    methods: list[tuple[str, str]] | None = None,
    actor=None,
    reason: str = "",
) -> Person:
    """Create (``person=None``) or update a person and, when given, replace their contact methods.

    Raises one ValidationError mapping field -> messages (``contact_methods`` for the methods)
    with nothing saved. The row is re-read under a lock so the caller's instance is never left
    half-changed and two admins editing the same person serialise instead of overwriting.
    """
    created = person is None
    person = Person() if created else Person.objects.select_for_update().get(pk=person.pk)
    changed, errors = _apply(person, fields, created=created)
    if methods is not None and (method_errors := contact_method_errors(methods)):
        errors["contact_methods"] = method_errors
    if errors:
        raise ValidationError(errors)
    if changed:
        person._history_user = actor
        person._change_reason = reason
        person.save()
        record(
            action="contacts.person_created" if created else "contacts.person_updated",
            actor=actor,
            target=person,
            data={"fields": changed, "reason": reason},
        )
    if methods is not None:
        contact_methods_set(person=person, methods=methods, actor=actor, reason=reason)
    return person
