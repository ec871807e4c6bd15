"""Creating and editing a policy on one page: saved as a whole through the services, or refused
with a 400 naming every problem beside its part and nothing saved; a save by someone else
since the page was opened is never overwritten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.policies.models import EscalationPolicy
from apps.policies.services import policy_save
from tests.factories import PersonFactory
from tests.policies.pages import level_specs_of, new_policy_post, page_post, saved_counts, threshold_specs_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_a_governance_admin_creates_a_policy_through_the_form(client, gov_admin, org):
    client.force_login(gov_admin)
    response = client.post(reverse("policies:new"), new_policy_post(client, org))
    policy = EscalationPolicy.objects.get(name="Data protection incident")
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:detail", args=[policy.pk])
    assert policy.slug == "data-protection-incident"
    assert [
        (lvl.order, lvl.name, lvl.authority_rank, lvl.requires_approval) for lvl in policy.levels.all()
    ] == [
        (1, "Compliance officer", 40, False),
        (2, "Chief Operating Officer", 90, True),
    ]
    assert policy.levels.get(order=2).trigger_roles == ["staff"]
    assert policy.thresholds.count() == 12  # the pre-filled matrix
    sev1_premium = policy.thresholds.get(severity="sev1", customer_tier="premium")
    assert (sev1_premium.acknowledge_within, sev1_premium.resolve_within) == (
        timedelta(minutes=15),
        timedelta(hours=4),
    )
    assert set(policy.services.values_list("slug", flat=True)) == {"payments-api", "identity-sso"}
    assert policy.de_escalation_criteria == [
        "DPO has assessed the breach",
        "Regulator notified where required",
    ]
    assert policy.extra_required_fields == [
        {"name": "records_affected", "label": "How many records?", "help": "An estimate is fine"}
    ]
    first = policy.history.earliest()
    assert (first.history_user_username, first.history_change_reason) == (
        "gov_admin",
        "New procedure agreed with the DPO",
    )
    assert AuditEvent.objects.filter(action="policies.policy_created", target_id=str(policy.pk)).exists()
    follow = client.get(response["Location"])
    assert "Saved “Data protection incident”." in follow.content.decode()


def test_an_authority_that_does_not_climb_is_refused_and_nothing_saved(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__1__authority_rank="20", change_reason="Flatten the chain")
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    errors = " ".join(response.context["level_errors"])
    assert "authority must increase up the chain" in errors
    assert "Level 2 (Engineering manager)" in errors
    assert saved_counts() == before
    assert outage.levels.get(order=2).authority_rank == 50


def test_a_missing_change_reason_is_refused_and_nothing_saved(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, description="Changed without saying why", change_reason="")
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Say why this changes" in response.context["form"].errors["change_reason"][0]
    assert saved_counts() == before
    outage.refresh_from_db()
    assert outage.description != "Changed without saying why"


def test_a_missing_threshold_cell_is_refused_naming_it_and_nothing_saved(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    # The first cell is SEV1 x premium.
    data = page_post(
        client,
        url,
        thresholds__0__ack_amount="",
        thresholds__0__resolve_amount="",
        change_reason="Drop a cell",
    )
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    assert (
        "SEV1 — critical: thresholds missing for Premium customers." in response.context["threshold_errors"]
    )
    assert saved_counts() == before
    assert outage.thresholds.count() == 12


def test_a_cell_left_out_of_the_post_entirely_is_refused_too(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, change_reason="Eleven cells only")
    data["thresholds-TOTAL_FORMS"] = "11"  # the last cell, SEV4 x basic, never arrives
    response = client.post(url, data)
    assert response.status_code == 400
    assert "SEV4 — low: thresholds missing for Basic customers." in response.context["threshold_errors"]
    assert "missing" in response.content.decode()


def test_a_threshold_longer_than_a_year_is_refused_naming_the_field_and_the_limit(client, gov_admin, outage):
    """Business-hours clocks are computed for up to 8,760 hours; the form says so (issue 8)."""
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(
        client,
        url,
        thresholds__0__resolve_amount="9000",
        thresholds__0__resolve_unit="h",
        change_reason="Slower",
    )
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    message = "Resolve within can be at most 8,760 hours (365 days)."
    assert response.context["thresholds"].forms[0].errors["resolve_amount"] == [message]
    assert message in response.content.decode()
    assert saved_counts() == before


def test_a_level_whose_person_cannot_be_contacted_is_refused_and_nothing_saved(client, gov_admin, outage):
    unreachable = PersonFactory(full_name="Nadia Silent", authority_rank=95)
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__3__target_person=str(unreachable.pk), change_reason="New CTO")
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    errors = " ".join(response.context["level_errors"])
    assert "Level 4 (Chief Technology Officer): no reachable target" in errors
    assert "Nadia Silent: has no contact method" in errors
    assert saved_counts() == before


def test_several_problems_are_reported_together(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(
        client,
        url,
        levels__1__authority_rank="20",
        thresholds__0__ack_amount="",
        thresholds__0__resolve_amount="",
        extra_required_fields="Bad Name | Label",
        change_reason="",
    )
    response = client.post(url, data)
    assert response.status_code == 400
    ctx = response.context
    assert ctx["level_errors"] and ctx["threshold_errors"]
    assert "change_reason" in ctx["form"].errors
    assert "must start with a letter" in ctx["form"].errors["extra_required_fields"][0]


def test_a_level_without_its_target_is_refused_on_the_field(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__1__target_person="", change_reason="Forgot the person")
    response = client.post(url, data)
    assert response.status_code == 400
    assert response.context["levels"].forms[1].errors["target_person"] == [
        "Choose a named person this level reaches."
    ]


def test_a_removed_level_renumbers_the_chain(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__2__DELETE="on", change_reason="No director level any more")
    response = client.post(url, data)
    assert response.status_code == 302
    assert [(lvl.order, lvl.name) for lvl in outage.levels.order_by("order")] == [
        (1, "Platform on-call"),
        (2, "Engineering manager"),
        (3, "Chief Technology Officer"),
    ]


def test_an_edit_made_by_someone_else_meanwhile_is_not_overwritten(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, description="My version", change_reason="Clarify the scope")
    policy_save(
        policy=EscalationPolicy.objects.get(pk=outage.pk),
        levels=level_specs_of(outage),
        thresholds=threshold_specs_of(outage),
        actor=None,
        reason="Someone else's change",
    )
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Someone else saved this policy" in " ".join(response.context["form"].non_field_errors())
    outage.refresh_from_db()
    assert outage.description != "My version"
