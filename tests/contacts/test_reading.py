"""The contact pages everyone signed in reads: teams, people, a person, the org chart, on call
and a rotation; the lists cost the same queries at any size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.contacts.models import Rotation, Team
from tests.contacts.pages import grow_org
from tests.pages import queries_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_every_contact_page_renders_for_staff(client, raiser, org):
    client.force_login(raiser)
    grace = org["grace.lindqvist"]
    rotation = Rotation.objects.get(name="Platform primary")
    pages = {
        reverse("contacts:teams"): "Platform Operations",
        reverse("contacts:team", args=["platform-ops"]): "Platform primary",
        reverse("contacts:people"): "Grace Lindqvist",
        reverse("contacts:people") + "?q=lindqvist": "Engineering Manager, Platform",
        reverse("contacts:person", args=[grace.pk]): "Daniel Okafor",  # in her reporting line
        reverse("contacts:org_chart"): "Eleanor Vance",
        reverse("contacts:on_call"): "Platform primary",
        reverse("contacts:rotation", args=[rotation.pk]): "Tomás Herrera",
    }
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_the_people_list_filters_by_team_and_search(client, raiser, org):
    client.force_login(raiser)
    security = Team.objects.get(slug="security")
    body = client.get(reverse("contacts:people"), {"team": security.pk}).content.decode()
    assert "Ken Watanabe" in body and "Grace Lindqvist" not in body
    body = client.get(reverse("contacts:people"), {"q": "compliance officer"}).content.decode()
    assert "Omar Haddad" in body and "Hannah Schmidt" in body and "Ken Watanabe" not in body


@pytest.mark.parametrize("url_name", ["contacts:people", "contacts:org_chart", "contacts:teams"])
def test_list_pages_cost_the_same_queries_for_10_and_500_people(client, raiser, url_name):
    client.force_login(raiser)
    url = reverse(url_name)
    grow_org(10)
    client.get(url)  # warm the session and the content-type cache
    small = queries_of(client, url)
    grow_org(500)
    assert queries_of(client, url) == small


def test_the_org_chart_reads_everyone_in_one_query(client, raiser):
    grow_org(50)
    client.force_login(raiser)
    url = reverse("contacts:org_chart")
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(url).content.decode()
    # Besides the reader's own time zone (one row, every page: apps.contacts.middleware).
    people_queries = [
        q for q in ctx.captured_queries if 'FROM "contacts_person"' in q["sql"] and '"timezone" AS' not in q["sql"]
    ]
    assert len(people_queries) == 1
    assert body.count('href="/contacts/people/') >= 50
