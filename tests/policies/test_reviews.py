"""Marking a policy reviewed: notes required; the next review falls one interval from today."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from apps.policies.models import EscalationPolicy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_a_governance_admin_marks_a_policy_reviewed(client, gov_admin, org):
    policy = EscalationPolicy.objects.get(slug="change-freeze-exception")
    client.force_login(gov_admin)
    response = client.post(
        reverse("policies:review", args=[policy.pk]), {"notes": "Levels and contacts checked"}
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.next_review_on == date.today() + timedelta(days=policy.review_interval_days)
    assert policy.history.latest().history_change_reason == "Reviewed: Levels and contacts checked"


def test_marking_reviewed_needs_notes(client, gov_admin, org):
    policy = EscalationPolicy.objects.get(slug="change-freeze-exception")
    before = policy.next_review_on
    client.force_login(gov_admin)
    response = client.post(reverse("policies:review", args=[policy.pk]), {"notes": ""})
    assert response.status_code == 400
    assert "Write what the review checked" in response.context["review_form"].errors["notes"][0]
    policy.refresh_from_db()
    assert policy.next_review_on == before
