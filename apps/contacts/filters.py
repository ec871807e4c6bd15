"""Search and filters for the people list."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apps.contacts.models import Person, Team


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": "Name, email or title", "class": "form-control form-control-sm"}
        ),
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        empty_label="All teams",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = Person
        fields = ["q", "team"]

    def search(self, queryset: QuerySet[Person], name: str, value: str) -> QuerySet[Person]:
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(full_name__icontains=word) | Q(email__icontains=word) | Q(title__icontains=word)
            )
        return queryset
