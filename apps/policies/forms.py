"""Forms for the policy pages. They parse what the browser sends into the shapes the services
take (``LevelSpec``, ``ThresholdSpec``, weekly hours, closures); the rules themselves live in
``apps.policies.services`` and the models, whose ``ValidationError``\\s the views put back on
these forms. A check appears here only where the admin needs the message beside one field
(a target missing for the chosen kind, a malformed line in a textarea).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.roles import Role
from apps.common.fields import ModelMultipleChoiceField
from apps.common.forms import (
    DATETIME_INPUT_FORMATS,
    REASON_HELP,
    REASON_LABEL,
    BootstrapMixin,
    DateInput,
    DateTimeInput,
    TimeInput,
    reason_field,
    timezone_choices,
)
from apps.common.moments import to_utc
from apps.policies.calendar import (
    END_OF_DAY,
    MAX_BUSINESS_DURATION,
    MAX_SEARCH_DAYS,
    CalendarError,
    WorkingCalendar,
    parse_weekly,
)
from apps.policies.models import (
    BusinessCalendar,
    Category,
    ChangeFreeze,
    CustomerTier,
    EscalationLevel,
    EscalationPolicy,
    MaintenanceWindow,
    ResponseThreshold,
    Service,
    Severity,
)
from apps.policies.services import LevelSpec, ThresholdSpec

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# What the policy form sets on the model (slug, services and the reason are handled apart).
POLICY_FIELDS = (
    "name category description owner calendar review_interval_days next_review_on active "
    "de_escalation_criteria extra_required_fields"
).split()


# --- policy ---------------------------------------------------------------------------------


class PolicyForm(BootstrapMixin, forms.Form):
    name = forms.CharField(max_length=150)
    slug = forms.SlugField(
        max_length=80,
        required=False,
        help_text="Short name used in links; made from the name when left empty.",
    )
    category = forms.ChoiceField(choices=Category.choices)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="When this policy applies and what it is for."
    )
    owner = forms.ModelChoiceField(
        queryset=None, help_text="Keeps the policy current; reminded when its review is due."
    )
    calendar = forms.ModelChoiceField(
        queryset=None, help_text="Decides when business-hours clocks run.", label="Business calendar"
    )
    services = ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="The services this policy covers (hold Ctrl or ⌘ to choose several).",
    )
    review_interval_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=180, label="Review every (days)"
    )
    next_review_on = forms.DateField(widget=DateInput(), label="Next review on")
    active = forms.BooleanField(required=False, initial=True, help_text="Retired policies are never picked.")
    de_escalation_criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="De-escalation criteria",
        help_text="One per line; each must be confirmed before an escalation can be resolved.",
    )
    extra_required_fields = forms.CharField(
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "e.g. data_exposed | Was personal data exposed? | Say which data",
            }
        ),
        label="Extra required fields",
        help_text="One per line as “name | label | help”; the name is lowercase letters, digits and "
        "underscores. Asked of the raiser on top of the fixed fields.",
    )
    change_reason = reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.contacts.models import Person

        self.fields["owner"].queryset = Person.objects.order_by("full_name")
        self.fields["calendar"].queryset = BusinessCalendar.objects.order_by("name")
        self.fields["services"].queryset = Service.objects.order_by("name")
        if not self.is_bound and "next_review_on" not in self.initial:
            self.initial["next_review_on"] = timezone.localdate() + timedelta(days=180)

    @staticmethod
    def initial_for(policy: EscalationPolicy) -> dict:
        return {
            "name": policy.name,
            "slug": policy.slug,
            "category": policy.category,
            "description": policy.description,
            "owner": policy.owner_id,
            "calendar": policy.calendar_id,
            "services": [s.pk for s in policy.services.all()],
            "review_interval_days": policy.review_interval_days,
            "next_review_on": policy.next_review_on,
            "active": policy.active,
            "de_escalation_criteria": "\n".join(policy.de_escalation_criteria or []),
            "extra_required_fields": "\n".join(
                " | ".join(filter(None, [f.get("name", ""), f.get("label", ""), f.get("help", "")]))
                for f in policy.extra_required_fields or []
            ),
        }

    def clean_de_escalation_criteria(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["de_escalation_criteria"].splitlines() if line.strip()
        ]

    def clean_extra_required_fields(self) -> list[dict]:
        fields, errors, seen = [], [], set()
        for number, line in enumerate(self.cleaned_data["extra_required_fields"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            name, label = parts[0], parts[1] if len(parts) > 1 else ""
            help_text = " | ".join(parts[2:]).strip()
            if not name or not label:
                errors.append(f"Line {number}: write “name | label | help” — a name and a label are needed.")
            elif not FIELD_NAME.match(name):
                errors.append(
                    f"Line {number}: the name “{name}” must start with a letter and use lowercase letters, "
                    "digits and underscores only."
                )
            elif name in seen:
                errors.append(f"Line {number}: the name “{name}” is used twice; names must be unique.")
            else:
                seen.add(name)
                fields.append({"name": name, "label": label, "help": help_text})
        if errors:
            raise ValidationError(errors)
        return fields

    def apply_to(self, policy: EscalationPolicy) -> EscalationPolicy:
        """Copy the parsed values onto ``policy`` (not saved: ``services.policy_save`` saves)."""
        data = self.cleaned_data
        for key in POLICY_FIELDS:
            if key in data:
                setattr(policy, key, data[key])
        policy.slug = data.get("slug") or policy.slug or slugify(data.get("name", ""))[:80]
        return policy


def _hours(value: timedelta) -> Decimal:
    """4 h as 4, 90 min as 1.5: what the admin typed, without trailing zeros."""
    hours = Decimal(value.total_seconds() / 3600).quantize(Decimal("0.01"))
    return hours.to_integral_value() if hours == hours.to_integral_value() else hours.normalize()


class LevelForm(BootstrapMixin, forms.Form):
    """One rung of the chain. The three target selects use choices built once for the whole
    formset (a ModelChoiceField would query people, teams and rotations again for every row);
    only the one matching the target kind is used."""

    order = forms.IntegerField(min_value=1, max_value=99, required=False)
    name = forms.CharField(max_length=120, help_text="e.g. “Engineering manager”.")
    target_kind = forms.ChoiceField(
        choices=EscalationLevel.TargetKind.choices, initial=EscalationLevel.TargetKind.PERSON, label="Reaches"
    )
    target_person = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Person")
    target_team = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Team (its on-call)"
    )
    target_rotation = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Rotation")
    authority_rank = forms.IntegerField(
        min_value=0, max_value=32767, label="Authority", help_text="Must be higher than the level below."
    )
    requires_approval = forms.BooleanField(
        required=False,
        label="Requires approval",
        help_text="Executive level: reached only through a manager's approval.",
    )
    approval_timeout_hours = forms.DecimalField(
        min_value=Decimal("0.25"),
        max_value=Decimal(24 * 30),
        decimal_places=2,
        initial=Decimal(4),
        label="Approval timeout (hours)",
        help_text="With no decision by then, the approver's backup, then their manager, is asked.",
    )
    trigger_roles = forms.MultipleChoiceField(
        choices=[(r.value, r.label) for r in Role],
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Who may escalate to it by hand",
    )

    TARGET_FIELDS = {"person": "target_person", "team_on_call": "target_team", "rotation": "target_rotation"}

    def __init__(self, *args, target_choices: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = target_choices or {}
        for name in self.TARGET_FIELDS.values():
            self.fields[name].choices = [("", "—"), *choices.get(name, [])]

    def clean(self):
        data = super().clean()
        wanted = self.TARGET_FIELDS.get(data.get("target_kind"))
        if wanted and not data.get(wanted) and wanted not in self.errors:
            kind = dict(EscalationLevel.TargetKind.choices)[data["target_kind"]].lower()
            self.add_error(wanted, f"Choose {kind} this level reaches.")
        return data

    @staticmethod
    def initial_for(level: EscalationLevel) -> dict:
        return {
            "order": level.order,
            "name": level.name,
            "target_kind": level.target_kind,
            "target_person": level.target_person_id,
            "target_team": level.target_team_id,
            "target_rotation": level.target_rotation_id,
            "authority_rank": level.authority_rank,
            "requires_approval": level.requires_approval,
            "approval_timeout_hours": Decimal(level.approval_timeout.total_seconds() / 3600).quantize(
                Decimal("0.01")
            ),
            "trigger_roles": list(level.trigger_roles or []),
        }


class BaseLevelFormSet(forms.BaseFormSet):
    """Rows left empty are ignored; ticking “remove” drops a level. Levels are numbered 1, 2, 3…
    in the order given (a row without a number goes last), so removing level 2 of 4 needs no
    renumbering by hand; two rows with the same number are refused as ambiguous."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove this level"
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def filled_forms(self) -> list[forms.Form]:
        return [
            f
            for f in self.forms
            if f.has_changed() or f.initial
            if not (self.can_delete and f.cleaned_data.get("DELETE"))
        ]

    def clean(self):
        counts = self.management_form.cleaned_data
        if not 0 <= counts.get("INITIAL_FORMS", 0) <= counts.get("TOTAL_FORMS", 0):
            # Django accepts any integer here; a negative count turns the policy's own levels
            # into optional rows with no data (a KeyError when saving).
            raise ValidationError("The level rows were changed on the way: open the page again.")
        if any(self.errors):
            return
        seen: dict[int, str] = {}
        for form in self.filled_forms():
            order = form.cleaned_data.get("order")
            if order is None:
                continue
            if order in seen:
                raise ValidationError(
                    f"Two levels are both number {order} ({seen[order]} and {form.cleaned_data.get('name')}): "
                    "give each level its own place in the chain."
                )
            seen[order] = form.cleaned_data.get("name", "")

    def target_ids(self) -> dict[str, set[int]]:
        ids: dict[str, set[int]] = {name: set() for name in LevelForm.TARGET_FIELDS.values()}
        for form in self.filled_forms():
            wanted = LevelForm.TARGET_FIELDS.get(form.cleaned_data.get("target_kind"))
            if wanted and form.cleaned_data.get(wanted):
                ids[wanted].add(form.cleaned_data[wanted])
        return ids

    def specs(self, targets: dict[str, dict[int, object]]) -> list[LevelSpec]:
        """``LevelSpec``\\s numbered from 1; ``targets`` maps each target field to {id: object}."""
        rows = sorted(
            enumerate(self.filled_forms()),
            key=lambda pair: (pair[1].cleaned_data.get("order") or 1000, pair[0]),
        )
        specs = []
        for number, (_, form) in enumerate(rows, start=1):
            data = form.cleaned_data
            wanted = LevelForm.TARGET_FIELDS[data["target_kind"]]
            specs.append(
                LevelSpec(
                    order=number,
                    name=data["name"].strip(),
                    target_kind=data["target_kind"],
                    authority_rank=data["authority_rank"],
                    **{wanted: targets[wanted].get(data[wanted])},
                    requires_approval=data["requires_approval"],
                    approval_timeout=timedelta(hours=float(data["approval_timeout_hours"])),
                    trigger_roles=list(data["trigger_roles"]),
                )
            )
        return specs


