"""Query-string parameters no page can honour are a 400 naming the parameter and its rule.

Every django-tables2 list paginates through ``apps.common.pagination.paginate``: a page number
past 2**63 overflowed the database's OFFSET on the lazily paginated lists, a negative
``per_page`` broke Django's paginator on the others, and ``abc`` silently showed page 1.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.policies.models import ChangeFreeze, MaintenanceWindow
from tests.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "notifications:mine",  # lazily paginated
    "policies:list",
    "policies:services",
    "contacts:people",
]
BAD_PAGES = [str(10**30), str(2**63 - 1), str(2**63), "-1", "0", "abc", "1e9", "²"]
BAD_SIZES = [str(10**30), str(2**63), "-1", "0", "201", "many"]


@pytest.fixture
def admin_client(gov_admin) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(gov_admin)
    return client


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("name", LISTS)
def test_a_page_number_no_list_can_have_is_a_400_naming_the_rule(admin_client, name):
    for value in BAD_PAGES:
        response = admin_client.get(reverse(name), {"page": value})
        assert response.status_code == 400, f"page={value!r}: {response.status_code}"
        assert "The “page” parameter must be a whole number from 1 to 1000000" in text(response)


@pytest.mark.parametrize("name", LISTS)
def test_a_page_size_out_of_range_is_a_400_naming_the_rule(admin_client, name):
    for value in BAD_SIZES:
        response = admin_client.get(reverse(name), {"per_page": value})
        assert response.status_code == 400, f"per_page={value!r}: {response.status_code}"
        assert "The “per_page” parameter must be a whole number from 1 to 200" in text(response)


@pytest.mark.parametrize("name", LISTS)
def test_good_pages_still_work_and_a_page_past_the_end_is_not_an_error(admin_client, name):
    for query in ({}, {"page": "1"}, {"page": "7"}, {"page": "", "per_page": "10"}, {"sort": "-nonsense"}):
        assert admin_client.get(reverse(name), query).status_code == 200, query


def test_the_400_page_names_the_parameter_and_keeps_a_long_value_short(admin_client):
    response = admin_client.get(reverse("escalations:list"), {"cursor": "9" * 5000})
    assert response.status_code == 400
    assert (
        "The “cursor” parameter is not a position in this list: start again from the first page (got"
        in text(response)
    )
    assert "9" * 40 + "…" in text(response) and "9" * 41 not in text(response)


@pytest.mark.parametrize("name", ["policies:list", "contacts:people"])
def test_a_search_of_a_megabyte_is_a_400_not_a_database_error(admin_client, name):
    response = admin_client.get(reverse(name), {"q": "x" * 1_000_000})
    assert response.status_code == 400
    assert "The “q” parameter is not a valid filter: Ensure this value has at most 200 characters" in text(
        response
    )


def test_a_search_of_a_megabyte_on_a_list_with_filters_is_said_beside_the_field(admin_client):
    response = admin_client.get(reverse("escalations:list"), {"q": "x" * 1_000_000})
    body = response.content.decode()
    assert response.status_code == 400 and len(body) < 100_000  # not echoed back whole
    assert 'id="id_q_error">Ensure this value has at most 200 characters (it has 1000000).' in body


def test_a_filter_value_that_is_not_a_choice_is_a_400_instead_of_an_unfiltered_list(admin_client):
    response = admin_client.get(reverse("escalations:list"), {"severity": "sev9"})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_severity_error">Select a valid choice. sev9 is not one of the available choices.' in body


@pytest.mark.parametrize("value", [str(10**30), str(2**63), "0", "-1", "ninety"])
def test_the_bottleneck_report_refuses_a_period_it_cannot_have(admin_client, value):
    response = admin_client.get(reverse("approvals:bottlenecks"), {"days": value})
    assert response.status_code == 400
    assert "The “days” parameter must be a whole number from 1 to 3650" in text(response)
    assert admin_client.get(reverse("approvals:bottlenecks"), {"days": "30"}).status_code == 200


@pytest.mark.parametrize("name", ["policies:maintenance_new", "policies:freeze_new"])
@pytest.mark.parametrize("value", [str(10**30), str(2**63)])
def test_a_service_id_past_any_row_is_not_a_choice(admin_client, name, value):
    ServiceFactory(name="Payments", slug="payments", owner_team=TeamFactory())
    data = {
        "name": "Window",
        "services": [value],
        "starts_at": "2031-01-01T00:00",
        "ends_at": "2031-01-01T04:00",
        "tz": "UTC",
        "reason": "Upgrade",
        "change_reason": "Planned upgrade",
    }
    response = admin_client.post(reverse(name), data)
    assert response.status_code == 400
    assert (
        f"Select a valid choice. {value} is not one of the available choices."
        in (response.context["form"].errors["services"])
    )
    assert not MaintenanceWindow.objects.exists() and not ChangeFreeze.objects.exists()


def test_django_s_own_refusals_keep_their_details_to_the_log(admin_client):
    """A 400 that is not ours (here: too many fields) says nothing about the request."""
    from django.test import override_settings

    with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=3):
        response = admin_client.get(reverse("escalations:list"), {f"f{n}": "x" for n in range(5)})
    assert response.status_code == 400
    assert "The request was malformed." in text(response) and "DATA_UPLOAD" not in text(response)


def test_a_tampered_count_of_level_rows_is_refused_and_changes_nothing(admin_client, gov_admin):
    """Django accepts a negative INITIAL_FORMS; the policy's levels then had no data (a KeyError)."""
    from apps.policies.models import EscalationLevel
    from tests import urlwalk
    from tests.factories import saved_policy

    policy = saved_policy(actor=gov_admin)
    page = reverse("policies:edit", args=[policy.pk])
    forms, _ = urlwalk.parse_page(page, text(admin_client.get(page)))
    [form] = [f for action, f in forms if action == page]
    data = [(k, "-1" if k == "levels-INITIAL_FORMS" else v) for k, v in form.defaults()]
    data = [(k, "Tampered" if k == "change_reason" else v) for k, v in data]
    levels = list(EscalationLevel.objects.filter(policy=policy).values_list("name", flat=True))
    response = admin_client.post(page, urlwalk.urlencode(data), content_type=urlwalk.URLENCODED)
    assert response.status_code == 400
    assert "The level rows were changed on the way" in text(response)
    assert list(EscalationLevel.objects.filter(policy=policy).values_list("name", flat=True)) == levels


def test_a_brief_edited_past_its_column_is_refused_beside_the_field():
    """next_update is 200 characters in the database: PostgreSQL refused a longer one with a
    DataError (a 500), SQLite stored it."""
    from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two

    org = build_org()
    ask = ask_for_the_cto(org, to_level_two(org))
    client = Client(raise_request_exception=False)
    client.force_login(org.lead)
    data = {"version": ask.version, "decision": "approve", "next_update": "n" * 201}
    data.update({f: getattr(ask.brief, f) for f in ("what_is_happening", "who_is_affected")})
    data.update({f: getattr(ask.brief, f) for f in ("what_is_being_done", "what_is_asked")})
    response = client.post(reverse("approvals:decide", args=[ask.pk]), data)
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters (it has 201)." in text(response)
    ask.brief.refresh_from_db()
    assert ask.brief.next_update != "n" * 201 and ask.brief.sent_at is None
