"""Check-ins at 2, 6 and 12 weeks after speaking up: private to the watched person, and a yes
opens a confidential report linked to the escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from apps.notifications.models import Notification
from apps.protection.models import CheckIn, ProtectionReport
from apps.protection.services.watch import CHECK_IN
from apps.timers.models import Deadline
from apps.timers.services import Outcome, deadline_fire
from tests.approvals.conftest import MONDAY_0900, build_org
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def test_a_raiser_is_asked_at_2_6_and_12_weeks_and_a_yes_opens_a_report(client):
    org = build_org()
    with time_machine.travel(MONDAY_0900, tick=False):
        esc = raise_one(org)
    check_ins = list(CheckIn.objects.order_by("weeks"))
    assert [c.weeks for c in check_ins] == [2, 6, 12]
    assert check_ins[0].due_at == MONDAY_0900 + timedelta(weeks=2)
    deadline = Deadline.objects.get(kind=CHECK_IN, subject_id=str(check_ins[0].pk))
    with time_machine.travel(deadline.due_at + timedelta(seconds=1), tick=False):
        assert deadline_fire(deadline_id=deadline.pk).outcome == Outcome.FIRED
    assert Notification.objects.filter(
        recipient_key=f"user:{org.raiser.pk}", subject__icontains="private"
    ).exists()

    client.force_login(org.lead)
    assert "2-week" not in client.get(reverse("protection:check_ins")).content.decode()
    client.force_login(org.raiser)
    with time_machine.travel(MONDAY_0900 + timedelta(weeks=2, days=1)):
        page = client.get(reverse("protection:check_ins"))
        assert "2-week" in page.content.decode()
        response = client.post(
            reverse("protection:check_ins"),
            {"check_in": str(check_ins[0].pk), "answer": "yes", "text": "I was left off the rota."},
        )
    report = ProtectionReport.objects.get()
    assert response.status_code == 302 and report.reporter == org.raiser and report.escalation_id == esc.pk
    assert CheckIn.objects.get(pk=check_ins[0].pk).something_happening is True
