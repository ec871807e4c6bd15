"""Maintenance windows and change freezes: a named period over some services, typed as local
times in a chosen timezone."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.common.fields import ModelMultipleChoiceField
from apps.common.forms import (
    DATETIME_INPUT_FORMATS,
    REASON_HELP,
    REASON_LABEL,
    BootstrapMixin,
    DateTimeInput,
    timezone_choices,
)
from apps.common.moments import to_utc
from apps.policies.models import ChangeFreeze, MaintenanceWindow, Service


class PeriodForm(BootstrapMixin, forms.Form):
    """A period over some services. Times are typed as local times in the chosen timezone.

    Services, the order of start and end, and the change reason are checked by the service
    functions (``apps.policies.windows``), which report every problem at once.
    """

    name = forms.CharField(max_length=150)
    services = ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Hold Ctrl or ⌘ to choose several.",
    )
    starts_at = forms.DateTimeField(widget=DateTimeInput(), input_formats=DATETIME_INPUT_FORMATS)
    ends_at = forms.DateTimeField(widget=DateTimeInput(), input_formats=DATETIME_INPUT_FORMATS)
    tz = forms.ChoiceField(
        label="Timezone", initial="UTC", help_text="The start and end are local times here."
    )
    change_reason = forms.CharField(label=REASON_LABEL, max_length=500, required=False, help_text=REASON_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.order_by("name")
        self.fields["tz"].choices = timezone_choices()

    def clean(self):
        """The typed times read in the chosen timezone, as UTC instants; one the portal
        cannot store (9999-12-31 23:59 in Pago Pago is past the year 9999 in UTC) is
        refused beside its field."""
        data = super().clean()
        zone = data.get("tz")
        if zone:
            for key in ("starts_at", "ends_at"):
                if isinstance(data.get(key), datetime):
                    try:
                        data[key] = to_utc(data[key], zone, what=self[key].label)
                    except ValidationError as exc:
                        self.add_error(key, exc)
        return data


class MaintenanceWindowForm(PeriodForm):
    defers_clocks = forms.BooleanField(
        required=False,
        initial=True,
        label="Defers escalation clocks",
        help_text="Deadlines due inside wait until it ends.",
    )
    field_order = ["name", "services", "starts_at", "ends_at", "tz", "defers_clocks", "change_reason"]

    def build(self) -> MaintenanceWindow:
        data = self.cleaned_data
        return MaintenanceWindow(
            name=data["name"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            defers_clocks=data["defers_clocks"],
        )


class ChangeFreezeForm(PeriodForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why the freeze",
        help_text="e.g. year-end trading, a migration.",
    )
    field_order = ["name", "services", "starts_at", "ends_at", "tz", "reason", "change_reason"]

    def build(self) -> ChangeFreeze:
        data = self.cleaned_data
        return ChangeFreeze(
            name=data["name"], starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"]
        )


def default_period_start() -> datetime:
    """Tomorrow 22:00 (read in the zone the form offers first, the reader's): a typical start
    for planned work, and never in the past."""
    return datetime.combine(timezone.localdate() + timedelta(days=1), time(22, 0))
