"""The policy and service lists. Every column reads prefetched data
(``selectors.policies_for_list``), so a page costs the same queries at any size (tested)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.common.tables import PortalTable
from apps.policies.models import EscalationPolicy, Service

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0"}
NUMBER = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}


def _links(items, url) -> str:
    """Comma-separated links from prefetched objects, or a dash."""
    items = list(items)
    if not items:
        return mark_safe('<span class="text-body-secondary">—</span>')
    return format_html_join(", ", '<a href="{}">{}</a>', ((url(o), o.name) for o in items))


class PolicyTable(PortalTable):
    name = tables.Column(
        verbose_name="Name", linkify=lambda record: reverse("policies:detail", args=[record.pk])
    )
    category = tables.Column(verbose_name="Category")
    owner = tables.Column(
        verbose_name="Owner",
        accessor="owner__full_name",
        order_by=("owner__full_name",),
        linkify=lambda record: reverse("contacts:person", args=[record.owner_id]),
    )
    calendar = tables.Column(
        verbose_name="Calendar",
        accessor="calendar__name",
        order_by=("calendar__name",),
        linkify=lambda record: reverse("policies:calendar", args=[record.calendar_id]),
    )
    services = tables.Column(empty_values=(), orderable=False, verbose_name="Services")
    levels = tables.Column(empty_values=(), orderable=False, verbose_name="Levels", attrs=NUMBER)
    approval = tables.Column(empty_values=(), orderable=False, verbose_name="Approval from")
    next_review_on = tables.Column(verbose_name="Next review")

    class Meta:
        model = EscalationPolicy
        fields = ["name", "category", "owner", "calendar", "services", "levels", "approval", "next_review_on"]
        order_by = ("name",)
        attrs = TABLE_ATTRS
        empty_text = "No policy matches these filters."
        template_name = "includes/_table.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()

    def render_name(self, record: EscalationPolicy, value):
        if record.active:
            return value
        return format_html('{} <span class="badge text-bg-secondary">retired</span>', value)

    def render_category(self, record: EscalationPolicy):
        return record.get_category_display()

    def render_services(self, record: EscalationPolicy):
        services_url = reverse("policies:services")
        return _links(record.services.all(), lambda s: f"{services_url}#service-{s.slug}")

    def render_levels(self, record: EscalationPolicy):
        return len(record.levels.all())

    def render_approval(self, record: EscalationPolicy):
        # The approval gate: the first level an escalation reaches only through a manager.
        gate = next((lvl for lvl in record.levels.all() if lvl.requires_approval), None)
        if gate is None:
            return mark_safe('<span class="text-body-secondary">none</span>')
        return format_html('<span class="text-nowrap">L{}</span> {}', gate.order, gate.name)

    def render_next_review_on(self, record: EscalationPolicy, value):
        text = format_html(
            '<time datetime="{}" class="text-nowrap">{}</time>', value.isoformat(), value.isoformat()
        )
        if record.active and value <= self.today:
            return format_html('{} <span class="badge text-bg-danger">overdue</span>', text)
        return text


class ServiceTable(PortalTable):
    name = tables.Column(verbose_name="Service")
    owner_team = tables.Column(
        accessor="owner_team__name",
        order_by=("owner_team__name",),
        verbose_name="Owner team",
        linkify=lambda record: reverse("contacts:team", args=[record.owner_team.slug]),
    )
    supporting_teams = tables.Column(empty_values=(), orderable=False, verbose_name="Supporting teams")
    customer_tier = tables.Column(verbose_name="Customer tier")
    policies = tables.Column(empty_values=(), orderable=False, verbose_name="Escalation policies")

    class Meta:
        model = Service
        fields = ["name", "owner_team", "supporting_teams", "customer_tier", "policies"]
        order_by = ("name",)
        attrs = TABLE_ATTRS
        row_attrs = {"id": lambda record: f"service-{record.slug}"}
        empty_text = "No services yet."
        template_name = "includes/_table.html"

    def render_name(self, record: Service, value):
        if record.description:
            return format_html(
                '<span class="fw-semibold">{}</span><div class="small text-body-secondary">{}</div>',
                value,
                record.description,
            )
        return format_html('<span class="fw-semibold">{}</span>', value)

    def render_supporting_teams(self, record: Service):
        return _links(record.supporting_teams.all(), lambda t: reverse("contacts:team", args=[t.slug]))

    def render_policies(self, record: Service):
        return _links(record.policies.all(), lambda p: reverse("policies:detail", args=[p.pk]))
