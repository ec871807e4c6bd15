"""Two-factor sign-in (TOTP, with single-use recovery codes): required for HR, auditors and
governance admins, optional for others; wrong codes are throttled and count toward the lockout;
every step is audited. Codes are computed from the device's key, as an authenticator app would."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REQUIRED = ["hr_compliance", "auditor", "governance_admin"]
ENROL = reverse("account:two_factor_enrol")
VERIFY = reverse("account:two_factor_verify")


@pytest.fixture(autouse=True)
def required_roles(settings):
    # tests/settings.py turns the requirement off for the rest of the suite; on here.
    settings.OTP_REQUIRED_ROLES = REQUIRED


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(client: Client, username: str) -> None:
    """A fresh password sign-in (signed out first: the sign-in page sends a signed-in person on)."""
    client.post(reverse("logout"))
    response = client.post(reverse("login"), {"username": username, "password": "pw-for-tests"})
    assert response.status_code == 302, response.content.decode()[:500]


def code_for(key_hex_or_device) -> str:
    key = key_hex_or_device.bin_key if isinstance(key_hex_or_device, TOTPDevice) else key_hex_or_device
    totp = TOTP(key, step=30, t0=0, digits=6)
    return f"{totp.token():06d}"


def enrol(client: Client, clock) -> tuple[bytes, list[str]]:
    """Enrol through the pages: read the key the page shows, answer with its current code."""
    page = client.get(ENROL).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    key = b32decode(secret)
    response = client.post(ENROL, {"code": code_for(key)})
    assert response.status_code == 200, response.content.decode()[:800]
    codes = re.findall(r'<li class="col">([a-z2-7]{8})</li>', response.content.decode())
    clock.shift(timedelta(seconds=30))  # the next code is a new one
    return key, codes


def actions(user) -> list[str]:
    return list(AuditEvent.objects.filter(target_id=str(user.pk), action__startswith="accounts.two_factor")
                .order_by("seq").values_list("action", flat=True))


# --- required roles must enrol --------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["hr_officer", "auditor", "gov_admin"])
def test_a_required_role_without_an_authenticator_reaches_nothing_before_enrolling(
    request, client, clock, fixture
):
    user = request.getfixturevalue(fixture)
    sign_in(client, user.username)
    for url in ["/", "/escalations/", "/account/", "/account/two-factor/", "/notifications/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(ENROL + "?next="), url
    assert client.post("/account/sign-out-everywhere/").status_code == 302

    page = client.get(ENROL)
    body = page.content.decode()
    assert page.status_code == 200 and "Your role requires two-factor sign-in" in body
    assert "<svg" in body and "<path" in body  # the QR code, drawn inline
    key, codes = enrol(client, clock)

    assert len(codes) == 10 == len(set(codes))
    assert client.get("/").status_code == 200
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed and device.bin_key == key
    assert actions(user) == ["accounts.two_factor_enrolled"]


def test_enrolment_keeps_where_the_person_was_going(client, clock, auditor):
    sign_in(client, "auditor")
    response = client.get("/audit/")
    assert response["Location"] == f"{ENROL}?next=%2Faudit%2F"
    page = client.get(response["Location"]).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = client.post(response["Location"], {"code": code_for(b32decode(secret)), "next": "/audit/"})
    assert 'href="/audit/"' in done.content.decode()


def test_a_wrong_code_at_enrolment_changes_nothing_and_is_audited(client, clock, hr_officer):
    sign_in(client, "hr_officer")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=hr_officer)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(ENROL, {"code": wrong})
    assert response.status_code == 400 and "That code is not right" in response.content.decode()
    response = client.post(ENROL, {"code": "12ab"})
    assert response.status_code == 400 and "Enter the 6-digit code" in response.content.decode()
    assert not TOTPDevice.objects.get(user=hr_officer).confirmed
    assert client.get("/").status_code == 302
    assert actions(hr_officer) == ["accounts.two_factor_failed"]


def test_the_secret_stays_the_same_across_reloads_of_the_enrolment_page(client, hr_officer):
    sign_in(client, "hr_officer")
    first = re.search(r'id="totp-secret">([^<]+)<', client.get(ENROL).content.decode()).group(1)
    second = re.search(r'id="totp-secret">([^<]+)<', client.get(ENROL).content.decode()).group(1)
    assert first == second and TOTPDevice.objects.filter(user=hr_officer).count() == 1


# --- signing in with a code ---------------------------------------------------------------------


def test_after_the_password_a_person_with_an_authenticator_gives_a_code(client, clock, gov_admin):
    sign_in(client, "gov_admin")
    key, _ = enrol(client, clock)

    sign_in(client, "gov_admin")
    response = client.get("/policies/")
    assert response["Location"] == f"{VERIFY}?next=%2Fpolicies%2F"
    assert client.get(ENROL)["Location"].startswith(VERIFY)  # the password alone cannot re-enrol
    session_before = client.session.session_key
    response = client.post(VERIFY, {"code": code_for(key), "next": "/policies/"})

    assert response.status_code == 302 and response["Location"] == "/policies/"
    assert client.get("/policies/").status_code == 200
    assert client.session.session_key != session_before
    assert actions(gov_admin) == ["accounts.two_factor_enrolled", "accounts.two_factor_verified"]


def test_a_code_works_once(clock, gov_admin):
    first, second = Client(), Client()
    sign_in(first, "gov_admin")
    key, _ = enrol(first, clock)
    sign_in(first, "gov_admin")
    sign_in(second, "gov_admin")
    code = code_for(key)
    assert first.post(VERIFY, {"code": code})["Location"] == "/"
    clock.shift(timedelta(seconds=2))
    response = second.post(VERIFY, {"code": code})
    assert response.status_code == 400 and "That code is not right" in response.content.decode()


def test_an_unsafe_next_goes_home(client, clock, gov_admin):
    sign_in(client, "gov_admin")
    key, _ = enrol(client, clock)
    sign_in(client, "gov_admin")
    response = client.post(VERIFY, {"code": code_for(key), "next": "https://evil.example.com/"})
    assert response["Location"] == "/"


def test_a_recovery_code_signs_in_once(clock, hr_officer):
    phone = Client()
    sign_in(phone, "hr_officer")
    _, codes = enrol(phone, clock)
    lost, again = Client(), Client()

    sign_in(lost, "hr_officer")
    response = lost.post(VERIFY, {"code": codes[3].upper()})
    assert response["Location"] == "/"
    assert "You used a recovery code; 9 left" in lost.get("/").content.decode()

    clock.shift(timedelta(seconds=10))
    sign_in(again, "hr_officer")
    assert again.post(VERIFY, {"code": codes[3]}).status_code == 400
    assert StaticToken.objects.filter(device__user=hr_officer).count() == 9
    event = AuditEvent.objects.get(action="accounts.recovery_code_used")
    assert event.data == {"codes_left": 9}


def test_new_recovery_codes_replace_the_old_ones(clock, auditor):
    client = Client()
    sign_in(client, "auditor")
    _, old = enrol(client, clock)
    page = client.get(reverse("account:recovery_codes")).content.decode()
    assert "You have 10 recovery codes left" in page and old[0] not in page  # never shown again

    response = client.post(reverse("account:recovery_codes"))
    new = re.findall(r'<li class="col">([a-z2-7]{8})</li>', response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    other = Client()
    sign_in(other, "auditor")
    assert other.post(VERIFY, {"code": old[0]}).status_code == 400
    clock.shift(timedelta(seconds=10))
    assert other.post(VERIFY, {"code": new[0]}).status_code == 302
    assert AuditEvent.objects.filter(action="accounts.recovery_codes_replaced", actor_username="auditor").exists()


# --- throttling and lockout ---------------------------------------------------------------------


def wrong_code(key: bytes) -> str:
    return f"{(int(code_for(key)) + 500_000) % 1_000_000:06d}"


def test_wrong_codes_back_off_and_a_new_password_sign_in_does_not_reset_it(clock, gov_admin):
    client = Client()
    sign_in(client, "gov_admin")
    key, _ = enrol(client, clock)
    sign_in(client, "gov_admin")
    assert client.post(VERIFY, {"code": wrong_code(key)}).status_code == 400
    assert client.post(VERIFY, {"code": wrong_code(key)}).status_code == 400  # within 1 s: not even checked
    clock.shift(timedelta(seconds=1))
    assert client.post(VERIFY, {"code": wrong_code(key)}).status_code == 400
    sign_in(client, "gov_admin")  # a fresh password sign-in...
    response = client.post(VERIFY, {"code": code_for(key)})  # ...and even the right code waits
    assert response.status_code == 400 and "Too many wrong codes in a row" in response.content.decode()
    clock.shift(timedelta(seconds=4))
    assert client.post(VERIFY, {"code": code_for(key)}).status_code == 302
    failed = AuditEvent.objects.filter(action="accounts.two_factor_failed").order_by("seq").values_list("data", flat=True)
    assert [d["stage"] for d in failed] == ["verify", "throttled", "verify", "throttled"]


def test_wrong_codes_count_toward_the_sign_in_lockout(clock, gov_admin, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the device's own back-off is tested above
    client = Client()
    sign_in(client, "gov_admin")
    key, _ = enrol(client, clock)
    sign_in(client, "gov_admin")
    assert client.post(VERIFY, {"code": wrong_code(key)}).status_code == 400
    assert client.post(VERIFY, {"code": wrong_code(key)}).status_code == 400
    response = client.post(VERIFY, {"code": wrong_code(key)})

    assert response.status_code == 429 and "Account temporarily locked" in response.content.decode()
    assert client.get("/").status_code == 302  # signed out
    response = client.post(reverse("login"), {"username": "gov_admin", "password": "pw-for-tests"})
    assert response.status_code == 429


# --- optional for everyone else ----------------------------------------------------------------


def test_other_roles_are_not_asked_but_may_enrol_and_then_are_asked(clock, raiser):
    elsewhere, client = Client(), Client()
    sign_in(elsewhere, "raiser")
    sign_in(client, "raiser")
    assert client.get("/").status_code == 200
    page = client.get(reverse("account:two_factor")).content.decode()
    assert "It is off." in page and f'href="{ENROL}"' in page

    key, _ = enrol(client, clock)

    assert client.get("/").status_code == 200  # this session gave its code
    assert elsewhere.get("/").status_code == 302  # the one-factor session elsewhere ended
    sign_in(elsewhere, "raiser")
    assert elsewhere.get("/")["Location"].startswith(VERIFY)


def test_other_roles_may_turn_it_off_with_a_code_and_required_roles_may_not(clock, raiser, auditor):
    client = Client()
    sign_in(client, "raiser")
    key, _ = enrol(client, clock)
    response = client.post(reverse("account:two_factor_turn_off"), {"code": wrong_code(key)})
    assert response.status_code == 400 and TOTPDevice.objects.filter(user=raiser).exists()
    clock.shift(timedelta(seconds=2))
    response = client.post(reverse("account:two_factor_turn_off"), {"code": code_for(key)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=raiser).exists() and recovery_count(raiser) == 0
    assert "accounts.two_factor_turned_off" in actions(raiser)
    sign_in(client, "raiser")
    assert client.get("/").status_code == 200

    required = Client()
    sign_in(required, "auditor")
    enrol(required, clock)
    assert required.get(reverse("account:two_factor_turn_off")).status_code == 403
    assert TOTPDevice.objects.filter(user=auditor).exists()


def recovery_count(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def test_signing_out_and_public_pages_need_no_code(client, clock, gov_admin):
    sign_in(client, "gov_admin")
    enrol(client, clock)
    sign_in(client, "gov_admin")
    assert client.get(reverse("healthz")).status_code in (200, 503)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/").status_code == 302 and "/login/" in client.get("/")["Location"]