def _level_formset(extra: int):
    return forms.formset_factory(
        LevelForm, formset=BaseLevelFormSet, extra=extra, can_delete=True, max_num=20, validate_max=True, absolute_max=20
    )


# A new policy offers three empty rows; an existing one its levels and one more.
NewLevelFormSet, LevelFormSet = _level_formset(3), _level_formset(1)


def level_formset(*, new: bool):
    return NewLevelFormSet if new else LevelFormSet


UNITS = [("min", "minutes"), ("h", "hours")]


def _split(value: timedelta | None) -> tuple[int | None, str]:
    if value is None:
        return None, "min"
    minutes = int(value.total_seconds() // 60)
    return (minutes // 60, "h") if minutes % 60 == 0 else (minutes, "min")


def _duration(amount: int | None, unit: str) -> timedelta | None:
    if amount is None:
        return None
    return timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)


def threshold_too_long(label: str) -> str:
    hours = int(MAX_BUSINESS_DURATION.total_seconds() // 3600)
    return f"{label} can be at most {hours:,} hours ({MAX_BUSINESS_DURATION.days} days)."


def threshold_amount_field(label: str) -> forms.IntegerField:
    """An amount in minutes or hours; the limit is MAX_BUSINESS_DURATION, checked in ``clean``
    once the unit is known (the most minutes it can be is the bound here)."""
    return forms.IntegerField(
        min_value=1,
        max_value=int(MAX_BUSINESS_DURATION.total_seconds() // 60),
        required=False,
        label=label,
        error_messages={"max_value": threshold_too_long(label)},
    )


class ThresholdForm(BootstrapMixin, forms.Form):
    """One cell of the severity x customer tier matrix. A cell left empty is reported by the
    service as missing (every cell is required), so the rule is named in one place."""

    severity = forms.ChoiceField(choices=Severity.choices, widget=forms.HiddenInput)
    customer_tier = forms.ChoiceField(choices=CustomerTier.choices, widget=forms.HiddenInput)
    ack_amount = threshold_amount_field("Acknowledge within")
    ack_unit = forms.ChoiceField(choices=UNITS, label="unit")
    resolve_amount = threshold_amount_field("Resolve within")
    resolve_unit = forms.ChoiceField(choices=UNITS, label="unit")
    business_hours_only = forms.BooleanField(required=False, label="Business hours only")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("ack_amount", "resolve_amount"):
            self.fields[name].widget.attrs["class"] += " form-control-sm"
        for name in ("ack_unit", "resolve_unit"):
            self.fields[name].widget.attrs["class"] += " form-select-sm"

    def clean(self):
        data = super().clean()
        ack, resolve = data.get("ack_amount"), data.get("resolve_amount")
        if (ack is None) != (resolve is None) and not self.errors:
            missing = "resolve_amount" if resolve is None else "ack_amount"
            self.add_error(missing, "Give both times for this cell.")
        # Business-time clocks are computed for up to a year (apps.policies.calendar explains
        # why); a longer threshold would be accepted here and fail when an escalation is raised.
        for amount, unit in (("ack_amount", "ack_unit"), ("resolve_amount", "resolve_unit")):
            duration = _duration(data.get(amount), data.get(unit))
            if duration is not None and duration > MAX_BUSINESS_DURATION:
                self.add_error(amount, threshold_too_long(self.fields[amount].label))
        return data

    def cell(self) -> tuple[str, str]:
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        severity = (
            source.get("severity")
            or self.data.get(self.add_prefix("severity"))
            or self.initial.get("severity")
        )
        tier = (
            source.get("customer_tier")
            or self.data.get(self.add_prefix("customer_tier"))
            or self.initial.get("customer_tier")
        )
        return severity, tier

    def spec(self) -> ThresholdSpec | None:
        data = self.cleaned_data
        ack = _duration(data.get("ack_amount"), data.get("ack_unit"))
        resolve = _duration(data.get("resolve_amount"), data.get("resolve_unit"))
        if ack is None or resolve is None:
            return None
        return ThresholdSpec(
            data["severity"], data["customer_tier"], ack, resolve, data["business_hours_only"]
        )

    @staticmethod
    def initial_for(
        severity: str, tier: str, ack: timedelta | None, resolve: timedelta | None, bho: bool
    ) -> dict:
        ack_amount, ack_unit = _split(ack)
        resolve_amount, resolve_unit = _split(resolve)
        return {
            "severity": severity,
            "customer_tier": tier,
            "ack_amount": ack_amount,
            "ack_unit": ack_unit,
            "resolve_amount": resolve_amount,
            "resolve_unit": resolve_unit,
            "business_hours_only": bho,
        }


class BaseThresholdFormSet(forms.BaseFormSet):
    def specs(self) -> list[ThresholdSpec]:
        return [spec for form in self.forms if (spec := form.spec()) is not None]

    def grid(self) -> list[dict]:
        """Rows by severity, one cell per customer tier (None where the post left a cell out)."""
        by_cell = {form.cell(): form for form in self.forms}
        return [
            {
                "severity": sev,
                "cells": [
                    {
                        "tier": tier,
                        "form": form,
                        "missing": self.is_bound and (form is None or _is_empty(form)),
                    }
                    for tier in CustomerTier
                    for form in [by_cell.get((sev.value, tier.value))]
                ],
            }
            for sev in Severity
        ]


def _is_empty(form: ThresholdForm) -> bool:
    data = getattr(form, "cleaned_data", {})
    return not form.errors and data.get("ack_amount") is None and data.get("resolve_amount") is None


ThresholdFormSet = forms.formset_factory(
    ThresholdForm, formset=BaseThresholdFormSet, extra=0, max_num=12, absolute_max=12
)

M, H = timedelta(minutes=1), timedelta(hours=1)
# A starting point for a new policy, premium customers fastest: standard x2, basic x4.
DEFAULT_THRESHOLDS = {
    "sev1": (15 * M, 4 * H),
    "sev2": (30 * M, 8 * H),
    "sev3": (2 * H, 24 * H),
    "sev4": (8 * H, 72 * H),
}
TIER_FACTORS = {CustomerTier.PREMIUM: 1, CustomerTier.STANDARD: 2, CustomerTier.BASIC: 4}


def threshold_initial(policy: EscalationPolicy | None) -> list[dict]:
    """All twelve cells: the policy's values, or the defaults for a new policy."""
    existing: dict[tuple[str, str], ResponseThreshold] = (
        {(t.severity, t.customer_tier): t for t in policy.thresholds.all()} if policy else {}
    )
    cells = []
    for sev in Severity:
        for tier in CustomerTier:
            row = existing.get((sev.value, tier.value))
            if row is not None:
                values = (row.acknowledge_within, row.resolve_within, row.business_hours_only)
            elif policy is None:
                ack, resolve = DEFAULT_THRESHOLDS[sev.value]
                values = (ack * TIER_FACTORS[tier], resolve * TIER_FACTORS[tier], False)
            else:
                values = (None, None, False)
            cells.append(ThresholdForm.initial_for(sev.value, tier.value, *values))
    return cells


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


# --- calendars ------------------------------------------------------------------------------

INTERVALS_PER_DAY = 2


class EndTimeInput(TimeInput):
    """A browser's time picker cannot show 24:00: it shows the end of the day as 00:00."""

    def format_value(self, value):
        if value == END_OF_DAY or (isinstance(value, str) and value.strip() in ("24:00", "24:00:00")):
            return "00:00"
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()
        for day, day_name in enumerate(WEEKDAYS):
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

    @staticmethod
    def initial_for(calendar: BusinessCalendar) -> dict:
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
            for day, name in enumerate(WEEKDAYS)
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
        for day, name in enumerate(WEEKDAYS):
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


# --- maintenance windows and change freezes -------------------------------------------------


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
    """Tomorrow 22:00 UTC: a typical start for planned work, and never in the past."""
    return datetime.combine(timezone.localdate() + timedelta(days=1), time(22, 0))
