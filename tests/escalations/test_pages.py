"""The escalation pages: raise through the form, act from the page (plain and htmx), refusals
that change nothing, visibility (404 for what may not be known), list filters and CSV export,
constant queries as rows grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.escalations.models import Escalation, Status
from tests.csvfiles import complete_body
from tests.escalations.conftest import FIELDS, raise_one

pytestmark = pytest.mark.django_db


def form_data(world, **overrides):
    data = {
        **FIELDS,
        "service": world.service.pk,
        "category": "operational",
        "severity": "sev2",
        "impact_expected_at": "2026-11-24T15:00",
    }
    data.update(overrides)
    return data


def test_the_form_is_guided_by_the_policy(client, world):
    world.policy.extra_required_fields = [
        {"name": "data_exposed", "label": "Was personal data exposed?", "help": "Yes, no or unknown."}
    ]
    world.policy.save()
    client.force_login(world.raiser)
    page = client.get(reverse("escalations:raise")).content.decode()
    assert "Continue" in page and "Raise the escalation" not in page
    page = client.get(
        reverse("escalations:raise"), {"service": world.service.pk, "category": "operational"}
    ).content.decode()
    assert (
        world.policy.name in page and "Was personal data exposed?" in page and "Yes, no or unknown." in page
    )
    assert "is-invalid" not in page  # choosing is not submitting
    response = client.get(
        reverse("escalations:raise"),
        {"service": world.service.pk, "category": "ethics", "title": "Typed", "csrfmiddlewaretoken": "x"},
        headers={"HX-Request": "true"},
    )
    fragment = response.content.decode()
    assert 'id="raise-form"' in fragment
    assert "No policy covers Payments API for ethics risks" in fragment and "<html" not in fragment
    # The address names the choice only: nothing typed, and never the form's token.
    assert response["HX-Push-Url"] == f"/escalations/raise/?service={world.service.pk}&category=ethics"


def test_raising_through_the_form(client, world):
    client.force_login(world.raiser)
    response = client.post(reverse("escalations:raise"), form_data(world))
    esc = Escalation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "escalations:detail", args=[esc.pk]
    )
    assert esc.severity == "sev2" and esc.customer_tier == "premium" and esc.raiser == world.raiser
    page = client.get(response["Location"]).content.decode()
    assert esc.reference in page and "Level 1 (On-call engineer) reached" in page


def test_a_bad_raise_names_every_field_and_saves_nothing(client, world):
    client.force_login(world.raiser)
    response = client.post(reverse("escalations:raise"), form_data(world, title="", impact="", severity=""))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Title is required" in page and "Impact is required" in page and "Choose a severity" in page
    assert not Escalation.objects.exists()


def test_an_auditor_may_not_raise(client, world):
    client.force_login(world.auditor)
    assert client.get(reverse("escalations:raise")).status_code == 403
    assert client.post(reverse("escalations:raise"), form_data(world)).status_code == 403


def act(client, esc, action, **data):
    return client.post(reverse(f"escalations:{action}", args=[esc.pk]), {"version": esc.version, **data})


def test_the_owner_acknowledges_from_the_page(client, world):
    esc = raise_one(world)
    client.force_login(world.engineer)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert ">Acknowledge</button>" in page
    response = act(client, esc, "acknowledge")
    assert response.status_code == 302
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED


def test_htmx_actions_return_the_panel(client, world):
    esc = raise_one(world)
    client.force_login(world.engineer)
    response = client.post(
        reverse("escalations:acknowledge", args=[esc.pk]),
        {"version": esc.version},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="escalation-panel"' in page and "<html" not in page and "Acknowledged by" in page


def test_a_stale_form_is_a_409_that_says_what_happened(client, world):
    esc = raise_one(world)
    client.force_login(world.engineer)
    stale_version = esc.version
    act(client, esc, "acknowledge")
    esc.version = stale_version
    response = act(client, esc, "resolve", summary="Rolled back the deploy at 14:20.", criteria=esc.criteria)
    assert response.status_code == 409
    assert "changed while you were looking at it" in response.content.decode()
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED


def test_bad_action_input_is_a_400_beside_its_field(client, world):
    esc = raise_one(world)
    client.force_login(world.engineer)
    response = act(client, esc, "resolve", summary="x", criteria=["Service restored"])
    page = response.content.decode()
    assert response.status_code == 400
    assert "A resolution summary is required" in page and "Customers told" in page
    esc.refresh_from_db()
    assert esc.status == Status.OPEN


def test_someone_elses_action_is_403_and_an_unknown_one_404(client, world):
    esc = raise_one(world)
    client.force_login(world.eng_manager)
    assert act(client, esc, "acknowledge").status_code == 403
    unknown = reverse("escalations:detail", args=[esc.pk]) + "explode/"
    assert client.post(unknown, {"version": esc.version}).status_code == 404
    client.force_login(world.auditor)
    assert client.get(reverse("escalations:detail", args=[esc.pk])).status_code == 200
    assert act(client, esc, "comment", text="Looks fine").status_code == 403


def test_confidential_escalations_do_not_exist_for_outsiders(client, world):
    esc = raise_one(world, confidential=True)
    url = reverse("escalations:detail", args=[esc.pk])
    for user, expected in (
        (world.raiser, 200),
        (world.engineer, 200),
        (world.eng_manager, 404),
        (world.auditor, 200),  # auditors read confidential escalations: read-only, audited
        (world.outsider, 404),
    ):
        client.force_login(user)
        assert client.get(url).status_code == expected, user
        listing = client.get(reverse("escalations:list")).content.decode()
        assert (esc.reference in listing) == (expected == 200), user
    client.force_login(world.eng_manager)
    assert act(client, esc, "acknowledge").status_code == 404


def test_an_auditor_reads_a_confidential_escalation_read_only_and_each_read_is_audited(client, world):
    from apps.audit.models import AuditEvent

    esc = raise_one(world, confidential=True)
    client.force_login(world.auditor)
    for _ in range(2):
        assert client.get(reverse("escalations:detail", args=[esc.pk])).status_code == 200
    reads = AuditEvent.objects.filter(action="escalations.confidential_read", target_id=str(esc.pk))
    assert reads.count() == 2
    assert reads.first().actor_username == world.auditor.username
    assert reads.first().data["page"] == reverse("escalations:detail", args=[esc.pk])
    assert act(client, esc, "acknowledge").status_code == 403
    # Participants reading their own escalation are not "reads" to report.
    client.force_login(world.raiser)
    client.get(reverse("escalations:detail", args=[esc.pk]))
    assert reads.count() == 2


def test_staff_see_only_what_they_take_part_in(client, world, user_factory):
    from apps.accounts.roles import Role

    esc = raise_one(world)
    colleague = user_factory(username="colleague", roles=[Role.STAFF])
    client.force_login(colleague)
    assert client.get(reverse("escalations:detail", args=[esc.pk])).status_code == 404
    client.force_login(world.eng_manager)  # a manager sees what is not confidential
    assert client.get(reverse("escalations:detail", args=[esc.pk])).status_code == 200


def test_the_list_filters_and_exports_csv(client, world):
    sev1, sev3 = raise_one(world, severity="sev1"), raise_one(world, severity="sev3")
    client.force_login(world.eng_manager)
    page = client.get(reverse("escalations:list"), {"severity": "sev3"}).content.decode()
    assert sev3.reference in page and sev1.reference not in page
    page = client.get(reverse("escalations:list"), {"q": sev1.reference}).content.decode()
    assert sev1.reference in page and sev3.reference not in page
    response = client.get(reverse("escalations:list"), {"severity": "sev1", "export": "csv"})
    body = complete_body(response)
    lines = body.strip().splitlines()
    assert lines[0].startswith("reference,title,status") and len(lines) == 2 and sev1.reference in lines[1]
    assert AuditEvent.objects.filter(action="escalations.exported", actor_username="engmgr").exists()


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url_name", ["escalations:list", "escalations:dashboard"])
def test_pages_cost_the_same_queries_at_any_size(client, world, url_name):
    client.force_login(world.engineer)
    for _ in range(3):
        raise_one(world)
    few = count_queries(client, reverse(url_name))
    for _ in range(30):
        raise_one(world)
    assert count_queries(client, reverse(url_name)) == few


def test_the_detail_page_costs_the_same_queries_however_long_the_timeline(client, world):
    from apps.escalations.services import escalation_comment

    esc = raise_one(world)
    client.force_login(world.engineer)
    url = reverse("escalations:detail", args=[esc.pk])
    few = count_queries(client, url)
    for i in range(20):
        escalation_comment(escalation=esc, actor=world.raiser, text=f"Any news? ({i})")
    assert count_queries(client, url) == few


def test_an_htmx_refusal_comes_back_in_the_panel(client, world):
    esc = raise_one(world)
    client.force_login(world.eng_manager)
    response = client.post(
        reverse("escalations:acknowledge", args=[esc.pk]),
        {"version": esc.version},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 403 and "<html" not in page
    assert "Only the person" in page and 'id="action-error"' in page


def test_the_home_page_says_what_waits_on_you(client, world):
    raise_one(world)
    client.force_login(world.engineer)
    page = client.get(reverse("home")).content.decode()
    assert 'id="my-work"' in page and "escalation you own" in page


@pytest.mark.parametrize("sort", ["next_due_at", "-next_due_at"])
def test_sorting_by_next_deadline_puts_escalations_without_a_clock_last(client, world, sort):
    from apps.escalations.services import escalation_withdraw

    done = raise_one(world)
    escalation_withdraw(escalation=done, actor=world.raiser, reason="Raised by mistake, sorry.")
    running = [raise_one(world, severity=sev) for sev in ("sev1", "sev3")]
    client.force_login(world.eng_manager)
    page = client.get(reverse("escalations:list"), {"sort": sort}).content.decode()
    order = sorted(running, key=lambda e: e.next_due_at, reverse=sort.startswith("-"))
    positions = [page.index(e.reference) for e in (*order, done)]
    assert positions == sorted(positions)


def test_continue_with_nothing_chosen_says_what_to_choose(client, world):
    client.force_login(world.raiser)
    response = client.post(reverse("escalations:raise"), {"continue": "1"})
    assert response.status_code == 200
    assert "Choose the kind of risk first" in response.content.decode()


def test_a_date_that_does_not_parse_is_refused_beside_its_field(client, world):
    client.force_login(world.raiser)
    response = client.post(
        reverse("escalations:raise"),
        {"service": world.service.pk, "category": "operational", "impact_expected_at": "31/02/2026 25:00"},
    )
    assert response.status_code == 400
    assert "Enter a valid date/time" in response.content.decode()
    assert not Escalation.objects.exists()


def test_a_conduct_concern_needs_no_service_under_a_fallback_policy(client, world):
    from apps.escalations.services import escalation_raise
    from apps.policies.models import EscalationPolicy


    world.policy.category = "ethics"
    world.policy.covers_all_services = True
    world.policy.save()
    assert EscalationPolicy.objects.filter(covers_all_services=True).count() == 1
    esc = escalation_raise(
        actor=world.raiser,
        service=None,
        category="ethics",
        severity="sev2",
        fields={**FIELDS, "impact_expected_at": timezone.now()},
    )
    assert esc.service is None and esc.policy == world.policy and esc.customer_tier == "standard"
    client.force_login(world.raiser)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert "No particular service" in page
