"""From an escalation's page its raiser reaches the report form with the escalation filled in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.protection.models import ProtectionReport
from tests.approvals.conftest import build_org
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def test_the_raiser_files_a_report_about_their_escalation_from_its_page(client):
    org = build_org()
    esc = raise_one(org)
    link = f"{reverse('protection:report')}?escalation={esc.pk}"
    client.force_login(org.engineer)
    assert link not in client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    client.force_login(org.raiser)
    assert link in client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    form = client.get(link)
    assert form.context["form"].initial["escalation"] == esc.pk
    client.post(
        link, {"mode": "confidential", "what_happened": "Shut out of meetings.", "escalation": esc.pk}
    )
    report = ProtectionReport.objects.get()
    assert (
        report.escalation_id == esc.pk
        and report.escalation_ref == esc.reference
        and report.reporter == org.raiser
    )


def test_someone_else_cannot_link_a_report_to_it(client):
    org = build_org()
    esc = raise_one(org)
    client.force_login(org.engineer)
    response = client.post(
        reverse("protection:report"), {"mode": "named", "what_happened": "Something.", "escalation": esc.pk}
    )
    assert response.status_code == 400 and "escalation you raised" in response.content.decode()
    assert not ProtectionReport.objects.exists()
