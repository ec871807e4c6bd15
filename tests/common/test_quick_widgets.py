"""The widgets printed in Python (``apps.common.forms.Quick*``) print what Django's templates
print, for the cases a filter form meets: a value chosen or not, several chosen, groups of
choices, attributes that are ``True``, ``False`` or need escaping, a refused value typed back."""

from __future__ import annotations

import pytest
from django import forms
from django.utils.safestring import mark_safe

from apps.common.forms import (
    DateInput,
    QuickDateInput,
    QuickSelect,
    QuickSelectMultiple,
    QuickTextInput,
)

CHOICES = [("", "All <severities>"), ("sev1", "SEV1 & worse"), ("sev2", mark_safe("<b>SEV2</b>"))]
GROUPED = [("", "Any"), ("Open", [("open", "Open"), ("ack", "Acknowledged")]), ("closed", "Closed")]
SAY = {"placeholder": 'Say "why" <here>'}
ATTRS = {"class": "form-select is-invalid", "aria-invalid": "true", "required": True, "disabled": False}


@pytest.mark.parametrize(
    ("quick", "django", "value"),
    [
        (QuickSelect(choices=CHOICES), forms.Select(choices=CHOICES), None),
        (QuickSelect(choices=CHOICES, attrs=ATTRS), forms.Select(choices=CHOICES, attrs=ATTRS), "sev1"),
        (QuickSelect(choices=GROUPED), forms.Select(choices=GROUPED), "ack"),
        (QuickSelectMultiple(choices=GROUPED), forms.SelectMultiple(choices=GROUPED), ["open", "closed"]),
        (QuickTextInput(), forms.TextInput(), None),
        (QuickTextInput(attrs=SAY), forms.TextInput(attrs=SAY), 'x" onload="y'),
        (
            QuickDateInput(attrs={"class": "form-control"}),
            DateInput(attrs={"class": "form-control"}),
            "2026-12-07",
        ),
        (QuickDateInput(), DateInput(), "31/02/2026"),
    ],
)
def test_a_quick_widget_prints_what_django_prints(quick, django, value):
    attrs = {"id": "id_f"}
    assert quick.render("f", value, attrs=attrs) == django.render("f", value, attrs=attrs)
