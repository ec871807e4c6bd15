"""Optional single sign-on with OpenID Connect, against a real (tiny) provider running in the
test: the whole authorization-code flow, groups mapped to roles, local accounts kept working."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.oidc import roles_from_groups
from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HANNA = {
    "sub": "idp|1001",
    "email": "hanna.berg@example.com",
    "email_verified": True,
    "preferred_username": "hberg",
    "given_name": "Hanna",
    "family_name": "Berg",
    "groups": ["portal-hr", "everyone", "cafeteria-committee"],
}


def sso_sign_in(client: Client, provider, next_url: str = "/"):
    """Start at the portal, let the provider answer, come back: as a browser would."""
    start = client.get(reverse("account:oidc_start"), {"next": next_url})
    assert start.status_code == 302 and start["Location"].startswith(provider.url("/authorize?"))
    answer = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == reverse("account:oidc_callback")
    return client.get(f"{back.path}?{back.query}")


def roles_of(username: str) -> set[Role]:
    return set(User.objects.get(username=username).roles)


# --- groups to roles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "groups,expected",
    [
        (["portal-hr", "everyone", "other"], {Role.HR_COMPLIANCE, Role.STAFF}),
        ("portal-audit", {Role.AUDITOR}),
        ([], set()),
        (None, set()),
        (42, set()),
        ([["portal-hr"], {"x": 1}, "everyone"], {Role.STAFF}),
    ],
)
def test_groups_map_to_roles(groups, expected):
    role_map = {"portal-hr": "hr_compliance", "portal-audit": "auditor", "everyone": "staff"}
    assert roles_from_groups(groups, role_map) == expected


def test_without_a_map_the_provider_does_not_manage_roles():
    assert roles_from_groups(["portal-hr"], {}) is None


# --- the flow -----------------------------------------------------------------------------------


def test_signing_in_creates_the_person_with_the_roles_of_their_groups(client, oidc_provider):
    oidc_provider.person = HANNA
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Acme SSO" in page

    response = sso_sign_in(client, oidc_provider, next_url="/escalations/")

    assert response.status_code == 302 and response["Location"] == "/escalations/"
    assert client.get("/escalations/").status_code == 200
    user = User.objects.get(external_id="idp|1001")
    assert (user.username, user.email, user.get_full_name()) == ("hberg", "hanna.berg@example.com", "Hanna Berg")
    assert not user.has_usable_password()
    assert set(user.roles) == {Role.HR_COMPLIANCE, Role.STAFF}
    assert AuditEvent.objects.filter(action="accounts.user_created_by_sign_on", target_id=str(user.pk)).exists()
    assert AuditEvent.objects.get(action="accounts.roles_changed", target_id=str(user.pk)).data == {
        "before": [], "after": ["hr_compliance", "staff"]
    }
    # What the portal sent the provider: the code with the PKCE verifier, authenticated as the client.
    [sent] = oidc_provider.token_requests
    assert sent["grant_type"] == "authorization_code" and sent["code_verifier"]
    assert sent["redirect_uri"] == "http://testserver/account/sso/callback/"


def test_the_next_sign_in_follows_the_provider_found_by_subject_not_email(client, oidc_provider):
    oidc_provider.person = HANNA
    sso_sign_in(client, oidc_provider)
    client.post(reverse("logout"))
    oidc_provider.person = HANNA | {"email": "h.berg@example.com", "groups": ["portal-audit"]}

    assert sso_sign_in(client, oidc_provider).status_code == 302

    user = User.objects.get(external_id="idp|1001")
    assert user.email == "h.berg@example.com" and set(user.roles) == {Role.AUDITOR}
    assert User.objects.filter(email__icontains="berg").count() == 1


def test_a_local_account_with_the_same_verified_email_is_linked_and_keeps_its_password(client, oidc_provider):
    local = UserFactory(username="hanna", email="Hanna.Berg@example.com", roles=[Role.MANAGER])
    oidc_provider.person = HANNA

    sso_sign_in(client, oidc_provider)

    local.refresh_from_db()
    assert local.external_id == "idp|1001" and local.username == "hanna"
    assert set(local.roles) == {Role.HR_COMPLIANCE, Role.STAFF}  # the provider manages roles
    assert AuditEvent.objects.filter(action="accounts.user_linked_to_sign_on", target_id=str(local.pk)).exists()
    password = Client().post(reverse("login"), {"username": "hanna", "password": "pw-for-tests"})
    assert password.status_code == 302


def test_an_unverified_email_links_nothing_and_a_taken_username_gets_a_suffix(client, oidc_provider):
    local = UserFactory(username="hberg", email="hanna.berg@example.com")
    oidc_provider.person = HANNA | {"email_verified": False}

    sso_sign_in(client, oidc_provider)

    local.refresh_from_db()
    assert local.external_id == ""
    assert User.objects.get(external_id="idp|1001").username == "hberg-2"


def test_without_a_role_map_roles_stay_the_portals(client, oidc_provider, settings):
    settings.OIDC_ROLE_MAP = {}
    UserFactory(username="hanna", email="hanna.berg@example.com", roles=[Role.MANAGER])
    oidc_provider.person = HANNA
    sso_sign_in(client, oidc_provider)
    assert roles_of("hanna") == {Role.MANAGER}


def test_local_accounts_keep_signing_in_beside_it(client, oidc_provider, raiser):
    response = client.post(reverse("login"), {"username": "raiser", "password": "pw-for-tests"})
    assert response.status_code == 302 and client.get("/").status_code == 200
    assert oidc_provider.token_requests == []


# --- refusals -----------------------------------------------------------------------------------


def failed(client: Client, response) -> bool:
    page = client.get(reverse("login")).content.decode()
    return (
        response.status_code == 302
        and response["Location"] == reverse("login")
        and "Signing in with Acme SSO did not work" in page
        and client.get("/").status_code == 302
    )


def test_a_token_signed_with_another_key_is_refused(client, oidc_provider):
    oidc_provider.person = HANNA
    oidc_provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert failed(client, sso_sign_in(client, oidc_provider))
    assert not User.objects.filter(external_id="idp|1001").exists()


def test_a_replayed_callback_is_refused(client, oidc_provider):
    oidc_provider.person = HANNA
    start = client.get(reverse("account:oidc_start"))
    back = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    client.post(reverse("logout"))
    assert failed(client, client.get(f"{back.path}?{back.query}"))


def test_a_forged_state_is_refused(client, oidc_provider):
    client.get(reverse("account:oidc_start"))
    assert failed(client, client.get(reverse("account:oidc_callback"), {"code": "x", "state": "forged"}))


def test_the_provider_being_down_is_a_message_not_an_error(client, oidc_provider):
    oidc_provider.person = HANNA
    start = client.get(reverse("account:oidc_start"))
    back = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"])
    oidc_provider.stop()
    assert failed(client, client.get(f"{back.path}?{back.query}"))


def test_a_deactivated_account_is_refused(client, oidc_provider):
    oidc_provider.person = HANNA
    sso_sign_in(client, oidc_provider)
    client.post(reverse("logout"))
    User.objects.filter(external_id="idp|1001").update(is_active=False)
    assert failed(client, sso_sign_in(client, oidc_provider))


def test_the_providers_error_answer_is_a_message(client, oidc_provider):
    client.get(reverse("account:oidc_start"))
    assert failed(client, client.get(reverse("account:oidc_callback"), {"error": "access_denied", "state": "x"}))


# --- two-factor and switched off ---------------------------------------------------------------


def test_two_factor_sign_in_still_applies_unless_the_provider_is_trusted_for_it(oidc_provider, settings):
    settings.OTP_REQUIRED_ROLES = ["hr_compliance"]
    oidc_provider.person = HANNA
    client = Client()
    sso_sign_in(client, oidc_provider)
    assert client.get("/")["Location"].startswith(reverse("account:two_factor_enrol"))

    settings.OIDC_COUNTS_AS_TWO_FACTOR = True
    client = Client()
    sso_sign_in(client, oidc_provider)
    assert client.get("/").status_code == 200
    password_only = Client()  # a password sign-in is not the provider's
    User.objects.filter(external_id="idp|1001").update(password="")
    user = User.objects.get(external_id="idp|1001")
    user.set_password("pw-for-tests")
    user.save()
    password_only.post(reverse("login"), {"username": "hberg", "password": "pw-for-tests"})
    assert password_only.get("/")["Location"].startswith(reverse("account:two_factor_enrol"))


def test_switched_off_there_is_no_button_and_no_sso_pages(client, settings):
    settings.OIDC_ENABLED = False
    assert "Sign in with" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("account:oidc_start")).status_code == 404
    assert client.get(reverse("account:oidc_callback"), {"code": "x", "state": "y"}).status_code == 404
