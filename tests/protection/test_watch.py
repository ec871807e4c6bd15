"""Watch windows and adverse actions: the story of issue 10. A person escalates; their manager
rejects the escalation's executive approval; three months later the manager demotes them. The
flag names the escalation and the manager's link to it, and reaches the protection officers
only. The demotion waits for an independent officer's sign-off."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.approvals.services import approval_decide
from apps.notifications.models import Notification
from apps.protection import services
from apps.protection.models import AdverseAction, ProtectionFlag, WatchWindow
from tests.approvals.conftest import MONDAY_0900, ask_for_the_cto, build_org, to_level_two

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(officer, second_officer):
    org = build_org()
    esc = to_level_two(org)
    request = ask_for_the_cto(org, esc)
    with time_machine.travel(MONDAY_0900 + timedelta(hours=1), tick=False):
        approval_decide(approval=request, actor=org.lead, approve=False, reason="Not an executive matter.")
    return org, esc


def demote(org, **kw):
    with time_machine.travel(MONDAY_0900 + timedelta(days=91), tick=False):
        return services.adverse_action_record(
            person=org.raiser,
            actor=org.lead,
            kind=AdverseAction.Kind.DEMOTION,
            takes_effect_on=date(2026, 3, 1),
            recorded_by=kw.pop("recorded_by", None),
            **kw,
        )


def test_raising_opens_a_window_held_under_a_pseudonym(story):
    org, esc = story
    window = WatchWindow.objects.get(escalation_id=esc.pk)
    assert window.pseudonym == services.pseudonym(org.raiser.pk)
    # No column names the person: nothing links to a user, nothing holds their name.
    assert not [f for f in WatchWindow._meta.concrete_fields if f.is_relation]
    row = WatchWindow.objects.values().get()
    assert org.raiser.username not in str(row) and org.raiser.get_full_name() not in str(row)
    assert (window.ends_at - window.opens_at).days in (365, 366)


def test_a_demotion_by_the_manager_who_rejected_the_approval_reaches_only_the_officers(
    client, story, officer, second_officer
):
    org, esc = story
    Notification.objects.all().delete()
    action = demote(org, reason="Performance review outcome.", recorded_by=officer)
    flag = ProtectionFlag.objects.get()
    assert flag.escalation_ref == esc.reference
    assert "rejected its executive approval" in flag.actor_link and "manages its raiser" in flag.actor_link
    told = set(Notification.objects.values_list("recipient_key", flat=True))
    assert told == {f"user:{officer.pk}", f"user:{second_officer.pk}"}
    assert action.status == AdverseAction.Status.AWAITING_SIGN_OFF
    for user in (org.raiser, org.lead, org.director, org.cto, org.auditor):
        client.force_login(user)
        assert client.get(reverse("protection:flags")).status_code == 403
        assert flag.actor_link not in client.get(reverse("home")).content.decode()
    client.force_login(second_officer)
    page = client.get(reverse("protection:flags")).content.decode()
    assert esc.reference in page and "rejected its executive approval" in page


def test_a_dismissal_flag_is_urgent(story, officer):
    org, _ = story
    Notification.objects.all().delete()
    with time_machine.travel(MONDAY_0900 + timedelta(days=30), tick=False):
        services.adverse_action_record(
            person=org.raiser,
            actor=org.lead,
            kind="dismissal",
            takes_effect_on=date(2026, 1, 1),
            reason="Redundancy.",
        )
    note = Notification.objects.get(recipient_key=f"user:{officer.pk}")
    assert note.subject.startswith("Urgent") and note.status == "pending"


def test_an_action_against_a_watched_person_needs_a_reason_and_an_independent_sign_off(
    story, officer, second_officer
):
    org, _ = story
    with pytest.raises(ValidationError, match="document the reason"):
        demote(org, recorded_by=officer)
    assert not AdverseAction.objects.exists()
    action = demote(org, reason="Restructuring of the team.", recorded_by=officer)
    with pytest.raises(ValidationError, match="independent officer"):
        services.adverse_action_sign_off(action=action, actor=officer, reason="Looks fine.")
    action = services.adverse_action_sign_off(
        action=action, actor=second_officer, reason="Checked the records."
    )
    assert action.status == AdverseAction.Status.EFFECTIVE and action.signed_off_by == second_officer


def test_an_action_against_someone_not_watched_takes_effect_at_once(officer, raiser):
    action = services.adverse_action_record(
        person=raiser, kind="transfer", takes_effect_on=date(2026, 1, 1), recorded_by=officer
    )
    assert action.status == AdverseAction.Status.EFFECTIVE and not ProtectionFlag.objects.exists()


def test_an_appeal_extends_rather_than_duplicates_the_window(story):
    org, esc = story
    from apps.approvals.models import ApprovalRequest
    from apps.approvals.services import approval_appeal

    rejected = ApprovalRequest.objects.get(escalation=esc, status="rejected")
    first = WatchWindow.objects.get(escalation_id=esc.pk)
    with time_machine.travel(MONDAY_0900 + timedelta(days=2), tick=False):
        approval_appeal(approval=rejected, actor=org.raiser, reason="The risk is real and growing.")
    window = WatchWindow.objects.get(escalation_id=esc.pk)
    assert window.ends_at > first.ends_at


def test_an_hr_system_posts_adverse_actions_with_its_token(client, story):
    org, _ = story
    _, token = services.integration_token_create(name="Workday")
    url = reverse("protection:api_adverse_action")
    body = {
        "person": org.raiser.username,
        "actor": org.lead.username,
        "kind": "demotion",
        "takes_effect_on": "2026-03-01",
        "reason": "Grade review.",
    }
    bad = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION="Bearer wrong")
    assert bad.status_code == 401 and not AdverseAction.objects.exists()
    unknown = client.post(
        url,
        {**body, "person": "no-such-person"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert (
        unknown.status_code == 400
        and "person" in unknown.json()["error"]
        and not AdverseAction.objects.exists()
    )
    with time_machine.travel(MONDAY_0900 + timedelta(days=91), tick=False):  # inside the window
        ok = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 201 and ok.json()["status"] == "awaiting_sign_off"
    assert AdverseAction.objects.get().source == "Workday" and ProtectionFlag.objects.count() == 1
