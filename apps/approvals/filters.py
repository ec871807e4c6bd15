"""Filters for the decision log: approver, outcome, period, policy."""

from __future__ import annotations

import django_filters
from django import forms

from apps.approvals.models import ApprovalDecision, Outcome
from apps.common.forms import DateInput, ordered_range
from apps.contacts.models import Person
from apps.policies.models import EscalationPolicy

SELECT = {"class": "form-select form-select-sm"}
DATE = {"class": "form-control form-control-sm"}


class RangeForm(forms.Form):
    """A "from" after the "until" is said beside the "until" field (it would list nothing)."""

    def clean(self):
        data = super().clean()
        ordered_range(self, "since", "until")
        return data


class DecisionFilter(django_filters.FilterSet):
    approver = django_filters.ModelChoiceFilter(
        field_name="approval__approver",
        label="Approver",
        empty_label="Every approver",
        queryset=Person.objects.filter(approval_requests__isnull=False).distinct().order_by("full_name"),
        widget=forms.Select(attrs=SELECT),
    )
    outcome = django_filters.ChoiceFilter(
        choices=Outcome.choices, empty_label="Every outcome", widget=forms.Select(attrs=SELECT)
    )
    policy = django_filters.ModelChoiceFilter(
        field_name="approval__escalation__policy",
        label="Policy",
        queryset=EscalationPolicy.objects.order_by("name"),
        empty_label="Every policy",
        widget=forms.Select(attrs=SELECT),
    )
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label="From", widget=DateInput(attrs=DATE)
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label="Until", widget=DateInput(attrs=DATE)
    )

    class Meta:
        form = RangeForm
        model = ApprovalDecision
        fields = ["approver", "outcome", "policy", "since", "until"]
