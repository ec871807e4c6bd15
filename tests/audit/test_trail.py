"""The audit trail people can read: labels and summaries, links, filters, CSV export, scope."""

import pytest
from django.urls import reverse

from apps.audit.labels import action_label, summarise
from apps.audit.models import AuditEvent
from apps.audit.services import record
from apps.escalations.services import escalation_acknowledge
from tests.csvfiles import complete_body
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def test_every_code_reads_as_words_even_an_unknown_one():
    assert action_label("escalations.escalated").label == "Escalated"
    unknown = action_label("widgets.frobnicated_twice")
    assert unknown.label == "Frobnicated twice"
    event = AuditEvent(action="widgets.frobnicated_twice", target_repr="W-1", data={})
    assert summarise(event, "Ann Example") == "Ann Example: frobnicated twice on W-1"


def test_a_summary_with_a_value_not_recorded_still_reads(world):
    event = AuditEvent(action="escalations.handed_off", target_repr="ESC-1", data={})
    assert summarise(event, "") == "The portal handed ESC-1 off to"


def test_the_trail_shows_words_names_and_links(client, world):
    esc = escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    client.force_login(world.auditor)
    page = client.get(reverse("audit:events")).content.decode()
    assert "Acknowledged" in page and f"Tom Herr acknowledged {esc}" in page
    assert reverse("escalations:detail", args=[esc.pk]) in page
    assert "<code>escalations.acknowledged" not in page


def test_people_are_found_by_name(client, world):
    escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    client.force_login(world.auditor)
    page = client.get(reverse("audit:events"), {"person": "tom herr"}).content.decode()
    assert "Tom Herr acknowledged" in page and "Sam Patel raised" not in page
    by_username = client.get(reverse("audit:events"), {"person": "engineer"}).content.decode()
    assert "Tom Herr acknowledged" in by_username


def test_a_deleted_account_is_found_by_its_username(client, world, user_factory):
    gone = user_factory(username="leaver")
    record(action="test.done", actor=gone)
    gone.delete()
    client.force_login(world.auditor)
    page = client.get(reverse("audit:events"), {"person": "leaver"}).content.decode()
    assert "Done" in page


@pytest.mark.parametrize(
    "params,field,message",
    [
        ({"person": "Nobody Atall"}, "person", "No one in the portal is called"),
        ({"since": "2026-13-45"}, "since", "Enter a date as YYYY-MM-DD."),
        ({"action": "escalations.exploded"}, "action", "records no such value"),
        ({"target_type": "nope.nope"}, "target_type", "records no such value"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until", "comes before its start"),
        ({"until": "9999-12-31"}, "until", "Enter a date from 1970-01-01"),
    ],
)
def test_bad_filters_are_said_beside_the_field_and_show_nothing(client, world, params, field, message):
    raise_one(world)
    client.force_login(world.auditor)
    response = client.get(reverse("audit:events"), params)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and message in page
    assert "Correct the filters above" in page and "<tbody>" not in page


def test_filters_by_action_record_and_period(client, world):
    esc = escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    other = raise_one(world)
    client.force_login(world.auditor)
    page = client.get(
        reverse("audit:events"), {"action": "escalations.raised", "target": other.reference}
    ).content.decode()
    assert f"Sam Patel raised {other}" in page and esc.reference not in page
    assert page.count("<tr>") == 2  # the header and the one event
    today = esc.raised_at.date().isoformat()
    assert (
        "Tom Herr acknowledged"
        in client.get(reverse("audit:events"), {"since": today, "until": today}).content.decode()
    )
    assert "<tbody>" not in client.get(reverse("audit:events"), {"until": "2000-01-01"}).content.decode()


def test_the_export_is_streamed_formula_safe_and_audited(client, world):
    raise_one(world)
    record(
        action="escalations.raised",
        target_type="x.y",
        target_id="9",
        target_repr='=HYPERLINK("https://evil")',
    )
    client.force_login(world.auditor)
    response = client.get(reverse("audit:export"), {"action": "escalations.raised"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    body = complete_body(response)
    assert "Raised" in body and "'=HYPERLINK" in body and ",=HYPERLINK" not in body.replace('"', "")
    assert body.count("\r\n") == 3  # the header and both raises
    exported = AuditEvent.objects.filter(action="audit.exported").get()
    assert exported.actor_id == world.auditor.pk and exported.data["filters"] == {
        "action": "escalations.raised"
    }


def test_a_bad_filter_exports_nothing(client, world):
    client.force_login(world.auditor)
    assert client.get(reverse("audit:export"), {"since": "yesterday"}).status_code == 400
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_a_page_costs_the_same_queries_however_many_rows(client, world, django_assert_max_num_queries):
    client.force_login(world.auditor)
    for _ in range(3):
        escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    client.get(reverse("audit:events"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("audit:events"))
    for _ in range(6):
        escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("audit:events"))
    assert len(many) == len(few)


def test_staff_and_hr_are_refused_and_nobody_writes(client, world, hr_officer):
    for user in (world.raiser, hr_officer):
        client.force_login(user)
        for name in ("audit:events", "audit:reads", "audit:export"):
            assert client.get(reverse(name)).status_code == 403
    client.force_login(world.auditor)
    for name in ("audit:events", "audit:reads", "audit:export"):
        assert client.post(reverse(name)).status_code in (403, 405)


def test_managers_see_their_teams_records_only_and_never_the_timers(
    client, world, team_factory, person_factory, user_factory
):
    from apps.accounts.roles import Role

    mine = escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    stranger = user_factory(username="stranger_mgr", roles=[Role.MANAGER])
    person_factory(user=stranger, team=team_factory())
    client.force_login(world.eng_manager)
    assert mine.reference in client.get(reverse("audit:events")).content.decode()
    client.force_login(stranger)
    assert mine.reference not in client.get(reverse("audit:events")).content.decode()
    assert client.get(reverse("timers:overview")).status_code == 403
    client.force_login(world.eng_manager)
    assert client.get(reverse("timers:overview")).status_code == 403


def test_the_read_access_log_shows_who_read_what_from_which_page(client, world):
    esc = raise_one(world, confidential=True)
    client.force_login(world.auditor)
    assert client.get(reverse("escalations:detail", args=[esc.pk])).status_code == 200
    client.get(reverse("audit:export"))
    page = client.get(reverse("audit:reads")).content.decode()
    assert "Read a confidential escalation" in page and esc.reference in page
    assert "Exported the audit trail" in page
    assert "Raised" not in page  # changes are not reads
    by_person = client.get(reverse("audit:reads"), {"person": "raiser"}).content.decode()
    assert esc.reference not in by_person
