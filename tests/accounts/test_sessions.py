"""Sessions end after the idle timeout and at most SESSION_MAX_AGE_HOURS after sign-in; HR and
governance admins' cookies end with the browser; a person can sign out everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from apps.accounts.sessions import SEEN_AT
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ENGINES = ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.signed_cookies"]


@pytest.fixture(params=ENGINES, ids=["db", "signed_cookies"])
def engine(request, settings):
    settings.SESSION_ENGINE = request.param
    return request.param


def sign_in(client: Client, username: str) -> None:
    response = client.post(reverse("login"), {"username": username, "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def signed_in(client: Client) -> bool:
    response = client.get(reverse("home"))
    assert response.status_code in (200, 302)
    return response.status_code == 200


def message_on_login_page(client: Client) -> str:
    return client.get(reverse("login")).content.decode()


def test_a_session_ends_after_eight_hours_without_activity(client, raiser, engine):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "raiser")
        clock.shift(timedelta(hours=7, minutes=59))
        assert signed_in(client)
        clock.shift(timedelta(hours=8))
        assert not signed_in(client)
        assert "You were signed out after 8 hours without activity" in message_on_login_page(client)


def test_activity_keeps_it_open_but_never_past_a_day_after_sign_in(client, raiser, engine):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "raiser")
        for _ in range(3):
            clock.shift(timedelta(hours=7, minutes=50))
            assert signed_in(client)  # 23.5 hours in, still going
        clock.shift(timedelta(minutes=31))
        assert not signed_in(client)
        assert "a session lasts at most 24 hours" in message_on_login_page(client)
        sign_in(client, "raiser")
        assert signed_in(client)


def test_both_limits_come_from_the_settings(client, raiser, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    settings.SESSION_MAX_AGE_HOURS = 1
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "raiser")
        clock.shift(timedelta(minutes=16))
        assert not signed_in(client)
        assert "after 15 minutes without activity" in message_on_login_page(client)
        sign_in(client, "raiser")
        for _ in range(4):
            clock.shift(timedelta(minutes=14, seconds=50))
            assert signed_in(client)
        clock.shift(timedelta(minutes=1))
        assert not signed_in(client)
        assert "a session lasts at most 1 hour" in message_on_login_page(client)


def test_activity_is_written_to_the_session_at_most_once_a_minute(client, raiser):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "raiser")
        first = client.session[SEEN_AT]
        clock.shift(timedelta(seconds=59))
        client.get(reverse("home"))
        assert client.session[SEEN_AT] == first
        clock.shift(timedelta(seconds=1))
        client.get(reverse("home"))
        assert client.session[SEEN_AT] == first + 60


@pytest.mark.parametrize(
    "fixture,kept_past_the_browser",
    [("raiser", True), ("auditor", True), ("hr_officer", False), ("gov_admin", False)],
)
def test_hr_and_governance_admins_cookies_end_with_the_browser(request, client, fixture, kept_past_the_browser):
    user = request.getfixturevalue(fixture)
    client.post(reverse("login"), {"username": user.username, "password": "pw-for-tests"})
    cookie = client.cookies["sessionid"]
    if kept_past_the_browser:
        assert cookie["max-age"] == 8 * 3600 + 3600 and cookie["expires"]
    else:
        assert cookie["max-age"] == "" and cookie["expires"] == ""


def test_signing_out_everywhere_ends_every_session_of_the_person_only(raiser, owner, engine):
    here, elsewhere, someone_else = Client(), Client(), Client()
    sign_in(here, "raiser")
    sign_in(elsewhere, "raiser")
    sign_in(someone_else, "owner")

    assert here.get(reverse("account:sign_out_everywhere")).status_code == 200
    response = here.post(reverse("account:sign_out_everywhere"))

    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not signed_in(here) and not signed_in(elsewhere)
    assert signed_in(someone_else)
    event = AuditEvent.objects.get(action="accounts.signed_out_everywhere")
    assert (event.actor_username, event.target_id) == ("raiser", str(raiser.pk))
    sign_in(elsewhere, "raiser")  # signing in again works at once
    assert signed_in(elsewhere)


def test_signing_out_everywhere_needs_a_signed_in_person(client):
    response = client.post(reverse("account:sign_out_everywhere"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not AuditEvent.objects.filter(action="accounts.signed_out_everywhere").exists()
