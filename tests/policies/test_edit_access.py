"""Only governance admins edit policies, calendars, windows and freezes, or mark a policy
reviewed; the editors work on an empty database."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


@pytest.mark.parametrize("role", [r for r in Role if r != Role.GOVERNANCE_ADMIN])
def test_editing_is_refused_to_everyone_but_governance_admins(client, users_by_role, role, outage):
    client.force_login(users_by_role[role])
    calendar = outage.calendar
    for url in [
        reverse("policies:new"),
        reverse("policies:edit", args=[outage.pk]),
        reverse("policies:calendar_new"),
        reverse("policies:calendar_edit", args=[calendar.pk]),
        reverse("policies:maintenance_new"),
        reverse("policies:freeze_new"),
    ]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x", "change_reason": "sneaky change"}).status_code == 403, url
    before = outage.next_review_on
    response = client.post(reverse("policies:review", args=[outage.pk]), {"notes": "looks fine to me"})
    assert response.status_code == 403
    outage.refresh_from_db()
    assert outage.next_review_on == before


def test_the_editor_renders_for_an_admin_with_an_empty_database(client, gov_admin):
    client.force_login(gov_admin)
    for name in ["policies:new", "policies:calendar_new", "policies:maintenance_new", "policies:freeze_new"]:
        assert client.get(reverse(name)).status_code == 200, name
    assert "create one first" in client.get(reverse("policies:new")).content.decode()
