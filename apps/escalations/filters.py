"""Search and filters for the escalation list. Each filter maps to an indexed column or a
short prefix search on the reference, so a filtered page stays cheap at 100,000 rows."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apps.common.forms import QuickDateInput, QuickSelect, QuickSelectMultiple, QuickTextInput, ordered_range
from apps.escalations.models import Escalation, Status
from apps.policies.models import Category, EscalationPolicy, Service, Severity

SELECT = {"class": "form-select form-select-sm"}


class RangeForm(forms.Form):
    """A "from" after the "until" is said beside the "until" field (it would list nothing)."""

    def clean(self):
        data = super().clean()
        ordered_range(self, "raised_after", "raised_before")
        return data


class EscalationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=200,
        widget=QuickTextInput(
            attrs={"placeholder": "Reference or words of the title", "class": "form-control form-control-sm"}
        ),
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, widget=QuickSelectMultiple(attrs=SELECT)
    )
    state = django_filters.ChoiceFilter(
        method="by_state",
        label="Open or closed",
        empty_label="Any",
        choices=[("active", "Still open"), ("done", "Resolved, closed or withdrawn")],
        widget=QuickSelect(attrs=SELECT),
    )
    severity = django_filters.ChoiceFilter(
        choices=Severity.choices, empty_label="All severities", widget=QuickSelect(attrs=SELECT)
    )
    category = django_filters.ChoiceFilter(
        choices=Category.choices, empty_label="All categories", widget=QuickSelect(attrs=SELECT)
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.order_by("name"),
        empty_label="All services",
        widget=QuickSelect(attrs=SELECT),
    )
    policy = django_filters.ModelChoiceFilter(
        queryset=EscalationPolicy.objects.order_by("name"),
        empty_label="All policies",
        widget=QuickSelect(attrs=SELECT),
    )
    raised_after = django_filters.DateFilter(
        field_name="raised_at",
        lookup_expr="date__gte",
        label="Raised from",
        widget=QuickDateInput(attrs={"class": "form-control form-control-sm"}),
    )
    raised_before = django_filters.DateFilter(
        field_name="raised_at",
        lookup_expr="date__lte",
        label="Raised until",
        widget=QuickDateInput(attrs={"class": "form-control form-control-sm"}),
    )

    class Meta:
        form = RangeForm
        model = Escalation
        fields = [
            "q",
            "state",
            "status",
            "severity",
            "category",
            "service",
            "policy",
            "raised_after",
            "raised_before",
        ]

    def search(self, queryset: QuerySet[Escalation], name: str, value: str) -> QuerySet[Escalation]:
        value = value.strip()
        if value.upper().startswith("ESC-"):
            return queryset.filter(reference__istartswith=value)
        for word in value.split()[:5]:
            queryset = queryset.filter(Q(title__icontains=word))
        return queryset

    def by_state(self, queryset: QuerySet[Escalation], name: str, value: str) -> QuerySet[Escalation]:
        active = ["open", "acknowledged", "awaiting_approval"]
        return (
            queryset.filter(status__in=active) if value == "active" else queryset.exclude(status__in=active)
        )
