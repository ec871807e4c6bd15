"""The policy form and its level chain: the policy's own fields, and one row per level,
parsed into the ``LevelSpec``\\s ``services.policy_save`` takes."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.roles import Role
from apps.common.fields import ModelMultipleChoiceField
from apps.common.forms import BootstrapMixin, DateInput, reason_field
from apps.policies.models import BusinessCalendar, Category, EscalationLevel, EscalationPolicy, Service
from apps.policies.services import LevelSpec

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# What the policy form sets on the model (slug, services and the reason are handled apart).
POLICY_FIELDS = (
    "name category description owner calendar review_interval_days next_review_on active covers_all_services "
    "watch_window_months "
    "de_escalation_criteria extra_required_fields"
).split()


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
    watch_window_months = forms.IntegerField(
        min_value=1,
        max_value=120,
        initial=12,
        label="Protection window (months)",
        help_text="How long a raiser under this policy is watched for retaliation.",
    )
    active = forms.BooleanField(required=False, initial=True, help_text="Retired policies are never picked.")
    covers_all_services = forms.BooleanField(
        required=False,
        label="The fallback for its kind of risk",
        help_text="Covers this kind of risk for every service without a policy of its own, and concerns "
        "about no particular service (people, conduct).",
    )
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
            "watch_window_months": policy.watch_window_months,
            "active": policy.active,
            "covers_all_services": policy.covers_all_services,
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
        LevelForm,
        formset=BaseLevelFormSet,
        extra=extra,
        can_delete=True,
        max_num=20,
        validate_max=True,
        absolute_max=20,
    )


# A new policy offers three empty rows; an existing one its levels and one more.
NewLevelFormSet, LevelFormSet = _level_formset(3), _level_formset(1)


def level_formset(*, new: bool):
    return NewLevelFormSet if new else LevelFormSet
