"""The threshold matrix: one cell per severity x customer tier, an acknowledge and a resolve
time each, parsed into the ``ThresholdSpec``\\s ``services.policy_save`` takes."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from apps.common.forms import BootstrapMixin
from apps.policies.calendar import MAX_BUSINESS_DURATION
from apps.policies.models import CustomerTier, EscalationPolicy, ResponseThreshold, Severity
from apps.policies.services import ThresholdSpec

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
