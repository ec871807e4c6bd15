"""Identity disclosure: asked with a reason, decided once by a second officer, seen by the
requester alone until it expires, and the reporter told or the reason not to recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.errors import Conflict
from apps.protection import selectors, services
from apps.protection.models import CaseEntry, IdentityDisclosure
from tests.protection.conftest import file_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(officer, second_officer, reporter):
    report, _ = file_report(reporter)
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    services.reviewer_assign(report=report, reviewer=second_officer, actor=officer)
    return report, services.disclosure_request(report=report, actor=officer, reason="Need to interview them.")


def test_the_requester_cannot_decide_their_own_request(asked, officer):
    _, item = asked
    with pytest.raises(ValidationError, match="not the one who asked"):
        services.disclosure_decide(disclosure=item, actor=officer, approve=True, reason="Fine.")
    item.refresh_from_db()
    assert item.status == IdentityDisclosure.Status.PENDING


def test_a_request_is_decided_once(asked, second_officer):
    _, item = asked
    services.disclosure_decide(disclosure=item, actor=second_officer, approve=False, reason="Not needed yet.")
    with pytest.raises(Conflict, match="already denied"):
        services.disclosure_decide(
            disclosure=item, actor=second_officer, approve=True, reason="Changed my mind."
        )


def test_only_the_requester_sees_the_identity_and_only_until_it_expires(
    asked, officer, second_officer, reporter
):
    report, item = asked
    assert str(reporter) not in selectors.reporter_identity(officer, report)
    services.disclosure_decide(
        disclosure=item, actor=second_officer, approve=True, reason="Interview needed."
    )
    assert selectors.reporter_identity(officer, report) == str(reporter)
    assert AuditEvent.objects.filter(action="protection.identity_read", actor_id=officer.pk).exists()
    assert str(reporter) not in selectors.reporter_identity(second_officer, report)
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert str(reporter) not in selectors.reporter_identity(officer, report)
    notice = report.entries.get(kind=CaseEntry.Kind.NOTICE)
    assert notice in selectors.entries_for_reporter(report)


def test_not_telling_the_reporter_needs_a_reason_which_is_recorded(asked, second_officer):
    report, item = asked
    with pytest.raises(ValidationError, match="why the reporter is not told"):
        services.disclosure_decide(
            disclosure=item, actor=second_officer, approve=True, reason="Needed.", tell_reporter=False
        )
    services.disclosure_decide(
        disclosure=item,
        actor=second_officer,
        approve=True,
        reason="Needed.",
        tell_reporter=False,
        not_told_reason="Telling them now would tip off the manager under investigation.",
    )
    item.refresh_from_db()
    assert not item.reporter_told and "tip off" in item.not_told_reason
    assert not report.entries.filter(kind=CaseEntry.Kind.NOTICE).exists()


def test_the_decision_page_refuses_the_requester(client, asked, officer):
    _, item = asked
    client.force_login(officer)
    response = client.post(
        reverse("protection:disclosure", args=[item.pk]), {"approve": "yes", "reason": "Mine."}
    )
    assert response.status_code == 400 and "not the one who asked" in response.content.decode()
