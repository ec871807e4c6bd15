"""Forms: they parse and show errors; the services decide (every rule lives there once)."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from apps.common.forms import BootstrapMixin, DateTimeInput, storable_instant
from apps.escalations.models import Criticality, Escalation
from apps.policies.models import Category, CustomerTier, Service, Severity

TEXTAREA = {"rows": 3}


class RaiseForm(BootstrapMixin, forms.Form):
    """The raise form, guided by the policy that covers the chosen service and category:
    the policy's extra required fields are added, with its own help text."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), empty_label="None, or choose a service…", required=False
    )
    category = forms.ChoiceField(choices=[("", "Choose a category…"), *Category.choices], required=False)
    title = forms.CharField(max_length=200, required=False, help_text="One line a busy person understands.")
    severity = forms.ChoiceField(choices=[("", "Choose…"), *Severity.choices], required=False)
    customer_tier = forms.ChoiceField(
        choices=[("", "The service's own tier"), *CustomerTier.choices],
        required=False,
        help_text="Leave it to the service's tier unless a particular customer is at stake.",
    )
    criticality = forms.ChoiceField(
        choices=[("", "Choose…"), *Criticality.choices], required=False, label="Criticality of the workload"
    )
    nature_of_risk = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        required=False,
        label="Nature of the risk",
        help_text="What could go wrong, and why you believe it is at risk.",
    )
    who_is_impacted = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA), required=False, label="Who is impacted"
    )
    impact = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        required=False,
        label="The impact",
        help_text="In business terms: money, customers, safety, law, reputation.",
    )
    impact_expected_at = forms.DateTimeField(
        widget=DateTimeInput(),
        required=False,
        label="When the impact is expected",
        help_text="Or when it began, if it already has.",
    )
    detected_at = forms.DateTimeField(
        widget=DateTimeInput(),
        required=False,
        label="Detected at",
        help_text="Optional: when the risk was first noticed.",
    )
    situation = forms.CharField(
        widget=forms.Textarea(attrs={**TEXTAREA, "data-starts-from": "id_nature_of_risk"}),
        required=False,
        label="Situation",
        help_text="What is happening now (it starts from the risk you described).",
    )
    background = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        required=False,
        label="Background",
        help_text="What led here; what has been tried.",
    )
    assessment = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        required=False,
        label="Assessment",
        help_text="What you think the problem is.",
    )
    recommendation = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA),
        required=False,
        label="Recommendation",
        help_text="What you need, from whom, by when.",
    )
    confidential = forms.BooleanField(
        required=False, label="Confidential", help_text="Only the people taking part will be able to see it."
    )

    FIXED = (
        "title",
        "severity",
        "criticality",
        "nature_of_risk",
        "who_is_impacted",
        "impact",
        "impact_expected_at",
        "situation",
        "background",
        "assessment",
        "recommendation",
    )

    def __init__(self, *args, policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy
        zone = timezone.get_current_timezone_name()
        for name in ("impact_expected_at", "detected_at"):
            self.fields[name].help_text += f" Your time ({zone}), as 2026-12-07 14:30."
        for spec in (policy.extra_required_fields if policy else []) or []:
            self.fields[f"extra_{spec['name']}"] = forms.CharField(
                label=spec.get("label") or spec["name"],
                help_text=spec.get("help", ""),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
            )
        for name in self.FIXED:
            self.fields[name].widget.attrs.setdefault("aria-required", "true")

    def clean_impact_expected_at(self):
        return storable_instant(self, "impact_expected_at")

    def clean_detected_at(self):
        return storable_instant(self, "detected_at")

    @property
    def extra_field_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith("extra_")]

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "service": data.get("service"),
            "category": data.get("category") or "",
            "severity": data.get("severity") or "",
            "customer_tier": data.get("customer_tier") or None,
            "confidential": bool(data.get("confidential")),
            "fields": {name: data.get(name) for name in (*self.FIXED, "detected_at") if name != "severity"},
            "extra": {name.removeprefix("extra_"): data.get(name) or "" for name in self.extra_field_names},
        }


class VersionedForm(BootstrapMixin, forms.Form):
    """Every action form carries the version the user saw: a stale form is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class ReasonForm(VersionedForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class HandOffForm(VersionedForm):
    to_person = forms.ModelChoiceField(
        queryset=None, required=False, label="New owner", empty_label="Choose…"
    )
    context_summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Context for the next owner",
        help_text="What is known, what was tried, what is pending.",
    )

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_person"].queryset = candidates


class EscalateForm(ReasonForm):
    to_level = forms.TypedChoiceField(coerce=int, choices=(), required=False, label="To level")

    def __init__(self, *args, levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_level"].choices = [
            (
                lvl.order,
                f"Level {lvl.order} — {lvl.name}" + (" (needs approval)" if lvl.requires_approval else ""),
            )
            for lvl in levels
        ]


class ResolveForm(VersionedForm):
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Resolution summary"
    )
    criteria = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        required=False,
        label="De-escalation criteria met",
    )

    def __init__(self, *args, escalation: Escalation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criteria"].choices = [(c, c) for c in escalation.criteria]


class CommentForm(BootstrapMixin, forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Comment")
    stakeholder_update = forms.BooleanField(
        required=False,
        label="Send as a stakeholder update",
        help_text="Everyone involved is told; the update clock restarts.",
    )
