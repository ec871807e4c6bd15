"""Filters for the decision log: approver, outcome, period, policy."""

from __future__ import annotations

import django_filters
from django import forms

from apps.approvals.models import ApprovalDecision, Outcome
from apps.contacts.models import Person
from apps.policies.models import EscalationPolicy

SELECT = {"class": "form-select form-select-sm"}
DATE = {"type": "date", "class": "form-control form-control-sm"}


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
        field_name="at", lookup_expr="date__gte", label="From", widget=forms.DateInput(attrs=DATE)
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label="Until", widget=forms.DateInput(attrs=DATE)
    )

    class Meta:
        model = ApprovalDecision
        fields = ["approver", "outcome", "policy", "since", "until"]
