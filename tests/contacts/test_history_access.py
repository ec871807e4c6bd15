"""History (old addresses and phone numbers among it) is for those who oversee the record's
team, auditors and governance admins; a person sees their own (issue 8: anyone signed in,
even with no role, read it)."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import User
from apps.contacts.models import Person, Rotation, Team
from apps.policies.models import BusinessCalendar, EscalationPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return {u.username: u for u in User.objects.all()}


def history_shown(client, user, url) -> bool:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.context["history"] is not None


def test_a_person_page_shows_history_to_the_person_their_managers_and_overseers(client, demo, outsider):
    sam = Person.objects.get(user__username="staff")  # platform-ops, reports to Grace
    url = reverse("contacts:person", args=[sam.pk])
    for username in ("staff", "manager", "director", "auditor", "govadmin"):
        assert history_shown(client, demo[username], url), username
    for user in (demo["responder"], demo["hr"], demo["executive"], outsider):
        assert not history_shown(client, user, url), user.username
        assert "Contact method changes" not in client.get(url).content.decode()


def test_a_manager_does_not_see_the_history_of_other_teams(client, demo):
    security = Team.objects.get(slug="security")
    ken = Person.objects.get(email="ken.watanabe@example.com")
    for url in (
        reverse("contacts:team", args=[security.slug]),
        reverse("contacts:person", args=[ken.pk]),
        reverse("contacts:rotation", args=[Rotation.objects.filter(team=security).first().pk]),
    ):
        assert not history_shown(client, demo["manager"], url), url
        assert history_shown(client, demo["auditor"], url), url
    platform = Team.objects.get(slug="platform-ops")
    assert history_shown(client, demo["manager"], reverse("contacts:team", args=[platform.slug]))


def test_policy_and_calendar_history_follow_the_same_rule(client, demo):
    outage = EscalationPolicy.objects.get(slug="production-outage")  # owned by platform-ops
    url = reverse("policies:detail", args=[outage.pk])
    assert history_shown(client, demo["manager"], url)
    assert not history_shown(client, demo["staff"], url)
    calendar = reverse("policies:calendar", args=[BusinessCalendar.objects.first().pk])
    assert history_shown(client, demo["govadmin"], calendar)
    assert not history_shown(client, demo["manager"], calendar)  # no team owns a calendar
