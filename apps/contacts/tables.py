"""The people list. Every column reads from ``selectors``-style prefetched data, so a page
costs the same handful of queries whether the organisation has ten people or ten thousand."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from apps.common.tables import PortalTable
from apps.contacts.models import Person


class PersonTable(PortalTable):
    full_name = tables.Column(
        verbose_name="Name", linkify=lambda record: reverse("contacts:person", args=[record.pk])
    )
    title = tables.Column()
    team = tables.Column(
        order_by=("team__name",),
        linkify=lambda record: reverse("contacts:team", args=[record.team.slug]) if record.team_id else None,
    )
    manager = tables.Column(
        order_by=("manager__full_name",),
        linkify=lambda record: (
            reverse("contacts:person", args=[record.manager_id]) if record.manager_id else None
        ),
        accessor="manager__full_name",
        verbose_name="Manager",
    )
    authority_rank = tables.Column(
        verbose_name="Authority", attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    contact = tables.Column(empty_values=(), orderable=False, verbose_name="First contact")

    class Meta:
        model = Person
        fields = ["full_name", "title", "team", "manager", "authority_rank", "contact"]
        order_by = ("full_name",)
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}
        empty_text = "Nobody matches these filters."
        template_name = "includes/_table.html"

    def render_contact(self, record: Person):
        # contact_methods is prefetched (ordered by priority); .all() costs no query.
        methods = list(record.contact_methods.all())
        if not methods:
            return format_html('<span class="badge text-bg-warning">No contact method</span>')
        first = methods[0]
        more = f" (+{len(methods) - 1} more)" if len(methods) > 1 else ""
        return format_html(
            '<span class="text-body-secondary small">{}:</span> {}<span class="text-body-secondary small text-nowrap">{}</span>',
            first.get_kind_display(),
            first.value,
            more,
        )
