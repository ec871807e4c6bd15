"""Sign-in, sign-out and failed-login throttling (django-axes)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_signs_in_and_lands_home(client, raiser):
    response = client.post(reverse("login"), {"username": "raiser", "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_logout_needs_a_post(client, raiser):
    client.force_login(raiser)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, raiser, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "raiser", "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "raiser", "password": "pw-for-tests"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_for_one_user_do_not_lock_another(client, raiser, owner, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(reverse("login"), {"username": "raiser", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "owner", "password": "pw-for-tests"})
    assert response.status_code == 302
