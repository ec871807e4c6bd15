"""The business calendar form: weekly hours typed as intervals per weekday, public holidays
and custom closures, checked so that business-hours clocks always run out."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.common.forms import (
    DATETIME_INPUT_FORMATS,
    BootstrapMixin,
    DateTimeInput,
    TimeInput,
    reason_field,
    storable_instant,
    timezone_choices,
)
from apps.policies.calendar import (
    END_OF_DAY,
    MAX_SEARCH_DAYS,
    WEEKDAY_NAMES,
    CalendarError,
    WorkingCalendar,
    parse_weekly,
)
from apps.policies.models import BusinessCalendar

INTERVALS_PER_DAY = 2


class EndTimeInput(TimeInput):
    """The end of the day is written 24:00, as the admin typed it (times are typed as text)."""

    def format_value(self, value):
        if value == END_OF_DAY or (isinstance(value, str) and value.strip() in ("24:00", "24:00:00")):
            return "24:00"
        return super().format_value(value)


class EndTimeField(forms.TimeField):
    """An interval's end. 24:00 is midnight at the end of the day, and so is 00:00, which is
    what the time picker offers for it (an interval could not end at the day's start anyway)."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip() in ("24:00", "24:00:00"):
            return END_OF_DAY
        parsed = super().to_python(value)
        return END_OF_DAY if parsed == time(0) else parsed


def hours_field_name(day: int, slot: int, edge: str) -> str:
    return f"d{day}_{slot}_{edge}"


class CalendarForm(BootstrapMixin, forms.Form):
    name = forms.CharField(max_length=120)
    timezone = forms.ChoiceField(initial="UTC", help_text="Working hours are local times in this timezone.")
    always_open = forms.BooleanField(
        required=False, label="Open 24x7", help_text="Every minute counts; working hours are then ignored."
    )
    holiday_country = forms.CharField(
        max_length=2,
        required=False,
        label="Public holidays of",
        help_text="ISO country code, e.g. GB, DE, US.",
    )
    holiday_subdivision = forms.CharField(
        max_length=10, required=False, label="Region", help_text="Optional, e.g. ENG, SCT, BY, CA."
    )
    closures = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "e.g. 2026-12-24 Christmas Eve"}),
        label="Custom closures",
        help_text="One per line as “YYYY-MM-DD reason”: days the office is closed beyond public holidays.",
    )
    change_reason = reason_field()
    effective_at = forms.DateTimeField(
        required=False,
        widget=DateTimeInput(),
        input_formats=DATETIME_INPUT_FORMATS,
        label="Takes effect",
        help_text="Leave empty to apply the change now.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()
        zone = timezone.get_current_timezone_name()
        self.fields["effective_at"].help_text += f" Or a moment in your time ({zone}), as 2027-01-01 00:00."
        for day, day_name in enumerate(WEEKDAY_NAMES):
            for slot in range(1, INTERVALS_PER_DAY + 1):
                for edge in ("start", "end"):
                    label = f"{day_name} interval {slot} {'from' if edge == 'start' else 'until'}"
                    field_class, widget, latest = (
                        (forms.TimeField, TimeInput, "23:59")
                        if edge == "start"
                        else (EndTimeField, EndTimeInput, "24:00")
                    )
                    self.fields[hours_field_name(day, slot, edge)] = field_class(
                        required=False,
                        widget=widget(attrs={"class": "form-control form-control-sm"}),
                        label=label,
                        error_messages={"invalid": f"{label}: enter a time from 00:00 to {latest}."},
                    )

    def clean_effective_at(self):
        return storable_instant(self, "effective_at")

    @staticmethod
    def initial_for(calendar: BusinessCalendar | None) -> dict:
        """The calendar's values; a new calendar starts as office hours, Monday to Friday."""
        if calendar is None:
            initial = {"timezone": "UTC"}
            for day in range(5):
                initial[hours_field_name(day, 1, "start")] = "09:00"
                initial[hours_field_name(day, 1, "end")] = "17:00"
            return initial
        initial = {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "always_open": calendar.always_open,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "closures": "\n".join(f"{c.date:%Y-%m-%d} {c.reason}" for c in calendar.closures.all()),
        }
        for key, spans in (calendar.weekly_hours or {}).items():
            for slot, (start, end) in enumerate(spans[:INTERVALS_PER_DAY], start=1):
                initial[hours_field_name(int(key), slot, "start")] = start
                initial[hours_field_name(int(key), slot, "end")] = end
        return initial

    def hours_rows(self) -> list[dict]:
        return [
            {
                "day": name,
                "slots": [
                    (self[hours_field_name(day, slot, "start")], self[hours_field_name(day, slot, "end")])
                    for slot in range(1, INTERVALS_PER_DAY + 1)
                ],
            }
            for day, name in enumerate(WEEKDAY_NAMES)
        ]

    def clean_holiday_country(self) -> str:
        return self.cleaned_data["holiday_country"].strip().upper()

    def clean_holiday_subdivision(self) -> str:
        return self.cleaned_data["holiday_subdivision"].strip().upper()

    def clean_closures(self) -> list[tuple[date, str]]:
        closures, errors, seen = [], [], set()
        for number, line in enumerate(self.cleaned_data["closures"].splitlines(), start=1):
            if not line.strip():
                continue
            day_text, _, why = line.strip().partition(" ")
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                errors.append(f"Line {number}: “{day_text}” is not a date; write YYYY-MM-DD then the reason.")
                continue
            why = why.strip()
            if not why:
                errors.append(f"Line {number}: say why the office is closed on {day}.")
            elif len(why) > 200:
                errors.append(f"Line {number}: the reason is longer than 200 characters.")
            elif day in seen:
                errors.append(f"Line {number}: {day} is listed twice.")
            else:
                seen.add(day)
                closures.append((day, why))
        if errors:
            raise ValidationError(errors)
        return closures

    def clean(self):
        data = super().clean()
        for day, name in enumerate(WEEKDAY_NAMES):
            for slot in range(1, INTERVALS_PER_DAY + 1):
                start_key, end_key = hours_field_name(day, slot, "start"), hours_field_name(day, slot, "end")
                start, end = data.get(start_key), data.get(end_key)
                if (
                    (start is None) != (end is None)
                    and start_key not in self.errors
                    and end_key not in self.errors
                ):
                    missing = end_key if end is None else start_key
                    self.add_error(missing, f"{name}: give both the start and the end of interval {slot}.")
                elif start is not None and end is not None and end <= start:
                    self.add_error(end_key, f"{name}: {start:%H:%M}–{end:%H:%M} ends before it starts.")
        self._check_closed_stretch(data)
        return data

    def _check_closed_stretch(self, data: dict) -> None:
        """Closures that stop business-hours clocks for years would leave thresholds that never
        run out; say so beside the closures (holidays left out: they only add a few days)."""
        if set(self.errors) - {"change_reason"} or data.get("always_open") or not data.get("closures"):
            return
        try:
            cal = WorkingCalendar(
                tz=ZoneInfo(data["timezone"]),
                weekly=parse_weekly(self.weekly_hours()),
                closures=frozenset(day for day, _ in data["closures"]),
            )
        except CalendarError:
            return  # no working hours at all: the calendar's own check names that
        since = cal.closed_stretch()
        if since is not None:
            self.add_error(
                "closures",
                f"These closures leave no working time for more than {MAX_SEARCH_DAYS} days after "
                f"{since:%Y-%m-%d}: business-hours clocks would never run out.",
            )

    def weekly_hours(self) -> dict[str, list[list[str]]]:
        weekly: dict[str, list[list[str]]] = {}
        for day in range(7):
            spans = []
            for slot in range(1, INTERVALS_PER_DAY + 1):
                start = self.cleaned_data.get(hours_field_name(day, slot, "start"))
                end = self.cleaned_data.get(hours_field_name(day, slot, "end"))
                if start is not None and end is not None:
                    spans.append([f"{start:%H:%M}", f"{end:%H:%M}"])
            if spans:
                weekly[str(day)] = sorted(spans)
        return weekly

    def apply_to(self, calendar: BusinessCalendar) -> BusinessCalendar:
        data = self.cleaned_data
        for key in ("name", "timezone", "always_open", "holiday_country", "holiday_subdivision"):
            setattr(calendar, key, data[key])
        calendar.weekly_hours = self.weekly_hours()
        return calendar


class CalendarChangeCancelForm(forms.Form):
    """Why a planned calendar change is withdrawn (kept in its history and the audit trail)."""

    reason = forms.CharField(max_length=500, error_messages={"required": "Say why you cancel it."})
