"""The on-call page: who holds each rotation now and at a chosen time in its timezone, the next
hand-off and the gaps ahead, at the same cost for any number of rotations."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.contacts.models import Rotation, Team
from apps.contacts.services import rotation_save
from tests.factories import PersonFactory, RotationOverrideFactory, TeamFactory
from tests.pages import queries_of
from tests.plugins.demo_org import FIXED_NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_on_call_at_a_chosen_time_follows_the_rotation_in_its_timezone(client, raiser, org):
    rotation = Rotation.objects.get(name="Platform primary")  # weekly, 09:00 Europe/London, 3 members
    first = datetime.combine(rotation.starts_on, rotation.handoff_time, ZoneInfo("Europe/London"))
    week2 = first + timedelta(days=7, hours=1)
    client.force_login(raiser)
    response = client.get(
        reverse("contacts:on_call"),
        {
            "date": week2.date().isoformat(),
            "time": week2.strftime("%H:%M"),
            "tz": "Europe/London",
        },
    )
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r.rotation.pk == rotation.pk)
    assert row.at_person.full_name == "Aisha Bello"  # the second member's week


def test_on_call_shows_the_next_hand_off_and_gaps_as_warnings(client, raiser, org):
    team = Team.objects.get(slug="customer-success")
    today = date.today()
    rotation_save(
        rotation=Rotation(
            team=team,
            name="Weekdays",
            shift_hours=24,
            handoff_time="09:00",
            starts_on=today,
            ends_on=today + timedelta(days=3),
        ),
        members=[org["sofia.rossi"], org["sam.patel"]],
    )
    client.force_login(raiser)
    response = client.get(reverse("contacts:on_call"))
    row = next(r for r in response.context["rows"] if r.rotation.name == "Weekdays")
    assert row.gaps, "a rotation ending in 3 days leaves a gap in the next 14"
    assert "nobody on call in the next 14 days" in response.content.decode()
    security = next(r for r in response.context["rows"] if r.rotation.name == "Platform primary")
    assert security.next_at is not None and security.next_person != security.now_person


def test_a_bad_time_on_the_on_call_form_is_a_400_with_the_message(client, raiser):
    client.force_login(raiser)
    response = client.get(reverse("contacts:on_call"), {"date": "yesterday", "time": "9", "tz": "Mars/Base"})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"date", "time", "tz"}


def test_the_on_call_page_costs_the_same_queries_for_2_and_20_rotations(client, raiser):
    def grow(n: int) -> None:
        while Rotation.objects.count() < n:
            team = TeamFactory()
            members = PersonFactory.create_batch(3, team=team)
            rotation = rotation_save(
                rotation=Rotation(team=team, name="Primary", starts_on=date.today()), members=members
            )
            RotationOverrideFactory(
                rotation=rotation,
                person=members[0],
                reason="x",
                starts_at=datetime(2030, 1, 1, tzinfo=ZoneInfo("UTC")),
                ends_at=datetime(2030, 1, 2, tzinfo=ZoneInfo("UTC")),
            )

    client.force_login(raiser)
    url = reverse("contacts:on_call") + "?date=2030-01-01&time=12:00&tz=UTC"
    grow(2)
    client.get(url)
    small = queries_of(client, url)
    grow(20)
    assert queries_of(client, url) == small


def test_the_next_hand_off_is_an_override_when_one_comes_first(org):
    from apps.contacts import selectors
    from apps.contacts.selectors import rotation_status, upcoming_shifts

    rotation = Rotation.objects.get(name="Platform primary")
    now = FIXED_NOW
    RotationOverrideFactory(
        rotation=rotation,
        person=org["ken.watanabe"],
        starts_at=now + timedelta(hours=2),
        ends_at=now + timedelta(hours=5),
        reason="Swap",
    )
    rotation = selectors.rotations_prefetched().get(pk=rotation.pk)
    status = rotation_status(rotation, now)
    assert (status.next_at, status.next_person) == (now + timedelta(hours=2), org["ken.watanabe"])
    shifts = upcoming_shifts(rotation, now, count=3)
    assert [s["person"] for s in shifts] == [status.now_person, org["ken.watanabe"], status.now_person]
    assert shifts[1]["ends"] == now + timedelta(hours=5)
