"""Nothing a signed-in person sees is stored by the browser or a proxy (Cache-Control: no-store),
nor are the sign-in, two-factor and password pages; static files keep their caching."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store", response.get("Cache-Control")
    assert response["Pragma"] == "no-cache"


@pytest.mark.parametrize(
    "fixture,url",
    [
        ("raiser", "/"),
        ("raiser", "/escalations/"),
        ("raiser", "/escalations/all/"),
        ("raiser", "/escalations/all/?export=csv"),
        ("manager", "/approvals/"),
        ("manager", "/approvals/log/?export=csv"),
        ("auditor", "/audit/"),
        ("auditor", "/timers/"),
        ("raiser", "/account/"),
        ("raiser", "/account/two-factor/code/"),
        ("raiser", "/escalations/999999/"),  # a 404 too
        ("raiser", "/audit/"),  # and a 403
    ],
)
def test_every_response_to_a_signed_in_person_is_no_store(client, request, fixture, url):
    client.force_login(request.getfixturevalue(fixture))
    response = client.get(url)
    assert response.status_code in (200, 403, 404)
    assert_no_store(response)


def test_the_csv_export_is_a_real_export(client, raiser):
    client.force_login(raiser)
    response = client.get("/escalations/all/?export=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("reference,")
    assert_no_store(response)


def test_the_response_that_signs_someone_out_is_no_store_too(client, raiser):
    client.force_login(raiser)
    assert_no_store(client.post(reverse("account:sign_out_everywhere")))


@pytest.mark.parametrize(
    "url",
    ["/account/password/reset/", "/account/password/reset/sent/", "/account/password/reset/done/"],
)
def test_password_pages_are_no_store_for_visitors(client, settings, url):
    settings.PASSWORD_RESET_ENABLED = True
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_sign_in_page_is_never_stored(client):
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]


def test_a_public_page_for_a_visitor_is_left_alone(client, settings):
    settings.PASSWORD_RESET_ENABLED = False
    response = client.get("/account/password/reset/")  # 404 for visitors: nothing private in it
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]  # still under /account/
    response = client.get("/nothing-here/")
    assert response.status_code == 404 and not response.has_header("Cache-Control")


def test_a_view_that_sets_its_own_cache_control_keeps_it(client, raiser):
    client.force_login(raiser)
    response = client.get(reverse("healthz"))  # never_cache: Django's own, longer header
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert not response.has_header("Pragma")


def test_static_files_are_served_before_it_and_keep_their_caching(client, raiser, settings):
    # WhiteNoise reads these when this test's client first loads the middleware; with them it
    # serves static/ directly, as in development.
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    client.force_login(raiser)
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "") and not response.has_header("Pragma")
