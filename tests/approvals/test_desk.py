"""An executive's desk: the briefs sent to them, unread first, with what is asked, who owns it
now and the time left on their acknowledge clock; a home tile counts the unread ones (issue 12)."""

import pytest
from django.urls import reverse

from apps.approvals import selectors, services
from apps.escalations import services as esc_services
from tests.approvals.conftest import ask_for_the_cto, to_level_two
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def approved_for_the_cto(org, ask_text: str):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    services.approval_decide(approval=ask, actor=org.lead, approve=True, brief_edits={"what_is_asked": ask_text})
    ask.refresh_from_db()
    return esc, ask.brief


def test_the_desk_lists_unread_first_with_the_clock_and_the_owner_now(client, org):
    first_esc, first = approved_for_the_cto(org, "Approve the customer credit for the EU merchants.")
    second_esc, second = approved_for_the_cto(org, "Decide whether we stop card payments tonight.")
    services.brief_acknowledge(brief=first, actor=org.cto)
    rows = selectors.desk(org.cto)
    assert [r.brief for r in rows] == [second, first]  # unread first
    assert rows[0].unread and rows[0].ack_due_at is not None  # its clock waits on the CTO
    assert not rows[1].unread and rows[1].ack_due_at is None  # acknowledged: no clock of theirs
    client.force_login(org.cto)
    page = client.get(reverse("approvals:briefs")).content.decode()
    assert page.index("Decide whether we stop") < page.index("Approve the customer credit")
    assert "owner now: Tom Herr" in page
    home = client.get(reverse("home")).content.decode()
    assert 'id="briefs-tile"' in home and "1</span><span class=\"stat-label\">brief to read" in home


def test_the_brief_page_names_the_owner_now_not_at_drafting(client, org):
    esc, brief = approved_for_the_cto(org, "Approve the customer credit for the EU merchants.")
    esc.refresh_from_db()
    esc_services.escalation_hand_off(
        escalation=esc,
        actor=org.cto,
        to_person=org.person(org.eng_manager),
        context_summary="Grace, run the rollback and report hourly.",
    )
    client.force_login(org.cto)
    page = client.get(reverse("approvals:brief", args=[brief.pk])).content.decode()
    assert "Owner now: <strong>Grace Lind</strong>" in page


def test_the_home_page_counts_resolutions_the_raiser_must_confirm(client, org):
    esc = raise_one(org)
    esc_services.escalation_acknowledge(escalation=esc, actor=org.engineer)
    esc_services.escalation_resolve(
        escalation=esc,
        actor=org.engineer,
        summary="Rolled back the deploy; error rate normal for an hour.",
        criteria_confirmed=list(esc.criteria),
    )
    client.force_login(org.raiser)
    home = client.get(reverse("home")).content.decode()
    assert 'id="to-confirm"' in home and "resolution to confirm" in home
