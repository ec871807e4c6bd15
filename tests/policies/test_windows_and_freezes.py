"""Maintenance windows and change freezes from the page: local times in the chosen timezone,
every problem reported together, history and audit kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.policies.models import ChangeFreeze, MaintenanceWindow, Service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_a_window_ending_before_it_starts_is_refused_naming_the_field(client, gov_admin, org):
    client.force_login(gov_admin)
    service = Service.objects.get(slug="payments-api")
    data = {
        "name": "Database upgrade",
        "services": [str(service.pk)],
        "starts_at": "2026-12-01T22:00",
        "ends_at": "2026-12-01T20:00",
        "tz": "Europe/London",
        "defers_clocks": "on",
        "change_reason": "Planned upgrade",
    }
    before = AuditEvent.objects.count()
    response = client.post(reverse("policies:maintenance_new"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["ends_at"] == ["A maintenance window must end after it starts."]
    assert not MaintenanceWindow.objects.exists() and AuditEvent.objects.count() == before


def test_a_governance_admin_plans_a_maintenance_window(client, gov_admin, org):
    client.force_login(gov_admin)
    service = Service.objects.get(slug="payments-api")
    data = {
        "name": "Database upgrade",
        "services": [str(service.pk)],
        "starts_at": "2026-12-01T22:00",
        "ends_at": "2026-12-02T02:00",
        "tz": "Europe/Berlin",
        "defers_clocks": "on",
        "change_reason": "Planned upgrade",
    }
    assert client.post(reverse("policies:maintenance_new"), data).status_code == 302
    window = MaintenanceWindow.objects.get()
    assert window.starts_at == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 22:00 in Berlin
    assert list(window.services.all()) == [service] and window.defers_clocks
    assert window.history.earliest().history_user_username == "gov_admin"
    assert AuditEvent.objects.filter(action="policies.maintenance_window_created").exists()
    assert "Database upgrade" in client.get(reverse("policies:maintenance")).content.decode()


def test_a_change_freeze_needs_services_and_a_reason_reported_together(client, gov_admin, org):
    client.force_login(gov_admin)
    data = {
        "name": "Year-end freeze",
        "starts_at": "2026-12-20T00:00",
        "ends_at": "2026-12-19T00:00",
        "tz": "UTC",
        "reason": "Year-end trading",
        "change_reason": "",
    }
    response = client.post(reverse("policies:freeze_new"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["ends_at"] == ["A change freeze must end after it starts."]
    assert "Choose at least one service" in errors["services"][0]
    assert "change_reason" in errors
    assert not ChangeFreeze.objects.exists()


def test_a_governance_admin_declares_a_change_freeze(client, gov_admin, org):
    client.force_login(gov_admin)
    services = Service.objects.filter(slug__in=["payments-api", "customer-portal"])
    data = {
        "name": "Year-end freeze",
        "services": [str(s.pk) for s in services],
        "starts_at": "2026-12-20T00:00",
        "ends_at": "2027-01-04T00:00",
        "tz": "UTC",
        "reason": "Year-end trading",
        "change_reason": "Agreed at the change board",
    }
    assert client.post(reverse("policies:freeze_new"), data).status_code == 302
    freeze = ChangeFreeze.objects.get()
    assert set(freeze.services.all()) == set(services)
    assert freeze.history.latest().history_change_reason == "Agreed at the change board"
    assert "Year-end freeze" in client.get(reverse("policies:freezes")).content.decode()
