"""The policy pages everyone signed in reads: the policy list and a policy, services, calendars
and periods; the lists cost the same queries at any size."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.policies.models import BusinessCalendar, EscalationPolicy, Service
from tests.pages import queries_of
from tests.policies.pages import grow_policies

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_list_and_detail_render_for_staff(client, raiser, outage):
    client.force_login(raiser)
    body = client.get(reverse("policies:list")).content.decode()
    for name in ["Production outage", "Security incident", "Compliance concern", "Change-freeze exception"]:
        assert name in body
    assert "overdue" in body  # the change-freeze exception's review is a week late

    response = client.get(reverse("policies:detail", args=[outage.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in [
        "Platform on-call",
        "Chief Technology Officer",
        "requires approval",
        "SEV1 — critical",
        "15 min",
    ]:
        assert text in body
    # Level 1 is the platform team's on-call: the page names who holds it now.
    assert response.context["levels"][0]["now"] is not None
    assert response.context["levels"][0]["now"].full_name in body
    assert "Demo organisation" not in body  # history is for those who oversee the policy's team
    assert "Mark reviewed" not in body  # readers get no edit controls
    assert reverse("policies:edit", args=[outage.pk]) not in body


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"q": "security"}, {"Security incident"}),
        ({"category": "compliance"}, {"Compliance concern"}),
        ({"service": "identity-sso"}, {"Security incident", "Compliance concern", "Change-freeze exception"}),
    ],
)
def test_the_list_searches_and_filters(client, raiser, org, query, expected):
    client.force_login(raiser)
    if "service" in query:
        query = {"service": Service.objects.get(slug=query["service"]).pk}
    response = client.get(reverse("policies:list"), query)
    assert {row.record.name for row in response.context["table"].rows} == expected


def test_services_calendars_and_periods_render_for_staff(client, raiser, org):
    client.force_login(raiser)
    calendar = BusinessCalendar.objects.get(name="UK office hours")
    pages = {
        reverse("policies:services"): "Payments API",
        reverse("policies:calendars"): "Mon–Fri 09:00–17:30",
        reverse("policies:calendar", args=[calendar.pk]): "Christmas Day",
        reverse("policies:maintenance"): "Maintenance windows",
        reverse("policies:freezes"): "Change freezes",
    }
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_a_missing_policy_is_a_404(client, raiser):
    client.force_login(raiser)
    assert client.get(reverse("policies:detail", args=[999])).status_code == 404


@pytest.mark.parametrize("url_name", ["policies:list", "policies:services"])
def test_list_pages_cost_the_same_queries_for_10_and_500_policies(client, raiser, url_name):
    client.force_login(raiser)
    url = reverse(url_name)
    grow_policies(10)
    client.get(url)  # warm the session and the content-type cache
    small = queries_of(client, url)
    grow_policies(500)
    assert EscalationPolicy.objects.count() == 500
    assert queries_of(client, url) == small


def test_the_filtered_list_costs_the_same_queries_at_any_size(client, raiser):
    client.force_login(raiser)
    url = reverse("policies:list") + "?q=Policy&category=operational&active=true&sort=-next_review_on"
    grow_policies(10)
    client.get(url)
    small = queries_of(client, url)
    grow_policies(500)
    assert queries_of(client, url) == small
