"""Approval forms: they parse; the services decide."""

from __future__ import annotations

from django import forms

from apps.approvals.models import ExecutiveBrief
from apps.common.forms import BootstrapMixin

LABELS = {
    "what_is_happening": "What is happening",
    "who_is_affected": "Who and what is affected",
    "what_is_being_done": "What is being done",
    "what_is_asked": "What is asked of the executive",
    "next_update": "When the next update comes",
}


class DecisionForm(BootstrapMixin, forms.Form):
    """Approve (with the brief as the approver leaves it) or reject with a reason."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    # The button pressed: "Approve" or "Reject" (the template renders the buttons itself).
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason",
        help_text="Required to reject: the raiser reads it and may appeal.",
    )
    what_is_happening = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    who_is_affected = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    what_is_being_done = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    what_is_asked = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    next_update = forms.CharField(
        required=False, max_length=ExecutiveBrief._meta.get_field("next_update").max_length
    )

    def __init__(self, *args, brief: ExecutiveBrief | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in LABELS.items():
            self.fields[name].label = label
            if brief is not None and not self.is_bound:
                self.fields[name].initial = getattr(brief, name)
        if brief is None:
            for name in LABELS:
                del self.fields[name]

    @property
    def approves(self) -> bool:
        return self.cleaned_data.get("decision") == "approve"

    def brief_edits(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in LABELS if name in self.fields}


class ReasonForm(BootstrapMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Why")


class FreezeExceptionForm(BootstrapMixin, forms.Form):
    change_summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        label="The change",
        help_text="What you need to change during the freeze, why it cannot wait, its risk and how you would roll it back.",
    )
