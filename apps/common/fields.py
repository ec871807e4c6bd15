"""Form fields that refuse a value before the database sees it."""

from __future__ import annotations

import re

from django import forms
from django.db import connections, models


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, refusing an id no row can have before it reaches the database.

    Django guards single-value lookups against integers past the column's range (ticket
    #27397, Django 5.0) but not ``__in``, which this field uses: on SQLite an id of 2**63 made
    the query fail with "datatype mismatch", a 500 where "not one of the choices" is meant."""

    def _check_values(self, value):
        key = self.queryset.model._meta.get_field(self.to_field_name) if self.to_field_name else None
        key = key or self.queryset.model._meta.pk
        if isinstance(key, models.IntegerField):
            ops = connections[self.queryset.db].ops
            low, high = ops.integer_field_range(key.get_internal_type())
            for item in value if isinstance(value, list | tuple) else [value]:
                if _outside(item, low, high):
                    raise forms.ValidationError(
                        self.error_messages["invalid_choice"], code="invalid_choice", params={"value": item}
                    )
        return super()._check_values(value)


INTEGER = re.compile(r"\s*-?[0-9]+\s*")


def _outside(item, low: int | None, high: int | None) -> bool:
    text = str(item)
    if not INTEGER.fullmatch(text):
        return False  # not a number: Django's own check says so
    if len(text.strip().lstrip("-")) > 40:
        return True  # far outside any column, and too long to be worth converting
    number = int(text)
    return (low is not None and number < low) or (high is not None and number > high)
