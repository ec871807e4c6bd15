"""The admin shows the outbox read-only: filters by status and channel, attempts inline."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.notifications.models import DeliveryAttempt
from tests.notifications.helpers import probe

pytestmark = pytest.mark.django_db


@pytest.fixture
def note():
    note = probe(("email", "grace@example.com"))
    DeliveryAttempt.objects.create(
        notification=note, channel="email", address="grace@example.com", ok=False, error="SMTP 451 busy"
    )
    return note


@pytest.mark.parametrize(
    "query,listed",
    [
        ("", True),
        ("?status__exact=pending", True),
        ("?status__exact=sent", False),
        ("?sent_via_channel__exact=email", False),  # tried by email, not (yet) sent by it
        ("?delivery_attempts__channel=email", True),
        ("?delivery_attempts__channel=phone", False),
    ],
)
def test_the_list_filters_by_status_and_channel(admin_client, note, query, listed):
    response = admin_client.get(reverse("admin:notifications_notification_changelist") + query)
    assert response.status_code == 200
    assert ("Escalation 17 needs you" in response.content.decode()) is listed


def test_the_detail_shows_the_attempts_and_cannot_be_changed(admin_client, note):
    response = admin_client.get(reverse("admin:notifications_notification_change", args=[note.pk]))
    assert response.status_code == 200
    assert "SMTP 451 busy" in response.content.decode()
    assert 'name="_save"' not in response.content.decode()
    assert (
        admin_client.post(reverse("admin:notifications_notification_change", args=[note.pk])).status_code
        == 403
    )


def test_nothing_can_be_added_or_deleted(admin_client, note):
    assert admin_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:notifications_notification_delete", args=[note.pk])).status_code
        == 403
    )
