"""Forms for the contact pages. They parse input; the rules live in the services.

Field-level checks here (a phone number's shape, an end before a start) only exist so the
admin sees the message beside the right field at once; the services check the same rules
again and their ValidationErrors are put back on the form by ``apps.common.forms.apply_errors``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError

from apps.common.forms import (
    DATETIME_INPUT_FORMATS,
    BootstrapMixin,
    DateInput,
    DateTimeInput,
    TimeInput,
    timezone_choices,
)
from apps.common.moments import day_to_utc, to_utc
from apps.contacts.models import ContactMethod, Person, Rotation, Team
from apps.contacts.validation import validate_contact_value

REASON_HELP = "Kept in the history and the audit trail beside the change."


class PersonForm(BootstrapMixin, forms.Form):
    full_name = forms.CharField(max_length=150)
    email = forms.EmailField(max_length=254)
    title = forms.CharField(max_length=150)
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="— no team —")
    manager = forms.ModelChoiceField(
        Person.objects.all(), required=False, empty_label="— nobody (top of the organisation) —"
    )
    authority_rank = forms.IntegerField(
        min_value=0,
        max_value=32767,
        initial=10,
        help_text="Higher is more authority; escalation levels must climb strictly.",
    )
    timezone = forms.ChoiceField(initial="UTC")
    reason = forms.CharField(
        max_length=200, required=False, label="Reason for the change", help_text=REASON_HELP
    )

    def __init__(self, *args, person: Person | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()
        if person is not None:
            self.fields["manager"].queryset = Person.objects.exclude(pk=person.pk)

    def person_fields(self) -> dict:
        """The person's fields as ``people.person_save`` takes them (``is_valid()`` first)."""
        return {k: v for k, v in self.cleaned_data.items() if k != "reason"}

    @staticmethod
    def initial_for(person: Person) -> dict:
        return {
            "full_name": person.full_name,
            "email": person.email,
            "title": person.title,
            "team": person.team_id,
            "manager": person.manager_id,
            "authority_rank": person.authority_rank,
            "timezone": person.timezone,
        }


class ContactMethodForm(BootstrapMixin, forms.Form):
    """One contact method; a row with no value is ignored, so clearing a value removes it."""

    kind = forms.ChoiceField(choices=ContactMethod.Kind.choices)
    value = forms.CharField(max_length=500, required=False)
    priority = forms.IntegerField(
        min_value=1,
        max_value=99,
        required=False,
        help_text="1 is tried first; leave as is to keep the order.",
    )

    def clean(self):
        data = super().clean()
        if data.get("value") and data.get("kind"):
            try:
                validate_contact_value(data["kind"], data["value"].strip())
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class BaseContactMethodFormSet(forms.BaseFormSet):
    def methods(self) -> list[tuple[str, str]]:
        """[(kind, value)] in priority order; rows without a value dropped; ties keep row order."""
        rows = []
        for index, form in enumerate(self.forms):
            data = form.cleaned_data
            if data.get("value", "").strip():
                rows.append((data.get("priority") or 1000, index, data["kind"], data["value"].strip()))
        return [(kind, value) for _, _, kind, value in sorted(rows)]


ContactMethodFormSet = forms.formset_factory(
    ContactMethodForm,
    formset=BaseContactMethodFormSet,
    extra=2,
    max_num=10,
    validate_max=True,
    absolute_max=10,
)


def contact_method_initial(person: Person | None) -> list[dict]:
    if person is None:
        return []
    return [{"kind": m.kind, "value": m.value, "priority": m.priority} for m in person.contact_methods.all()]


