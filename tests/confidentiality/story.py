"""A confidential escalation driven through everything that writes about it, with a marker
string in every text a person types, and people of every role who take no part in it.

Used by the confidentiality walk: wherever a person who gets 404 on the escalation looks, the
marker must not be there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import time_machine

from apps.accounts.roles import Role
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest, ExecutiveBrief, RequestStatus
from apps.escalations import services as escalations
from apps.escalations.models import Escalation
from tests.approvals.conftest import MONDAY_0900, build_org
from tests.escalations.conftest import person_for, raise_one
from tests.factories import UserFactory

# Two escalations, two markers: one driven to an approved brief after a rejection and an
# appeal, one left waiting for its approver (so inboxes and pending reports have it).
DECIDED = "Zq7kMarkerDecided"
PENDING = "Zq7kMarkerPending"


def marked_fields(marker: str) -> dict:
    return {
        "title": f"Fraud in the payments ledger {marker}",
        "nature_of_risk": f"Ledger entries altered after close {marker}",
        "who_is_impacted": f"Finance {marker}",
        "impact": f"Misstated accounts {marker}",
        "situation": f"Entries changed at night {marker}",
        "background": f"Seen twice this quarter {marker}",
        "assessment": f"Someone with admin rights {marker}",
        "recommendation": f"Freeze admin access {marker}",
    }


@dataclass
class Story:
    org: object
    decided: Escalation
    pending: Escalation
    decided_requests: list[ApprovalRequest]
    pending_request: ApprovalRequest
    brief: ExecutiveBrief
    # Everyone who takes part in one or both, and one person per role who takes part in none.
    participants: list = field(default_factory=list)
    bystanders: dict = field(default_factory=dict)

    def markers_for(self, user) -> dict[str, Escalation]:
        return {DECIDED: self.decided, PENDING: self.pending}


def tell_the_story() -> Story:
    org = build_org()
    team = org.person(org.raiser).team
    with time_machine.travel(MONDAY_0900, tick=False):
        decided = raise_one(org, confidential=True, fields=marked_fields(DECIDED))
        escalations.escalation_acknowledge(escalation=decided, actor=org.engineer)
        escalations.escalation_comment(escalation=decided, actor=org.engineer, text=f"Looking {DECIDED}")
        escalations.escalation_escalate(
            escalation=decided, actor=org.raiser, reason=f"The engineer is stuck {DECIDED}"
        )
        escalations.escalation_comment(
            escalation=decided, actor=org.eng_manager, text=f"Confirmed {DECIDED}", stakeholder_update=False
        )
    with time_machine.travel(MONDAY_0900 + timedelta(minutes=5), tick=False):
        escalations.escalation_escalate(
            escalation=decided, actor=org.eng_manager, reason=f"Needs the CTO now {DECIDED}"
        )
        first = ApprovalRequest.objects.get(escalation=decided, status=RequestStatus.PENDING)
        approvals.approval_decide(
            request=first, actor=org.lead, approve=False, reason=f"Level two can fix it {DECIDED}"
        )
        appeal = approvals.approval_appeal(
            request=ApprovalRequest.objects.get(pk=first.pk),
            actor=org.raiser,
            reason=f"Level two cannot, the ledger is still open {DECIDED}",
        )
        approvals.approval_decide(
            request=appeal,
            actor=org.director,
            approve=True,
            brief_edits={"what_is_asked": f"Decide on freezing admin access today {DECIDED}"},
        )
        brief = ExecutiveBrief.objects.get(request=appeal)
        approvals.brief_acknowledge(brief=brief, actor=org.cto)
    with time_machine.travel(MONDAY_0900 + timedelta(minutes=10), tick=False):
        pending = raise_one(org, confidential=True, fields=marked_fields(PENDING))
        escalations.escalation_escalate(escalation=pending, actor=org.raiser, reason=f"No answer {PENDING}")
        escalations.escalation_escalate(escalation=pending, actor=org.eng_manager, reason=f"CTO {PENDING}")
        waiting = ApprovalRequest.objects.get(escalation=pending, status=RequestStatus.PENDING)
    cto = org.person(org.cto)
    bystanders = {}
    for role in Role:
        user = UserFactory(username=f"bystander_{role.value}", roles=[role])
        # In the raiser's own team, under the same line: oversight of the team must not
        # open confidential escalations the person takes no part in.
        person_for(user, rank=95 if role == Role.EXECUTIVE else 45, team=team, manager=cto)
        bystanders[role] = user
    return Story(
        org=org,
        decided=decided,
        pending=pending,
        decided_requests=[first, appeal],
        pending_request=waiting,
        brief=brief,
        participants=[org.raiser, org.engineer, org.eng_manager, org.lead, org.director, org.cto],
        bystanders=bystanders,
    )
