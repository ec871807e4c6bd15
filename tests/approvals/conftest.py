"""The organisation of the approval tests: a real management line above the raiser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from apps.accounts.roles import Role
from apps.approvals.models import ApprovalRequest, RequestStatus
from apps.contacts.models import BackupAssignment
from apps.escalations import services as esc_services
from tests.escalations.conftest import build_world, person_for, raise_one
from tests.factories import UserFactory

MONDAY_0900 = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def org(db):
    return build_org()


def build_org(**world):
    """The world of the escalation tests, with a proper management line above the raiser:
    raiser -> team lead (manager) -> director (manager, backed up by a deputy) -> CTO."""
    world = build_world(**world)
    cto = world.person(world.cto)
    team = cto.team
    director_user = UserFactory(
        username="director", first_name="Dana", last_name="Director", roles=[Role.MANAGER]
    )
    deputy_user = UserFactory(username="deputy", first_name="Deb", last_name="Deputy", roles=[Role.MANAGER])
    lead_user = UserFactory(username="lead", first_name="Lee", last_name="Lead", roles=[Role.MANAGER])
    director = person_for(director_user, rank=70, team=team, manager=cto, title="Director")
    deputy = person_for(deputy_user, rank=60, team=team, manager=director, title="Deputy director")
    lead = person_for(lead_user, rank=40, team=team, manager=director, title="Team lead")
    BackupAssignment.objects.create(person=lead, backup=deputy, starts_on=date(2020, 1, 1))
    raiser = world.person(world.raiser)
    raiser.manager = lead
    raiser.save()
    world.lead, world.director, world.deputy = lead_user, director_user, deputy_user
    return world


def to_level_two(world, at=MONDAY_0900):
    with time_machine.travel(at, tick=False):
        esc = raise_one(world)
        esc_services.escalation_escalate(
            escalation=esc, actor=world.raiser, reason="Level 1 is not answering."
        )
    return esc


def ask_for_the_cto(world, esc, at=MONDAY_0900 + timedelta(minutes=5)):
    with time_machine.travel(at, tick=False):
        esc_services.escalation_escalate(
            escalation=esc, actor=world.eng_manager, reason="Needs the CTO's decision."
        )
    esc.refresh_from_db()
    return ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.PENDING)
