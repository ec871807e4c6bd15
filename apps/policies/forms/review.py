"""Marking a policy reviewed."""

from __future__ import annotations

from django import forms

from apps.common.forms import BootstrapMixin


class ReviewForm(BootstrapMixin, forms.Form):
    notes = forms.CharField(
        label="Review notes",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was checked; kept in the history and the audit trail.",
        min_length=5,
        max_length=2000,
        error_messages={
            "required": "Write what the review checked (at least 5 characters).",
            "min_length": "Write what the review checked (at least 5 characters).",
        },
    )
