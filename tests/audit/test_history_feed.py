"""One feed of every change, and each object's own history, with diffs, scoped like the trail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.diffs import word_diff
from apps.audit.feed import Cursor, FeedQuery, feed_page
from apps.audit.models import AuditEvent
from apps.contacts.services import contact_methods_set
from apps.escalations.services import escalation_acknowledge
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def test_the_feed_shows_each_change_with_its_diff_and_a_link_to_the_objects_history(client, world):
    esc = escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    client.force_login(world.auditor)
    page = client.get(reverse("audit:history")).content.decode()
    assert esc.reference in page and "Tom Herr" not in page or "engineer" in page
    assert reverse("audit:object_history", args=["escalation", esc.pk]) in page
    assert "Acknowledged" in page  # the status's old and new labels
    own = client.get(reverse("audit:object_history", args=["escalation", esc.pk])).content.decode()
    assert f"History of {esc.reference}" in own and "Acknowledged" in own
    assert reverse("escalations:detail", args=[esc.pk]) in own


def test_filter_by_kind_person_and_period(client, world):
    person = world.person(world.engineer)
    contact_methods_set(
        person=person, methods=[("email", "tom@example.com")], actor=world.eng_manager, reason="New address"
    )
    esc = raise_one(world)
    client.force_login(world.auditor)
    by_kind = client.get(reverse("audit:history"), {"kind": "contact-method"}).content.decode()
    assert "tom@example.com" in by_kind and esc.reference not in by_kind
    by_person = client.get(reverse("audit:history"), {"person": "Grace Lind"}).content.decode()
    assert "tom@example.com" in by_person and esc.reference not in by_person
    assert (
        "No changes match" in client.get(reverse("audit:history"), {"until": "2001-01-01"}).content.decode()
    )
    bad = client.get(reverse("audit:history"), {"kind": "spaceship", "since": "soon"}).content.decode()
    assert "keeps no history of that kind" in bad and "Enter a date as YYYY-MM-DD." in bad


def test_managers_read_their_teams_changes_only(client, world, user_factory, person_factory, team_factory):
    from apps.accounts.roles import Role

    esc = raise_one(world)
    stranger = user_factory(username="stranger_mgr", roles=[Role.MANAGER])
    person_factory(user=stranger, team=team_factory())
    client.force_login(world.eng_manager)
    assert esc.reference in client.get(reverse("audit:history")).content.decode()
    client.force_login(stranger)
    assert esc.reference not in client.get(reverse("audit:history")).content.decode()
    assert client.get(reverse("audit:object_history", args=["escalation", esc.pk])).status_code == 404
    client.force_login(world.raiser)
    assert client.get(reverse("audit:history")).status_code == 403


def test_a_confidential_escalations_history_is_the_auditors_not_the_governance_admins(
    client, world, gov_admin
):
    esc = raise_one(world, confidential=True)
    url = reverse("audit:object_history", args=["escalation", esc.pk])
    client.force_login(gov_admin)
    assert client.get(url).status_code == 404
    assert esc.reference not in client.get(reverse("audit:history")).content.decode()
    client.force_login(world.auditor)
    assert client.get(url).status_code == 200


def test_keyset_pages_cover_every_change_once(world, auditor):
    for _ in range(4):
        escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    everything, _ = feed_page(auditor, FeedQuery(), size=500)
    seen, cursor = [], None
    while True:
        page, cursor = feed_page(auditor, FeedQuery(), cursor=cursor, size=3)
        seen += [(e["source"].key, e["history_id"]) for e in page]
        if cursor is None:
            break
    assert seen == [(e["source"].key, e["history_id"]) for e in everything]
    assert Cursor.parse(str(Cursor(everything[0]["date"], "escalation", 7))) is not None
    assert Cursor.parse("yesterday~x~1") is None and Cursor.parse("2026-01-01T00:00:00~x~" + "9" * 30) is None


def test_a_page_costs_the_same_queries_however_many_changes(client, world):
    client.force_login(world.auditor)
    escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    client.get(reverse("audit:history"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("audit:history"))
    for _ in range(5):
        escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("audit:history"))
    assert len(many) == len(few)


def test_an_approvers_edit_of_a_brief_reads_as_a_word_diff_and_reading_it_is_audited(client, db):
    from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two

    org = build_org()
    approval = ask_for_the_cto(org, to_level_two(org))
    from apps.approvals.services.brief import apply_brief_edits

    brief = approval.brief
    new = brief.what_is_happening + " The gateway vendor has confirmed a fault on their side."
    apply_brief_edits(brief, {"what_is_happening": new}, org.lead)
    client.force_login(org.auditor)
    page = client.get(reverse("audit:object_history", args=["brief", brief.pk])).content.decode()
    assert (
        '<ins class="text-success-emphasis">The gateway vendor has confirmed a fault on their side.</ins>'
        in page
    )
    read = AuditEvent.objects.filter(action="approvals.brief_read").latest("seq")
    assert read.actor_id == org.auditor.pk and read.data["page"] == "Brief history"
    client.force_login(org.eng_manager)  # a manager: the brief was not sent yet
    assert client.get(reverse("audit:object_history", args=["brief", brief.pk])).status_code == 404


def test_word_diff():
    assert word_diff("a b c d", "a x c d e") == [
        {"op": "same", "text": "a"},
        {"op": "del", "text": "b"},
        {"op": "ins", "text": "x"},
        {"op": "same", "text": "c d"},
        {"op": "ins", "text": "e"},
    ]


def test_each_objects_history_is_one_click_from_its_page(client, world):
    esc = raise_one(world)
    link = reverse("audit:object_history", args=["escalation", esc.pk])
    client.force_login(world.auditor)
    assert link in client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    policy = reverse("audit:object_history", args=["policy", world.policy.pk])
    assert policy in client.get(reverse("policies:detail", args=[world.policy.pk])).content.decode()
    client.force_login(world.raiser)
    assert link not in client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()


def test_an_auditor_reading_a_confidential_escalations_history_is_recorded(client, world):
    esc = raise_one(world, confidential=True)
    client.force_login(world.auditor)
    client.get(reverse("audit:object_history", args=["escalation", esc.pk]))
    read = AuditEvent.objects.get(action="escalations.confidential_read")
    assert read.actor_id == world.auditor.pk and read.data["page"] == "Escalation history"


def test_a_confidential_escalations_changes_in_the_feed_are_a_read_of_it(client, world):
    """Its changes on the general feed show what it is about: as much a read as opening it."""
    secret, plain = raise_one(world, confidential=True), raise_one(world)
    client.force_login(world.auditor)
    page = client.get(reverse("audit:history")).content.decode()
    assert secret.reference in page and plain.reference in page
    reads = AuditEvent.objects.filter(action="escalations.confidential_read")
    assert [(r.target_id, r.data["page"]) for r in reads.all()] == [(str(secret.pk), "History of changes")]
    client.force_login(world.raiser)  # takes part: no read recorded (and no feed for staff at all)
    assert client.get(reverse("audit:history")).status_code == 403
    client.get(reverse("audit:object_history", args=["escalation", secret.pk]))
    assert reads.count() == 1
    client.force_login(world.auditor)  # the object's own history: one read, not one per entry
    response = client.get(reverse("audit:object_history", args=["escalation", secret.pk]))
    assert response.status_code == 200 and reads.count() == 2
