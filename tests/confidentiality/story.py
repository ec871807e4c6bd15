"""Two confidential escalations driven through everything that writes about them, with a marker
string in every text a person types, added to the URL walk's world (``tests/urlwalk.py``)
together with one person per role who takes part in neither.

Used by the confidentiality walk: wherever a person who gets 404 on an escalation looks, its
marker must not be there.
"""

from __future__ import annotations

from types import SimpleNamespace

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest, ExecutiveBrief, RequestStatus
from apps.contacts.models import Person
from apps.escalations import services as escalations
from tests.escalations.conftest import person_for, raise_one
from tests.factories import UserFactory
from tests.urlwalk import World

# One marker per escalation: "decided" reaches an approved brief after a rejection and an
# appeal; "pending" waits for its approver (so inboxes and pending reports have it).
DECIDED = "Zq7kMarkerDecided"
PENDING = "Zq7kMarkerPending"
MARKERS = {"secret_decided": DECIDED, "secret_pending": PENDING}


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


def tell_the_story(world: World) -> World:
    """Adds ``secret_decided`` and ``secret_pending`` to the world's escalations (and their
    requests and briefs), and ``bystander_<role>`` users. Returns the same world."""
    u = world.users
    org = SimpleNamespace(raiser=u["raiser"], service=world.service)
    decided = raise_one(org, confidential=True, fields=marked_fields(DECIDED))
    escalations.escalation_acknowledge(escalation=decided, actor=u["engineer"])
    escalations.escalation_comment(escalation=decided, actor=u["engineer"], text=f"Looking {DECIDED}")
    escalations.escalation_escalate(escalation=decided, actor=u["raiser"], reason=f"The engineer is stuck {DECIDED}")
    escalations.escalation_comment(escalation=decided, actor=u["eng_manager"], text=f"Confirmed {DECIDED}")
    escalations.escalation_escalate(escalation=decided, actor=u["eng_manager"], reason=f"Needs the CTO now {DECIDED}")
    first = ApprovalRequest.objects.get(escalation=decided, status=RequestStatus.PENDING)
    approvals.approval_decide(approval=first, actor=u["lead"], approve=False, reason=f"Level two can fix it {DECIDED}")
    appeal = approvals.approval_appeal(
        approval=ApprovalRequest.objects.get(pk=first.pk),
        actor=u["raiser"],
        reason=f"Level two cannot, the ledger is still open {DECIDED}",
    )
    approvals.approval_decide(
        approval=appeal,
        actor=u["director"],
        approve=True,
        brief_edits={"what_is_asked": f"Decide on freezing admin access today {DECIDED}"},
    )
    brief = ExecutiveBrief.objects.get(approval=appeal)
    approvals.brief_acknowledge(brief=brief, actor=u["cto"])

    pending = raise_one(org, confidential=True, fields=marked_fields(PENDING))
    escalations.escalation_escalate(escalation=pending, actor=u["raiser"], reason=f"No answer {PENDING}")
    escalations.escalation_escalate(escalation=pending, actor=u["eng_manager"], reason=f"CTO {PENDING}")
    waiting = ApprovalRequest.objects.get(escalation=pending, status=RequestStatus.PENDING)

    world.escalations.update(secret_decided=decided, secret_pending=pending)
    world.requests.update(secret_rejected=first, secret_appeal=appeal, secret_waiting=waiting)
    world.briefs.update(secret_sent=brief, secret_draft=waiting.brief)
    # People of every role who take part in neither, in the raiser's own team under the CTO:
    # overseeing the team must not open a confidential escalation one takes no part in.
    cto = Person.objects.get(user=u["cto"])
    for role in Role:
        user = UserFactory(username=f"bystander_{role.value}", roles=[role])
        person_for(user, rank=95 if role == Role.EXECUTIVE else 45, team=cto.team, manager=cto)
        u[f"bystander_{role.value}"] = User.objects.get(pk=user.pk)
    return world
