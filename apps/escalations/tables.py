"""The escalation list: every column reads the row or a select_related neighbour, so a page
costs the same queries at 10 or 100,000 escalations (tested, and measured in bench/)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from apps.common.moments import shown
from apps.common.tables import PortalTable
from apps.escalations.models import Escalation

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0"}
# Shown from tablet width up: a phone shows reference, title, severity, owner, next deadline.
WIDE = {"td": {"class": "d-none d-md-table-cell"}, "th": {"class": "d-none d-md-table-cell"}}
STATUS_BADGE = {
    "open": "text-bg-danger",
    "acknowledged": "text-bg-warning",
    "awaiting_approval": "text-bg-info",
    "resolved": "text-bg-success",
    "closed": "text-bg-secondary",
    "withdrawn": "text-bg-light border",
}


def status_badge(esc: Escalation) -> str:
    return format_html(
        '<span class="badge {}">{}</span>', STATUS_BADGE.get(esc.status, ""), esc.get_status_display()
    )


class EscalationTable(PortalTable):
    reference = tables.Column(verbose_name="Reference", attrs={"td": {"class": "text-nowrap"}})
    title = tables.Column(verbose_name="Title")
    severity = tables.Column(verbose_name="Severity")
    owner = tables.Column(
        accessor="owner__full_name", order_by=("owner__full_name",), verbose_name="Owner", default="—"
    )
    next_due_at = tables.Column(
        verbose_name="Next deadline", orderable=True, attrs={"td": {"class": "text-nowrap"}}
    )
    # Below this line, columns a phone leaves out (issue 12: the first five come first).
    status = tables.Column(verbose_name="Status", attrs=WIDE)
    service = tables.Column(
        accessor="service__name", order_by=("service__name",), verbose_name="Service", attrs=WIDE, default="—"
    )
    current_level = tables.Column(
        verbose_name="Level",
        attrs={
            "td": {"class": "text-end d-none d-md-table-cell"},
            "th": {"class": "text-end d-none d-md-table-cell"},
        },
    )
    # A plain column formatted by hand: DateTimeColumn compiles a template per cell.
    raised_at = tables.Column(
        verbose_name="Raised",
        orderable=True,
        attrs={
            "td": {"class": "text-nowrap d-none d-md-table-cell"},
            "th": {"class": "d-none d-md-table-cell"},
        },
    )

    class Meta:
        model = Escalation
        fields = [
            "reference",
            "title",
            "severity",
            "owner",
            "next_due_at",
            "status",
            "service",
            "current_level",
            "raised_at",
        ]
        # The rows come sorted and paged by keyset (selectors.LIST_ORDERS): only the columns with
        # an index to page by sort, and the table never sorts a page again in Python.
        orderable = False
        attrs = TABLE_ATTRS
        empty_text = "No escalation matches these filters."
        template_name = "includes/_table.html"

    @cached_property
    def _detail(self) -> tuple[str, str, str]:
        return reverse("escalations:detail", args=[0]).rpartition("/0/")

    @cached_property
    def _zone(self):
        return timezone.get_current_timezone()  # the reader's, once a page rather than once a cell

    def render_reference(self, record: Escalation, value):
        # By hand, not linkify: django-tables2 inspects a linkify callable's signature per cell.
        # The address is reversed once a page and the id put in per row: reverse() was a third
        # of the table's time.
        head, _, tail = self._detail
        return format_html('<a href="{}/{}/{}">{}</a>', head, record.pk, tail, value)

    def render_title(self, record: Escalation, value):
        if record.confidential:
            return format_html('{} <span class="badge text-bg-dark">confidential</span>', value)
        return value

    def render_status(self, record: Escalation):
        return status_badge(record)

    def render_severity(self, record: Escalation):
        return record.severity.upper()

    def render_next_due_at(self, record: Escalation, value):
        return format_html(
            '<time datetime="{0}" title="{1}" data-countdown="{0}">{1}</time>',
            value.isoformat(),
            shown(value, self._zone, fmt="%Y-%m-%d %H:%M"),
        )

    def render_raised_at(self, value):
        return shown(value, self._zone, fmt="%Y-%m-%d %H:%M")  # in the reader's zone, named
