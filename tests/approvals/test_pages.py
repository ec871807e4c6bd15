"""The approval pages: the inbox, deciding from a request page (with an edited brief),
refusals that change nothing, who may see what, the decision log and its CSV, the
bottleneck report, briefs (reading them is audited)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.approvals.models import ApprovalRequest, RequestStatus
from apps.audit.models import AuditEvent
from apps.escalations.models import Escalation
from tests.approvals.conftest import ask_for_the_cto, to_level_two
from tests.csvfiles import complete_body
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def pending_request(org) -> ApprovalRequest:
    return ask_for_the_cto(org, to_level_two(org))


def test_the_inbox_lists_what_waits_for_me_oldest_first(client, org):
    first = pending_request(org)
    esc = raise_one(org)
    from apps.escalations import services as esc_services

    esc_services.escalation_escalate(escalation=esc, actor=org.raiser, reason="Level 1 is not answering.")
    esc_services.escalation_escalate(
        escalation=esc, actor=org.eng_manager, reason="Needs the CTO's decision."
    )
    second = ApprovalRequest.objects.get(escalation=esc)
    client.force_login(org.lead)
    page = client.get(reverse("approvals:inbox")).content.decode()
    assert page.index(first.escalation.reference) < page.index(second.escalation.reference)
    assert "Brief preview" in page and "data-countdown" in page
    client.force_login(org.raiser)
    assert client.get(reverse("approvals:inbox")).status_code == 403


def test_approving_with_an_edited_brief_from_the_request_page(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    page = client.get(reverse("approvals:request", args=[ask.pk])).content.decode()
    assert "Approve and send the brief" in page and ask.brief.what_is_asked in page
    data = {
        "version": ask.version,
        "decision": "approve",
        "reason": "",
        **{
            f: getattr(ask.brief, f)
            for f in ("what_is_happening", "who_is_affected", "what_is_being_done", "next_update")
        },
        "what_is_asked": "Approve a customer credit of up to 50k.",
    }
    response = client.post(reverse("approvals:decide", args=[ask.pk]), data)
    assert response.status_code == 302
    ask.refresh_from_db()
    assert (
        ask.status == RequestStatus.APPROVED
        and ask.brief.what_is_asked == "Approve a customer credit of up to 50k."
    )


def test_rejecting_without_a_reason_is_a_400_that_changes_nothing(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    response = client.post(
        reverse("approvals:decide", args=[ask.pk]), {"version": ask.version, "decision": "reject"}
    )
    assert response.status_code == 400 and "A rejection needs a reason" in response.content.decode()
    ask.refresh_from_db()
    assert ask.status == RequestStatus.PENDING


def test_a_brief_with_a_secret_is_refused_with_what_matched(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    data = {
        "version": ask.version,
        "decision": "approve",
        **{
            f: getattr(ask.brief, f)
            for f in ("what_is_happening", "who_is_affected", "what_is_asked", "next_update")
        },
        "what_is_being_done": "Rotating the key AKIAIOSFODNN7EXAMPLE now",
    }
    response = client.post(reverse("approvals:decide", args=[ask.pk]), data)
    assert response.status_code == 400
    page = response.content.decode()
    # Said beside the box that holds it, and that box is marked, not only a banner.
    beside = page.split('id="id_what_is_being_done_error">')[1].split("</div>")[0]
    assert "looks like AWS access key" in beside
    [field] = [tag for tag in page.split("<textarea")[1:] if 'name="what_is_being_done"' in tag.split(">")[0]]
    assert "is-invalid" in field.split(">")[0]
    assert ApprovalRequest.objects.get(pk=ask.pk).status == RequestStatus.PENDING


def test_deciding_someone_elses_request_is_403_and_a_stale_decision_409(client, org):
    ask = pending_request(org)
    client.force_login(org.cto)  # sees it (an executive), but would approve a brief meant for himself
    response = client.post(
        reverse("approvals:decide", args=[ask.pk]), {"version": ask.version, "decision": "approve"}
    )
    assert response.status_code == 403 and "named in this escalation" in response.content.decode()
    client.force_login(org.director)  # oversees the team: may read the request, not decide it
    assert (
        client.post(reverse("approvals:decide", args=[ask.pk]), {"version": ask.version}).status_code == 403
    )
    client.force_login(org.outsider)  # no part and no oversight: the request does not exist for him
    assert (
        client.post(reverse("approvals:decide", args=[ask.pk]), {"version": ask.version}).status_code == 404
    )
    client.force_login(org.lead)
    client.post(
        reverse("approvals:decide", args=[ask.pk]),
        {"version": ask.version, "decision": "reject", "reason": "Level 2 can still fix it today."},
    )
    response = client.post(
        reverse("approvals:decide", args=[ask.pk]), {"version": ask.version, "decision": "approve"}
    )
    assert response.status_code == 409 and "changed while you were looking" in response.content.decode()


def test_a_request_is_not_found_by_people_outside_it(client, org, user_factory):
    from apps.accounts.roles import Role

    ask = pending_request(org)
    url = reverse("approvals:request", args=[ask.pk])
    for user, expected in (
        (org.raiser, 200),
        (org.lead, 200),
        (org.auditor, 200),
        (org.cto, 200),
        (org.engineer, 404),
        (user_factory(username="stranger", roles=[Role.MANAGER]), 404),
    ):
        client.force_login(user)
        assert client.get(url).status_code == expected, user


def test_the_raiser_appeals_from_the_request_page(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    client.post(
        reverse("approvals:decide", args=[ask.pk]),
        {"version": ask.version, "decision": "reject", "reason": "Level 2 can still fix it today."},
    )
    client.force_login(org.raiser)
    page = client.get(reverse("approvals:request", args=[ask.pk])).content.decode()
    assert "Appeal the rejection" in page and "protected act" in page
    response = client.post(reverse("approvals:appeal", args=[ask.pk]), {"reason": "short"})
    assert response.status_code == 400
    response = client.post(
        reverse("approvals:appeal", args=[ask.pk]), {"reason": "Six hours down; level 2 has no fix."}
    )
    appeal = ApprovalRequest.objects.get(appeal_of=ask)
    assert response.status_code == 302 and response["Location"] == reverse(
        "approvals:request", args=[appeal.pk]
    )


def test_the_decision_log_is_scoped_filtered_and_exported(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    client.post(
        reverse("approvals:decide", args=[ask.pk]),
        {"version": ask.version, "decision": "reject", "reason": "Level 2 can still fix it today."},
    )
    client.force_login(org.auditor)
    page = client.get(reverse("approvals:log")).content.decode()
    assert ask.escalation.reference in page and "Level 2 can still fix it today." in page
    page = client.get(reverse("approvals:log"), {"outcome": "approved"}).content.decode()
    assert ask.escalation.reference not in page
    response = client.get(reverse("approvals:log"), {"export": "csv"})
    lines = complete_body(response).strip().splitlines()
    assert lines[0].startswith("at,request,kind") and len(lines) == 2 and ",rejected," in lines[1]
    assert AuditEvent.objects.filter(action="approvals.log_exported", actor_username="auditor1").exists()
    client.force_login(org.raiser)
    assert client.get(reverse("approvals:log")).status_code == 403


def test_a_manager_sees_their_own_teams_decisions_only(
    client, org, user_factory, team_factory, person_factory
):
    from apps.accounts.roles import Role

    ask = pending_request(org)
    client.force_login(org.lead)
    client.post(
        reverse("approvals:decide", args=[ask.pk]),
        {"version": ask.version, "decision": "reject", "reason": "Level 2 can still fix it today."},
    )
    assert ask.escalation.reference in client.get(reverse("approvals:log")).content.decode()
    elsewhere = user_factory(username="othermgr", roles=[Role.MANAGER])
    person_factory(user=elsewhere, team=team_factory())
    client.force_login(elsewhere)
    assert ask.escalation.reference not in client.get(reverse("approvals:log")).content.decode()


def test_the_bottleneck_report(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    client.post(
        reverse("approvals:decide", args=[ask.pk]),
        {"version": ask.version, "decision": "reject", "reason": "Level 2 can still fix it today."},
    )
    client.force_login(org.auditor)
    page = client.get(reverse("approvals:bottlenecks")).content.decode()
    assert "Lee Lead" in page and 'id="pending-by-age"' in page


def test_reading_a_brief_is_audited_and_managers_read_only_sent_ones(client, org):
    ask = pending_request(org)
    url = reverse("approvals:brief", args=[ask.brief.pk])
    client.force_login(org.lead)
    assert client.get(url).status_code == 403  # not approved yet
    client.force_login(org.auditor)
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="approvals.brief_read", actor_username="auditor1").count() == 1
    client.force_login(org.raiser)
    assert client.get(url).status_code == 403  # staff do not read briefs


def test_the_executive_acknowledges_from_the_brief_page(client, org):
    from apps.approvals.services import approval_decide

    ask = pending_request(org)
    approval_decide(approval=ask, actor=org.lead, approve=True)
    client.force_login(org.cto)
    url = reverse("approvals:brief", args=[ask.brief.pk])
    assert "I have read it" in client.get(url).content.decode()
    client.post(reverse("approvals:brief_ack", args=[ask.brief.pk]))
    assert "You acknowledged it" in client.get(url).content.decode()
    assert Escalation.objects.get(pk=ask.escalation_id).status == "acknowledged"


def test_the_decision_log_costs_the_same_queries_as_it_grows(client, org):
    client.force_login(org.auditor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("approvals:log")).status_code == 200
        return len(ctx.captured_queries)

    from apps.approvals.services import approval_decide
    from apps.escalations import services as esc_services

    def one_rejection():
        esc = raise_one(org)
        esc_services.escalation_escalate(escalation=esc, actor=org.raiser, reason="Level 1 is not answering.")
        esc_services.escalation_escalate(
            escalation=esc, actor=org.eng_manager, reason="Needs the CTO's decision."
        )
        approval_decide(
            approval=ApprovalRequest.objects.get(escalation=esc),
            actor=org.lead,
            approve=False,
            reason="Level 2 can still fix it today.",
        )

    for _ in range(2):
        one_rejection()
    few = queries()
    for _ in range(12):
        one_rejection()
    assert queries() == few


def test_asking_for_a_change_freeze_exception_from_the_freezes_page(client, org):
    from datetime import timedelta

    from django.utils import timezone

    from apps.policies.models import ChangeFreeze

    freeze = ChangeFreeze.objects.create(
        name="Year-end freeze",
        reason="Financial close",
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=3),
    )
    client.force_login(org.raiser)
    assert "Ask for an exception" in client.get(reverse("policies:freezes")).content.decode()
    url = reverse("approvals:freeze_exception", args=[freeze.pk])
    response = client.post(url, {"change_summary": "too short"})
    assert response.status_code == 400 and "at least 20 characters" in response.content.decode()
    assert not ApprovalRequest.objects.exists()
    response = client.post(
        url, {"change_summary": "Patch the TLS library on the gateway; rollback is one click."}
    )
    ask = ApprovalRequest.objects.get()
    assert response.status_code == 302 and ask.approver == org.person(org.lead) and ask.freeze == freeze
    client.force_login(org.lead)
    assert (
        "Change-freeze exception: Year-end freeze" in client.get(reverse("approvals:inbox")).content.decode()
    )
