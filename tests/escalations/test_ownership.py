"""Escalating never takes the case away from the people working it (issue 12).

The owner works it; the level reached engages its person, who acknowledges, takes ownership
or names an owner; everyone who owned it stays on as a responder (stakeholder updates,
comments, a proposed resolution); an executive reached gets a decision view, not the
responder's forms; owners are named from the people who can work it, not the whole company.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.accounts.roles import Role
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest, RequestStatus
from apps.escalations import selectors, services
from apps.escalations.models import Status
from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two
from tests.escalations.conftest import person_for, raise_one

pytestmark = pytest.mark.django_db

SUMMARY = "Rolled back the deploy; error rate normal for an hour."


def escalated(world):
    esc = raise_one(world)
    services.escalation_escalate(escalation=esc, actor=world.raiser, reason="No answer and the error rate doubles.")
    esc.refresh_from_db()
    return esc


def test_escalating_engages_the_level_and_the_owner_keeps_working(world):
    esc = escalated(world)
    engineer, manager = world.person(world.engineer), world.person(world.eng_manager)
    assert (esc.owner, esc.engaged, esc.status) == (engineer, manager, Status.OPEN)
    assert set(esc.responders.all()) == {engineer}
    # The manager acknowledges (the clock is theirs); the engineer cannot acknowledge for them.
    with pytest.raises(PermissionDenied):
        services.escalation_acknowledge(escalation=esc, actor=world.engineer)
    services.escalation_acknowledge(escalation=esc, actor=world.eng_manager)
    # The engineer still updates stakeholders and resolves.
    services.escalation_comment(escalation=esc, actor=world.engineer, text="Rolling back now.", stakeholder_update=True)
    services.escalation_resolve(
        escalation=esc, actor=world.engineer, summary=SUMMARY, criteria_confirmed=list(esc.criteria)
    )
    esc.refresh_from_db()
    assert esc.status == Status.RESOLVED


def test_the_person_reached_takes_ownership_and_the_previous_owner_stays_on(world):
    esc = escalated(world)
    services.escalation_take_ownership(escalation=esc, actor=world.eng_manager)
    esc.refresh_from_db()
    engineer, manager = world.person(world.engineer), world.person(world.eng_manager)
    assert esc.owner == manager and esc.status == Status.ACKNOWLEDGED  # taking it is acknowledging
    assert set(esc.responders.all()) == {engineer, manager}
    services.escalation_comment(escalation=esc, actor=world.engineer, text="Handing notes over.", stakeholder_update=True)
    services.escalation_resolve(
        escalation=esc, actor=world.engineer, summary=SUMMARY, criteria_confirmed=list(esc.criteria)
    )


def test_someone_outside_the_work_cannot_resolve_or_update(world):
    esc = escalated(world)
    with pytest.raises(PermissionDenied, match="people working on"):
        services.escalation_resolve(
            escalation=esc, actor=world.eng_manager, summary=SUMMARY, criteria_confirmed=list(esc.criteria)
        )


def test_a_missed_acknowledgement_calls_in_the_backup_of_the_person_reached_not_the_owner(world, user_factory):
    esc = escalated(world)
    deputy_user = user_factory(username="deputy1", roles=[Role.MANAGER, Role.RESPONDER])
    manager = world.person(world.eng_manager)
    deputy = person_for(deputy_user, rank=45, team=manager.team)
    from apps.contacts.models import BackupAssignment

    BackupAssignment.objects.create(person=manager, backup=deputy, starts_on="2020-01-01")
    services.clock_acknowledge_missed(escalation_id=esc.pk, payload={"level": 2, "person": manager.pk})
    esc.refresh_from_db()
    assert esc.engaged == deputy and esc.owner == world.person(world.engineer)


@pytest.fixture
def line(db):
    """The escalation world with a management line above the raiser (tests/approvals)."""
    return build_org()


@pytest.fixture
def at_the_cto(line):
    org = line
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    approvals.approval_decide(approval=ask, actor=org.lead, approve=True)
    esc.refresh_from_db()
    return esc


def test_an_executive_reached_gets_a_decision_view_not_the_responders_forms(at_the_cto, line):
    esc, org = at_the_cto, line
    assert esc.engaged == org.person(org.cto) and esc.owner == org.person(org.engineer)
    esc = selectors.get_escalation_for_user(org.cto, esc.pk)
    actions = selectors.actions_for(org.cto, esc)
    assert actions.decision_view and actions.acknowledge and actions.hand_off and actions.comment
    assert not (actions.resolve or actions.update or actions.de_escalate_to or actions.take_ownership)


def test_an_executive_names_an_owner_from_the_people_who_can_work_it(client, at_the_cto, line):
    esc, org = at_the_cto, line
    candidates = set(selectors.owner_candidates(esc))
    assert org.person(org.cto) not in candidates  # nor any other executive of the company
    assert org.person(org.backup) in candidates and org.person(org.eng_manager) in candidates
    client.force_login(org.cto)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert "Name an owner" in page and ">Resolve</legend>" not in page
    response = client.post(
        reverse("escalations:hand_off", args=[esc.pk]),
        {"version": esc.version, "to_person": org.person(org.eng_manager).pk, "context_summary": "Grace, run the rollback and report to me hourly."},
    )
    assert response.status_code == 302
    esc.refresh_from_db()
    assert esc.owner == org.person(org.eng_manager) and esc.engaged == org.person(org.cto)
    assert org.person(org.engineer) in esc.responders.all()


def test_reading_the_brief_acknowledges_the_executive_engagement(at_the_cto, line):
    esc, org = at_the_cto, line
    brief = ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.APPROVED).brief
    approvals.brief_acknowledge(brief=brief, actor=org.cto)
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED and esc.owner == org.person(org.engineer)


def test_a_previous_owner_still_finds_it_among_what_they_work_on(client, world):
    esc = escalated(world)
    services.escalation_take_ownership(escalation=esc, actor=world.eng_manager)
    board = selectors.dashboard(world.engineer)
    assert [e.pk for e in board.owned] == [esc.pk]  # no longer the owner, still on it, listed once
    client.force_login(world.engineer)
    page = client.get(reverse("escalations:dashboard")).content.decode()
    assert "What I own or work on" in page and esc.reference in page
