"""Two approvers deciding the same request at the same moment: exactly one decision stands.
Real threads and connections on committed data (PostgreSQL on the postgres pass)."""

from __future__ import annotations

import pytest

from apps.accounts.roles import Role
from apps.approvals import services
from apps.approvals.models import ApprovalDecision, ApprovalRequest, RequestStatus
from apps.common.errors import Conflict
from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two
from tests.escalations.conftest import person_for
from tests.factories import UserFactory
from tests.integration.test_escalation_races import race

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("attempt", range(3))
def test_the_manager_and_an_executive_decide_at_once_one_decision_stands(transactional_db, attempt):
    org = build_org()
    coo_user = UserFactory(username="coo", first_name="Cora", last_name="Ops", roles=[Role.EXECUTIVE])
    person_for(coo_user, rank=90, team=org.person(org.cto).team, title="COO")
    ask = ask_for_the_cto(org, to_level_two(org))
    version = ask.version
    results = race(
        lambda: services.approval_decide(approval=ask, actor=org.lead, approve=True, expected_version=version),
        lambda: services.approval_decide(
            approval=ask,
            actor=coo_user,
            approve=False,
            reason="Not an executive matter yet.",
            expected_version=version,
        ),
    )
    winners = [r for r in results if isinstance(r, ApprovalRequest)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    ask.refresh_from_db()
    assert ask.status in (RequestStatus.APPROVED, RequestStatus.REJECTED) and ask.version == version + 1
    assert ApprovalDecision.objects.filter(approval=ask).count() == 1
    esc = ask.escalation
    esc.refresh_from_db()
    assert esc.current_level == (3 if ask.status == RequestStatus.APPROVED else 2)
