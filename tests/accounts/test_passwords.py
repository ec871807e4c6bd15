"""Portal users change their password, and reset it by email where email is set up; both are
audited and end the person's other sessions."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = "a-much-longer-passphrase-2026"


def sign_in(client: Client, username: str, password: str = "pw-for-tests") -> int:
    return client.post(reverse("login"), {"username": username, "password": password}).status_code


def signed_in(client: Client) -> bool:
    return client.get(reverse("home")).status_code == 200


# --- change -------------------------------------------------------------------------------------


def test_changing_the_password_keeps_this_session_and_ends_the_others(raiser):
    here, elsewhere = Client(), Client()
    assert sign_in(here, "raiser") == 302 and sign_in(elsewhere, "raiser") == 302
    page = here.get(reverse("account:password_change"))
    assert page.status_code == 200 and "Change your password" in page.content.decode()

    response = here.post(
        reverse("account:password_change"),
        {"old_password": "pw-for-tests", "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302 and response["Location"] == reverse("account:home")
    assert "Your password is changed" in here.get(reverse("account:home")).content.decode()
    assert signed_in(here) and not signed_in(elsewhere)
    event = AuditEvent.objects.get(action="accounts.password_changed")
    assert (event.actor_username, event.data) == ("raiser", {"how": "change"})
    assert sign_in(Client(), "raiser", NEW) == 302
    assert sign_in(Client(), "raiser") == 200  # the old one is refused


def test_a_wrong_current_password_changes_nothing_and_says_so(client, raiser):
    sign_in(client, "raiser")
    response = client.post(
        reverse("account:password_change"), {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}
    )
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert not AuditEvent.objects.filter(action="accounts.password_changed").exists()
    assert sign_in(Client(), "raiser") == 302


def test_a_weak_new_password_is_refused_with_the_rule(client, raiser):
    sign_in(client, "raiser")
    response = client.post(
        reverse("account:password_change"),
        {"old_password": "pw-for-tests", "new_password1": "12345678", "new_password2": "12345678"},
    )
    body = response.content.decode()
    assert "This password is too common" in body and "This password is entirely numeric" in body
    assert sign_in(Client(), "raiser") == 302


def test_single_sign_on_accounts_have_no_password_to_change(client):
    user = UserFactory(username="sso-person")
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    body = client.get(reverse("account:password_change")).content.decode()
    assert "managed there" in body and 'name="old_password"' not in body


# --- reset --------------------------------------------------------------------------------------


@pytest.fixture
def reset_on(settings):
    settings.PASSWORD_RESET_ENABLED = True
    settings.SITE_URL = "https://portal.example.com"


def test_without_email_there_is_no_password_reset(client, raiser, settings):
    settings.PASSWORD_RESET_ENABLED = False
    assert "Forgot your password?" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("account:password_reset")).status_code == 404
    assert client.post(reverse("account:password_reset"), {"email": raiser.email}).status_code == 404
    assert mail.outbox == []


def test_a_reset_link_arrives_by_smtp_and_sets_a_new_password_ending_every_session(
    raiser, smtp_server, reset_on
):
    elsewhere = Client()
    sign_in(elsewhere, "raiser")
    visitor = Client()
    login_page = visitor.get(reverse("login")).content.decode()
    assert f'href="{reverse("account:password_reset")}"' in login_page

    response = visitor.post(reverse("account:password_reset"), {"email": "RAISER@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("account:password_reset_done")

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "raiser@example.com"
    assert message["Subject"] == "Reset your escalportal password"
    link = re.search(r"https://portal\.example\.com(/account/password/reset/\S+/)", message.get_content())
    assert link, message.get_content()
    form_page = visitor.get(link.group(1), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = visitor.post(form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == reverse("account:password_reset_complete")

    assert not signed_in(elsewhere)
    assert sign_in(Client(), "raiser", NEW) == 302
    actions = list(AuditEvent.objects.filter(target_id=str(raiser.pk)).values_list("action", "data"))
    assert ("accounts.password_reset_requested", {"email": "raiser@example.com"}) in actions
    assert ("accounts.password_changed", {"how": "reset"}) in actions
    # The link works once.
    assert "does not work any more" in visitor.get(link.group(1), follow=True).content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, raiser, reset_on):
    response = client.post(reverse("account:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("account:password_reset_done")
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="accounts.password_reset_requested").exists()


def test_single_sign_on_accounts_get_no_reset_email(client, reset_on):
    user = UserFactory(username="sso-person", email="sso@example.com")
    user.set_unusable_password()
    user.save()
    client.post(reverse("account:password_reset"), {"email": "sso@example.com"})
    assert mail.outbox == []


def test_a_forged_reset_link_sets_nothing(client, raiser, reset_on):
    response = client.get("/account/password/reset/MQ/set-password/", follow=True)
    assert "does not work any more" in response.content.decode()
    response = client.post("/account/password/reset/MQ/abc-123/", {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 200 and "does not work any more" in response.content.decode()
    assert sign_in(Client(), "raiser") == 302
