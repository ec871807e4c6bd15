"""The raiser always knows the next step (issue 12): the page says whose approval it waits for
and until when, and after a rejection it shows the reason with the Appeal button."""

import pytest
from django.urls import reverse

from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest, RequestStatus
from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(db):
    return build_org()


def test_asking_for_an_executive_level_says_whose_approval_it_waits_for(client, line):
    esc = to_level_two(line)
    esc.refresh_from_db()
    client.force_login(line.eng_manager)
    response = client.post(
        reverse("escalations:escalate", args=[esc.pk]),
        {"version": esc.version, "to_level": 3, "reason": "Needs the CTO's decision now."},
        follow=True,
    )
    page = response.content.decode()
    assert "Asked for Lee Lead&#x27;s approval." in page and "Escalated." not in page
    # Said once: the banner gives the deadline, the confirmation does not repeat it.
    assert 'id="waiting-for-approval"' in page and page.count("approval, due") == 1


def test_after_a_rejection_the_raiser_sees_the_reason_and_appeals_from_the_escalation_page(client, line):
    esc = to_level_two(line)
    ask = ask_for_the_cto(line, esc)
    approvals.approval_decide(approval=ask, actor=line.lead, approve=False, reason="Level two can still fix it today.")
    client.force_login(line.raiser)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert 'id="approval-refused"' in page and "Level two can still fix it today." in page
    assert "Appeal to Dana Director" in page
    response = client.post(reverse("approvals:appeal", args=[ask.pk]), {"reason": "Six hours down; level two has no fix."})
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(appeal_of=ask).status == RequestStatus.PENDING
    # Someone else sees the refusal but is offered no appeal.
    client.force_login(line.engineer)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert "Appeal to" not in page
