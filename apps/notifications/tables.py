"""What the portal sent me: every column reads the notification row itself, so a page costs
the same queries however many there are."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from apps.common.moments import shown
from apps.common.tables import PortalTable
from apps.notifications.models import Notification

STATUS_BADGE = {
    Notification.Status.SENT: "text-bg-success",
    Notification.Status.PENDING: "text-bg-warning",
    Notification.Status.HELD: "text-bg-info",
    Notification.Status.FAILED: "text-bg-danger",
}
# Where a notification's subject is read in the portal (the page checks who may see it).
SUBJECT_PAGES = {
    "escalations.escalation": "escalations:detail",
    "approvals.approvalrequest": "approvals:request",
    "policies.escalationpolicy": "policies:detail",
}


def subject_url(note: Notification) -> str | None:
    name = SUBJECT_PAGES.get(note.subject_type)
    if not name or not note.subject_id:
        return None
    try:
        return reverse(name, args=[note.subject_id])
    except NoReverseMatch:
        return None


class NotificationTable(PortalTable):
    created_at = tables.Column(verbose_name="When", attrs={"td": {"class": "text-nowrap"}})
    subject = tables.Column(verbose_name="Subject", orderable=False)
    status = tables.Column(verbose_name="Delivery", orderable=False)
    sent_via_channel = tables.Column(verbose_name="Sent by", orderable=False, empty_values=())

    class Meta:
        model = Notification
        fields = ["created_at", "subject", "status", "sent_via_channel"]
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}
        order_by = "-created_at"
        empty_text = "The portal has not sent you anything yet."

    def render_created_at(self, value):
        return shown(value, fmt="%d %b %Y %H:%M")

    def render_subject(self, record, value):
        url = subject_url(record)
        return format_html('<a href="{}">{}</a>', url, value) if url else value

    def render_status(self, record):
        label = record.get_status_display()
        if record.status == Notification.Status.PENDING and record.attempts:
            label = f"Retrying ({record.attempts} tries)"
        return format_html('<span class="badge {}">{}</span>', STATUS_BADGE.get(record.status, ""), label)

    def render_sent_via_channel(self, record):
        if not record.sent_at:
            return "—"
        return format_html(
            '{} <span class="text-body-secondary small">to {} at {}</span>',
            record.get_sent_via_channel_display(),
            record.sent_via_address,
            shown(record.sent_at, fmt="%H:%M:%S"),
        )
