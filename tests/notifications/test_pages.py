"""The page of messages the portal sent me: one's own only, with how each was delivered, at a
constant cost in queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.notifications.models import Notification
from apps.notifications.services import notification_deliver
from tests.escalations.conftest import build_world, raise_one

pytestmark = pytest.mark.django_db
URL = "/notifications/"


@pytest.fixture
def world(db):
    """The escalation tests' organisation: raising tells Tom Herr, the on-call engineer."""
    return build_world()


def mine(client, user) -> str:
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_it_lists_my_messages_with_a_link_to_what_they_are_about(client, world):
    esc = raise_one(world)
    page = mine(client, world.engineer)
    assert esc.reference in page
    assert reverse("escalations:detail", args=[esc.pk]) in page
    assert "Pending" in page


def test_nobody_sees_anyone_elses_messages(client, world):
    from apps.escalations.services import escalation_acknowledge

    esc = raise_one(world)
    escalation_acknowledge(escalation=esc, actor=world.engineer)  # the raiser hears of it
    to_tom = Notification.objects.get(recipient_name="Tom Herr")
    to_sam = Notification.objects.get(recipient_name="Sam Patel")
    assert to_tom.subject != to_sam.subject
    sams_page = mine(client, world.raiser)
    assert to_sam.subject in sams_page and to_tom.subject not in sams_page
    toms_page = mine(client, world.engineer)
    assert to_tom.subject in toms_page and to_sam.subject not in toms_page
    assert "has not sent you anything yet" in mine(client, world.outsider)  # a login with no person


def test_it_says_how_a_message_reached_me(client, world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    raise_one(world)
    note = Notification.objects.get(recipient_name="Tom Herr")
    notification_deliver(notification_id=note.pk)
    page = mine(client, world.engineer)
    assert "Sent" in page and "to engineer@example.com at" in page


def test_it_costs_the_same_queries_at_any_size(client, world):
    raise_one(world)
    client.force_login(world.engineer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for _ in range(30):
        raise_one(world)
    assert Notification.objects.filter(recipient_name="Tom Herr").count() > 30
    assert queries() == few


def test_signed_out_it_asks_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]
