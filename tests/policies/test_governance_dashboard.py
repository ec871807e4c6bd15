"""The governance cards of the home page: overdue reviews, unreachable levels and people without
contact methods for admins, overdue reviews for auditors, nothing for staff; their cost does
not grow with the number of policies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.contacts.models import ContactMethod, RotationMember
from apps.policies import selectors
from tests.pages import queries_of
from tests.policies.pages import grow_policies

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_the_dashboard_shows_overdue_reviews_unreachable_levels_and_people_without_contact(
    client, gov_admin, org
):
    ContactMethod.objects.filter(person=org["grace.lindqvist"]).delete()
    client.force_login(gov_admin)
    body = client.get(reverse("home")).content.decode()
    assert "Policies due for review" in body and "Change-freeze exception" in body
    assert "Unreachable escalation targets" in body
    assert "Grace Lindqvist: has no contact method" in body
    assert "People without contact methods" in body


def test_auditors_see_overdue_reviews_only_and_staff_nothing(client, auditor, raiser, org):
    client.force_login(auditor)
    body = client.get(reverse("home")).content.decode()
    assert "Policies due for review" in body and "Unreachable escalation targets" not in body
    client.force_login(raiser)
    assert "Policies due for review" not in client.get(reverse("home")).content.decode()


def test_the_dashboard_agrees_with_the_selector(org):
    ContactMethod.objects.filter(person=org["grace.lindqvist"]).delete()
    RotationMember.objects.filter(rotation__name="Security on-call").delete()
    now = datetime.now(UTC)

    def flat(warnings):
        return sorted((w["policy"].pk, w["level"].order, tuple(map(str, w["problems"]))) for w in warnings)

    expected = flat(selectors.reachability_warnings(now))
    assert expected and flat(selectors.reachability_overview(now)) == expected


def test_the_governance_home_costs_the_same_queries_for_10_and_500_policies(client, gov_admin):
    client.force_login(gov_admin)
    url = reverse("home")
    grow_policies(10)
    client.get(url)
    small = queries_of(client, url)
    grow_policies(500)
    assert queries_of(client, url) == small