class BackupForm(BootstrapMixin, forms.Form):
    backup = forms.ModelChoiceField(Person.objects.all(), help_text="Who stands in for this person.")
    starts_on = forms.DateField(widget=DateInput())
    ends_on = forms.DateField(widget=DateInput(), required=False, help_text="Leave empty for open-ended.")
    reason = forms.CharField(max_length=200, required=False, help_text="e.g. parental leave, holiday cover.")

    def __init__(self, *args, person: Person, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["backup"].queryset = Person.objects.exclude(pk=person.pk)


class RotationForm(BootstrapMixin, forms.Form):
    team = forms.ModelChoiceField(Team.objects.all())
    name = forms.CharField(max_length=120)
    timezone = forms.ChoiceField(
        initial="UTC", help_text="Hand-offs happen at the hand-off time in this timezone."
    )
    shift_hours = forms.IntegerField(min_value=1, max_value=24 * 366, initial=168, help_text="168 = a week.")
    handoff_time = forms.TimeField(widget=TimeInput(), initial=time(9, 0), label="Hand-off time")
    starts_on = forms.DateField(
        widget=DateInput(), help_text="The first shift starts this day at the hand-off time."
    )
    ends_on = forms.DateField(
        widget=DateInput(), required=False, help_text="Leave empty for a rotation that runs on."
    )
    is_primary = forms.BooleanField(
        required=False,
        initial=True,
        label="Primary rotation of the team",
        help_text="The primary rotation answers “who is on call for this team”.",
    )
    reason = forms.CharField(
        max_length=200, required=False, label="Reason for the change", help_text=REASON_HELP
    )

    def __init__(self, *args, rotation=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rotation = rotation
        self.fields["timezone"].choices = timezone_choices()

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "A rotation must end on or after the day it starts.")
        self._check_range(data)
        team = data.get("team")
        if team and data.get("is_primary"):
            # The database's conditional unique constraint would only say "constraint violated".
            other = team.rotations.filter(is_primary=True)
            if self.rotation is not None and self.rotation.pk:
                other = other.exclude(pk=self.rotation.pk)
            if (first := other.first()) is not None:
                self.add_error("is_primary", f"{team.name} already has a primary rotation: {first.name}.")
        return data

    def _check_range(self, data: dict) -> None:
        """The first hand-off and the end of the last day are instants every on-call page
        computes from; both must be ones the portal can store, in the rotation's timezone."""
        zone, clock = data.get("timezone"), data.get("handoff_time")
        if not zone or clock is None:
            return
        edges = [
            ("starts_on", clock, timedelta(0), "The first hand-off"),
            ("ends_on", time(0), timedelta(days=1), "The end of the last day"),
        ]
        for key, at, after, what in edges:
            if data.get(key) and key not in self.errors:
                try:
                    day_to_utc(data[key], at, zone, what=what, after=after)
                except ValidationError as exc:
                    self.add_error(key, exc)

    def apply_to(self, rotation: Rotation) -> Rotation:
        """Copy the parsed values onto ``rotation`` (not saved: ``services.rotation_save`` saves)."""
        for key, value in self.cleaned_data.items():
            if key != "reason":
                setattr(rotation, key, value)
        return rotation

    @staticmethod
    def initial_for(rotation) -> dict:
        return {
            "team": rotation.team_id,
            "name": rotation.name,
            "timezone": rotation.timezone,
            "shift_hours": rotation.shift_hours,
            "handoff_time": rotation.handoff_time,
            "starts_on": rotation.starts_on,
            "ends_on": rotation.ends_on,
            "is_primary": rotation.is_primary,
        }


class RotationMemberForm(BootstrapMixin, forms.Form):
    """One member row. A plain ChoiceField with choices built once for the whole formset:
    a ModelChoiceField would query the people table again for every row."""

    person = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    position = forms.IntegerField(min_value=1, max_value=999, required=False)

    def __init__(self, *args, person_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "—"), *person_choices]


class BaseRotationMemberFormSet(forms.BaseFormSet):
    def person_ids(self) -> list[int]:
        rows = [
            (form.cleaned_data.get("position") or 1000, index, form.cleaned_data["person"])
            for index, form in enumerate(self.forms)
            if form.cleaned_data.get("person")
        ]
        return [person_id for _, _, person_id in sorted(rows)]


RotationMemberFormSet = forms.formset_factory(
    RotationMemberForm,
    formset=BaseRotationMemberFormSet,
    extra=3,
    max_num=100,
    validate_max=True,
    absolute_max=100,
)


def person_choices() -> list[tuple[int, str]]:
    return [(p.pk, f"{p.full_name} — {p.title}") for p in Person.objects.only("pk", "full_name", "title")]


class OverrideForm(BootstrapMixin, forms.Form):
    """Times are read in the rotation's timezone (the view activates it while validating)."""

    person = forms.ModelChoiceField(Person.objects.all(), help_text="Who covers the rotation.")
    starts_at = forms.DateTimeField(widget=DateTimeInput(), input_formats=DATETIME_INPUT_FORMATS)
    ends_at = forms.DateTimeField(widget=DateTimeInput(), input_formats=DATETIME_INPUT_FORMATS)
    reason = forms.CharField(max_length=200, help_text="Swap, sickness, holiday…")

    def clean(self):
        data = super().clean()
        for key in ("starts_at", "ends_at"):
            if isinstance(data.get(key), datetime):
                try:
                    data[key] = to_utc(data[key], what=self[key].label)
                except ValidationError as exc:
                    self.add_error(key, exc)
        return data


class OnCallAtForm(BootstrapMixin, forms.Form):
    """“Who is on call at …?”: a local date and time in a chosen timezone."""

    date = forms.DateField(widget=DateInput())
    time = forms.TimeField(widget=TimeInput(), initial=time(9, 0))
    tz = forms.ChoiceField(label="Timezone", initial="UTC")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tz"].choices = timezone_choices()

    def clean(self):
        data = super().clean()
        if data.get("date") and data.get("time") is not None and data.get("tz"):
            try:
                data["moment"] = day_to_utc(data["date"], data["time"], data["tz"], what="The chosen time")
            except ValidationError as exc:
                self.add_error("date", exc)
        return data

    def moment(self) -> datetime:
        """The chosen local time as a UTC instant (``is_valid()`` first)."""
        return self.cleaned_data["moment"]


class ImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, with a header row; the columns of the export. At most 2 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    MAX_BYTES = 2 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 2 MB; split it into several imports.")
        return upload
