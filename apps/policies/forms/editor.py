"""The policy page: the policy's fields, its level chain and its threshold matrix, bound
together so the view can parse them, hand what parsed to the services and show every problem
beside the part it concerns."""

from __future__ import annotations

from dataclasses import dataclass

from apps.policies.forms.policy import LevelForm, PolicyForm, level_formset
from apps.policies.forms.thresholds import ThresholdFormSet, threshold_initial
from apps.policies.models import EscalationPolicy
from apps.policies.selectors import level_target_choices, level_targets
from apps.policies.services import LevelSpec, ThresholdSpec


@dataclass(frozen=True)
class PolicyParts:
    """What the page parsed. ``target`` is the policy with the form's values, not saved (None
    when its fields did not parse); a part that did not parse is None; ``complete`` is every
    part valid, the change reason included."""

    target: EscalationPolicy | None
    levels: list[LevelSpec] | None
    thresholds: list[ThresholdSpec] | None
    complete: bool


class PolicyEditor:
    def __init__(self, data, *, policy: EscalationPolicy | None):
        self.policy = policy
        self.form = PolicyForm(data, initial=PolicyForm.initial_for(policy) if policy else None)
        self.levels = level_formset(new=policy is None)(
            data,
            initial=[LevelForm.initial_for(level) for level in policy.levels.all()] if policy else [],
            prefix="levels",
            form_kwargs={"target_choices": level_target_choices()},
        )
        self.thresholds = ThresholdFormSet(data, initial=threshold_initial(policy), prefix="thresholds")

    def parts(self) -> PolicyParts:
        """Validate the three parts and return what parsed (the levels with their targets read)."""
        form_ok, levels_ok, thresholds_ok = (
            self.form.is_valid(),
            self.levels.is_valid(),
            self.thresholds.is_valid(),
        )
        levels = self.levels.specs(level_targets(self.levels.target_ids())) if levels_ok else None
        thresholds = self.thresholds.specs() if thresholds_ok else None
        target = None
        if not set(self.form.errors) - {"change_reason"}:
            # A fresh instance: a refused save must not leave the page's copy half-changed.
            fresh = EscalationPolicy.objects.get(pk=self.policy.pk) if self.policy else EscalationPolicy()
            target = self.form.apply_to(fresh)
        return PolicyParts(target, levels, thresholds, complete=form_ok and levels_ok and thresholds_ok)

    def context(self, problems: dict[str, list[str]]) -> dict:
        """The page's forms and the problems that belong to no field: ``levels`` and
        ``thresholds`` beside their parts, the rest at the top."""
        problems = dict(problems)
        level_errors, threshold_errors = problems.pop("levels", []), problems.pop("thresholds", [])
        parts_invalid = bool(
            level_errors
            or threshold_errors
            or self.levels.total_error_count()
            or self.thresholds.total_error_count()
        )
        return {
            "policy": self.policy,
            "form": self.form,
            "levels": self.levels,
            "thresholds": self.thresholds,
            "grid": self.thresholds.grid(),
            "level_errors": level_errors,
            "threshold_errors": threshold_errors,
            "other_errors": [m for messages in problems.values() for m in messages],
            "parts_invalid": self.form.is_bound and parts_invalid,
        }
