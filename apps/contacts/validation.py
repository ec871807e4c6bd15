"""Rules on contact data, shared by forms, services and the CSV import."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
    URLValidator,
    validate_email,
)

# What a form field refuses about any text, whatever the field means: too long, too short,
# or a NUL character (which PostgreSQL cannot store at all).
TEXT_RULES = (MaxLengthValidator, MinLengthValidator, ProhibitNullCharactersValidator)


def text_rule_errors(field, value: str) -> list[str]:
    """The messages the form field ``field`` gives ``value`` for its length and characters.

    For values that never pass through the form (a CSV import): they are refused for the same
    reasons, in the same words, as the same value typed into the page."""
    errors = []
    for validator in field.validators:
        if isinstance(validator, TEXT_RULES):
            try:
                validator(value)
            except ValidationError as exc:
                errors.extend(exc.messages)
    return errors


E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def validate_contact_value(kind: str, value: str) -> None:
    if kind == "email":
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError({"value": f"{value!r} is not an email address."}) from None
    elif kind == "phone":
        if not E164.match(value):
            raise ValidationError({"value": "Phone numbers use the international form, e.g. +447700900123."})
    elif kind == "chat_webhook":
        try:
            URLValidator(schemes=["https"])(value)
        except ValidationError:
            raise ValidationError({"value": "A chat webhook must be an https:// URL."}) from None
    else:
        raise ValidationError({"kind": f"Unknown contact method {kind!r}."})


def find_backup_cycle(
    person_id: int, backup_id: int, starts_on: date, ends_on: date | None, assignments
) -> list[int] | None:
    """Would ``backup_id`` standing in for ``person_id`` close a loop of backups?

    ``assignments`` are the other assignments as (person_id, backup_id, starts_on, ends_on).
    Only assignments overlapping the new one's period count: a loop is a problem only when
    everyone in it is away at the same time. Returns the loop as person ids, or None.
    """

    def overlaps(s, e) -> bool:
        return (ends_on is None or s <= ends_on) and (e is None or starts_on <= e)

    edges: dict[int, set[int]] = {}
    for p, b, s, e in assignments:
        if overlaps(s, e):
            edges.setdefault(p, set()).add(b)
    # Walk the backup chain from the new backup; reaching the person again closes a loop.
    parents: dict[int, int | None] = {backup_id: None}
    stack = [backup_id]
    while stack:
        node = stack.pop()
        if node == person_id:
            path, cur = [], node
            while cur is not None:
                path.append(cur)
                cur = parents[cur]
            return [person_id, *reversed(path)]
        for nxt in edges.get(node, ()):
            if nxt not in parents:
                parents[nxt] = node
                stack.append(nxt)
    return None
