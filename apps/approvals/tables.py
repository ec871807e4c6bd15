"""The decision log table: every column from the row or a select_related neighbour; one page
of rows from ``apps.common.keyset``, newest first, so nothing here sorts or paginates."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from apps.approvals.models import ApprovalDecision
from apps.common.moments import shown
from apps.common.tables import PortalTable
from apps.common.templatetags.portal import hours_in_words


class DecisionTable(PortalTable):
    at = tables.Column(verbose_name="When", attrs={"td": {"class": "text-nowrap"}})
    subject = tables.Column(empty_values=(), verbose_name="Request")
    outcome = tables.Column(verbose_name="Outcome")
    decided_by_name = tables.Column(verbose_name="Decided by", default="escalportal")
    on_behalf_of_name = tables.Column(verbose_name="On behalf of", default="—")
    approver = tables.Column(accessor="approval__approver__full_name", verbose_name="Asked of")
    reason = tables.Column(verbose_name="Reason", default="—")
    waited = tables.Column(
        accessor="waited_seconds", verbose_name="Waited", attrs={"td": {"class": "text-end"}}
    )

    class Meta:
        model = ApprovalDecision
        fields = [
            "at",
            "subject",
            "outcome",
            "decided_by_name",
            "on_behalf_of_name",
            "approver",
            "reason",
            "waited",
        ]
        # A log, newest first, paged by keyset (apps.common.keyset): sorting by another column
        # would need an index per column and an OFFSET scan; the bottleneck report sorts by wait.
        orderable = False
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}
        empty_text = "No decision matches these filters."
        template_name = "includes/_table.html"

    def render_at(self, value):
        return shown(value, fmt="%Y-%m-%d %H:%M")  # in the reader's zone, named

    def render_subject(self, record: ApprovalDecision):
        approval = record.approval
        url = reverse("approvals:request", args=[approval.pk])
        if approval.escalation_id:
            return format_html(
                '<a href="{}">{}</a> <span class="text-body-secondary">→ L{} {}</span>',
                url,
                approval.escalation.reference,
                approval.level,
                approval.level_name,
            )
        return format_html('<a href="{}">Freeze exception: {}</a>', url, approval.freeze.name)

    def render_outcome(self, record: ApprovalDecision):
        css = {"approved": "text-bg-success", "rejected": "text-bg-danger"}.get(
            record.outcome, "text-bg-secondary"
        )
        return format_html('<span class="badge {}">{}</span>', css, record.get_outcome_display())

    def render_waited(self, value):
        return hours_in_words(value / 3600)  # "25 s", not "0h 00m" (issue 12, item 6)
