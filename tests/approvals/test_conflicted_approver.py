"""The raiser can say their manager is part of what they are raising (issue 10, item 9): the
approval an executive level needs then goes to the next person up the line, the claim is a
protected act (audited, and it opens the raiser's watch window), and only the raiser can make it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.roles import Role
from apps.approvals.models import ApprovalRequest, RequestStatus
from apps.audit.models import AuditEvent
from apps.escalations import services as esc_services
from apps.escalations.models import Escalation
from apps.protection.models import WatchWindow
from apps.protection.services.watch import pseudonym
from tests.approvals.conftest import build_org, to_level_two

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    org = build_org()
    org.raiser.groups.add(*_groups(Role.MANAGER))  # a raiser whose role may ask for level 3
    return org


def _groups(role):
    from django.contrib.auth.models import Group

    return [Group.objects.get(name=role.value)]


def test_the_raiser_sends_the_approval_past_a_conflicted_manager(org):
    esc = to_level_two(org)
    esc.refresh_from_db()
    windows_before = WatchWindow.objects.filter(pseudonym=pseudonym(org.raiser.pk)).count()
    esc_services.escalation_escalate(
        escalation=esc,
        actor=org.raiser,
        to_level=3,
        reason="My team lead signed off the change that broke it.",
        manager_conflicted=True,
    )
    approval = ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.PENDING)
    assert approval.approver == org.person(org.director)  # not Lee Lead, the raiser's manager
    assert "conflicted" in approval.route
    [act] = AuditEvent.objects.filter(action="protection.protected_act")
    assert "Lee Lead" in act.data["act"] and act.actor_id == org.raiser.pk
    assert WatchWindow.objects.filter(pseudonym=pseudonym(org.raiser.pk)).count() >= max(windows_before, 1)


def test_without_the_claim_the_raisers_manager_decides(org):
    esc = to_level_two(org)
    esc.refresh_from_db()
    esc_services.escalation_escalate(
        escalation=esc, actor=org.raiser, to_level=3, reason="Needs the CTO now."
    )
    approval = ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.PENDING)
    assert approval.approver == org.person(org.lead)
    assert not AuditEvent.objects.filter(action="protection.protected_act").exists()


def test_only_the_raiser_can_say_their_manager_is_conflicted(org):
    esc = to_level_two(org)
    esc.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        esc_services.escalation_escalate(
            escalation=esc,
            actor=org.eng_manager,
            to_level=3,
            reason="Needs the CTO's decision.",
            manager_conflicted=True,
        )
    assert "Only the person who raised it" in refused.value.message_dict["manager_conflicted"][0]
    assert not ApprovalRequest.objects.filter(escalation=esc).exists()
    assert Escalation.objects.get(pk=esc.pk).current_level == 2


def test_the_escalate_form_offers_the_claim_to_the_raiser_only(client, org):
    esc = to_level_two(org)
    url = reverse("escalations:detail", args=[esc.pk])
    client.force_login(org.raiser)
    assert "My manager is part of what I am raising" in client.get(url).content.decode()
    client.force_login(org.eng_manager)
    assert "My manager is part of what I am raising" not in client.get(url).content.decode()
    client.force_login(org.raiser)
    esc.refresh_from_db()
    response = client.post(
        reverse("escalations:escalate", args=[esc.pk]),
        {
            "version": esc.version,
            "to_level": 3,
            "reason": "My lead approved the change.",
            "manager_conflicted": "on",
        },
    )
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(escalation=esc).approver == org.person(org.director)
