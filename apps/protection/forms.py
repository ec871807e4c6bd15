from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from apps.common.fields import ModelMultipleChoiceField
from apps.common.forms import BootstrapMixin, DateInput
from apps.protection.models import AdverseAction, Mode, Status

LIMIT = 5000
ATTACHMENT_HELP = (
    "Optional, one file of at most 5 MB. Files can name you without your noticing: a document's "
    "author property, a photo's location. Remove them first if that matters."
)


def attachment_field() -> forms.FileField:
    return forms.FileField(label="Attach a file", required=False, help_text=ATTACHMENT_HELP)


class ReportForm(BootstrapMixin, forms.Form):
    mode = forms.ChoiceField(
        label="How do you want to report?",
        choices=[
            (
                Mode.ANONYMOUS,
                "Anonymously: nobody, not even the reviewers, learns who you are; you get a receipt key",
            ),
            (
                Mode.CONFIDENTIAL,
                "Confidentially: the portal knows it is you; reviewers see your name only if a second officer approves",
            ),
            (Mode.NAMED, "Named: the reviewers see your name"),
        ],
        widget=forms.RadioSelect,
        initial=Mode.ANONYMOUS,
    )
    what_happened = forms.CharField(
        label="What happened?",
        max_length=LIMIT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=f"What was done to you, by whom, when, and why you think it is because you spoke up (at most {LIMIT} characters).",
    )
    people_named = ModelMultipleChoiceField(
        label="People involved (optional)",
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="They, their managers and the people of the escalation will never review your report.",
    )
    escalation = forms.IntegerField(widget=forms.HiddenInput, required=False)
    attachment = attachment_field()

    def __init__(self, *args, signed_in: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if signed_in:
            self.fields["people_named"].queryset = (
                get_user_model()
                .objects.filter(is_active=True)
                .order_by("first_name", "last_name", "username")
            )
        else:
            del self.fields["people_named"]
            self.fields["mode"].choices = self.fields["mode"].choices[:1]


class KeyForm(BootstrapMixin, forms.Form):
    key = forms.CharField(label="Receipt key", max_length=64, widget=forms.PasswordInput(render_value=True))


class ReplyForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label="Your message", max_length=LIMIT, widget=forms.Textarea(attrs={"rows": 4}))
    attachment = attachment_field()


class KeyReplyForm(KeyForm, ReplyForm):
    pass


class TextForm(BootstrapMixin, forms.Form):
    text = forms.CharField(label="Text", max_length=LIMIT, widget=forms.Textarea(attrs={"rows": 3}))


class StatusForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label="New status", choices=[c for c in Status.choices if c[0] != Status.RECEIVED]
    )
    text = forms.CharField(label="Note (optional)", max_length=LIMIT, required=False)


class AssignForm(BootstrapMixin, forms.Form):
    reviewer = forms.ModelChoiceField(label="Reviewer", queryset=get_user_model().objects.none())

    def __init__(self, *args, officers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if officers is not None:
            self.fields["reviewer"].queryset = officers


class DisclosureDecisionForm(BootstrapMixin, forms.Form):
    approve = forms.TypedChoiceField(
        label="Decision", choices=[("yes", "Approve"), ("no", "Deny")], coerce=lambda v: v == "yes"
    )
    reason = forms.CharField(label="Reason", max_length=LIMIT, widget=forms.Textarea(attrs={"rows": 2}))
    tell_reporter = forms.BooleanField(
        label="Tell the reporter their identity was shown", required=False, initial=True
    )
    not_told_reason = forms.CharField(label="If not telling them, why", max_length=LIMIT, required=False)


class AdverseActionForm(BootstrapMixin, forms.Form):
    person = forms.ModelChoiceField(
        label="Person affected", queryset=get_user_model().objects.filter(is_active=True)
    )
    actor = forms.ModelChoiceField(
        label="Who took the action", queryset=get_user_model().objects.filter(is_active=True), required=False
    )
    kind = forms.ChoiceField(label="Kind of action", choices=AdverseAction.Kind.choices)
    takes_effect_on = forms.DateField(label="Takes effect on", widget=DateInput())
    reason = forms.CharField(
        label="Documented reason", max_length=LIMIT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SignOffForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label="Why it may take effect", max_length=LIMIT)


class CloseFlagForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label="What was done", max_length=LIMIT)


class CheckInForm(BootstrapMixin, forms.Form):
    check_in = forms.ChoiceField(widget=forms.HiddenInput)
    answer = forms.TypedChoiceField(
        label="Is anything happening to you because you escalated?",
        choices=[("no", "No"), ("yes", "Yes")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label="If yes, what? (optional)",
        max_length=LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["check_in"].choices = choices
        if choices:
            self.fields["check_in"].initial = choices[0][0]
