"""Search and filters for the policy list."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apps.policies.models import Category, EscalationPolicy, Service


class PolicyFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": "Policy name or description", "class": "form-control form-control-sm"}
        ),
    )
    category = django_filters.ChoiceFilter(
        choices=Category.choices,
        empty_label="All categories",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    active = django_filters.BooleanFilter(
        widget=forms.Select(
            choices=[("", "Active and retired"), ("true", "Active"), ("false", "Retired")],
            attrs={"class": "form-select form-select-sm"},
        ),
        label="Status",
    )
    service = django_filters.ModelChoiceFilter(
        field_name="services",
        queryset=Service.objects.order_by("name"),
        empty_label="All services",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = EscalationPolicy
        fields = ["q", "category", "active", "service"]

    def search(
        self, queryset: QuerySet[EscalationPolicy], name: str, value: str
    ) -> QuerySet[EscalationPolicy]:
        for word in value.split()[:5]:
            queryset = queryset.filter(Q(name__icontains=word) | Q(description__icontains=word))
        return queryset
