"""Rotations and overrides from the page: members in their order, one primary rotation a team,
override times read in the rotation's timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.contacts.models import Rotation, RotationOverride, Team
from tests.contacts.pages import rotation_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_a_governance_admin_creates_and_reorders_a_rotation(client, gov_admin, org):
    team = Team.objects.get(slug="platform-ops")
    tomas, aisha = org["tomas.herrera"], org["aisha.bello"]
    client.force_login(gov_admin)
    response = client.post(reverse("contacts:rotation_new"), rotation_post(team, [tomas, aisha]))
    rotation = Rotation.objects.get(name="Night watch")
    assert response.status_code == 302
    assert [m.person for m in rotation.members.order_by("position")] == [tomas, aisha]
    data = rotation_post(team, [tomas, aisha])
    data["members-0-position"], data["members-1-position"] = 2, 1
    assert client.post(reverse("contacts:rotation_edit", args=[rotation.pk]), data).status_code == 302
    assert [m.person for m in rotation.members.order_by("position")] == [aisha, tomas]


def test_a_rotation_form_refuses_a_second_primary_and_no_members(client, gov_admin, org):
    team = Team.objects.get(slug="platform-ops")  # already has its primary rotation
    client.force_login(gov_admin)
    response = client.post(reverse("contacts:rotation_new"), rotation_post(team, [], is_primary="on"))
    assert response.status_code == 400
    assert "already has a primary rotation" in response.context["form"].errors["is_primary"][0]
    response = client.post(reverse("contacts:rotation_new"), rotation_post(team, []))
    assert response.status_code == 400
    assert "at least one member" in response.content.decode()
    assert not Rotation.objects.filter(name="Night watch").exists()


def test_an_override_is_read_in_the_rotations_timezone(client, gov_admin, org):
    rotation = Rotation.objects.get(name="Platform primary")  # Europe/London
    client.force_login(gov_admin)
    response = client.post(
        reverse("contacts:override_add", args=[rotation.pk]),
        {
            "person": org["grace.lindqvist"].pk,
            "starts_at": "2031-07-01T09:00",
            "ends_at": "2031-07-01T17:00",
            "reason": "Swap",
        },
    )
    assert response.status_code == 302
    override = RotationOverride.objects.get(rotation=rotation)
    assert override.starts_at == datetime(2031, 7, 1, 8, 0, tzinfo=ZoneInfo("UTC"))  # BST is UTC+1


def test_an_override_ending_before_it_starts_is_refused(client, gov_admin, org):
    rotation = Rotation.objects.get(name="Platform primary")
    client.force_login(gov_admin)
    response = client.post(
        reverse("contacts:override_add", args=[rotation.pk]),
        {
            "person": org["grace.lindqvist"].pk,
            "starts_at": "2031-07-01T17:00",
            "ends_at": "2031-07-01T09:00",
            "reason": "Swap",
        },
    )
    assert response.status_code == 400
    assert "must end after it starts" in response.context["form"].errors["ends_at"][0]
    assert not RotationOverride.objects.exists()
