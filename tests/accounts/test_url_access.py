"""Every URL pattern declares its access rule, and every role gets what the matrix says.

A new view that forgets to declare access fails here, which is the point.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.accounts.navigation import NAV
from apps.accounts.roles import Role

# Django's admin guards itself (staff + model permissions); it is tested separately below.
EXEMPT_NAMESPACES = {"admin"}


def walk(patterns, namespace=None, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in EXEMPT_NAMESPACES:
                continue
            yield from walk(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), entry.callback


ALL = list(walk(get_resolver().url_patterns))


@pytest.mark.parametrize("name,route,view", ALL, ids=[route for _, route, _ in ALL])
def test_every_view_declares_its_access(name, route, view):
    assert getattr(view, "access_rule", None) is not None, (
        f"{route} ({name}) has no access rule: wrap it in public, authenticated or requires(...)"
    )


def argless(name, route):
    return name and "<" not in route


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_every_role_gets_what_the_matrix_says(client, users_by_role, role):
    client.force_login(users_by_role[role])
    for name, route, view in ALL:
        if not argless(name, route) or view.access_rule.kind == "public":
            continue
        response = client.get(reverse(name))
        expected = 200 if view.access_rule.allows_role(role) else 403
        assert response.status_code == expected, f"{role} GET {route}: {response.status_code}"


@pytest.mark.django_db
def test_visitors_are_sent_to_login(client):
    for name, route, view in ALL:
        if argless(name, route) and view.access_rule.kind != "public":
            response = client.get(reverse(name))
            assert response.status_code == 302 and "/login/" in response["Location"], route


@pytest.mark.django_db
def test_a_user_with_no_role_is_refused_everything_but_home(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("audit:events")).status_code == 403


@pytest.mark.django_db
def test_admin_is_closed_to_non_staff(client, auditor):
    client.force_login(auditor)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_every_navigation_entry_resolves():
    for item in NAV:
        assert reverse(item.url_name)
