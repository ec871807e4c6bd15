"""Local times at the edges of the calendar are refused beside their field, never a 500.

9999-12-31 23:59 in Pacific/Pago_Pago (UTC-11) is in the year 10000 in UTC; 0001-01-01 00:00
in Asia/Tokyo (UTC+9) in the year 0. Each was a valid date in its form and an OverflowError
when converted (in the form, when saved, or on the page that shows it). Every form that reads
a local time converts it with ``apps.common.moments.to_utc``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.common.moments import EARLIEST, LATEST, day_to_utc, to_utc
from apps.contacts.models import Rotation, RotationOverride
from apps.policies.models import ChangeFreeze, MaintenanceWindow
from tests.factories import PersonFactory, ServiceFactory, TeamFactory, rotation_with

OUTSIDE = "is outside the range the portal can store"
EDGES = [("9999-12-31", "23:59", "Pacific/Pago_Pago"), ("0001-01-01", "00:00", "Asia/Tokyo")]


# --- the helper -----------------------------------------------------------------------------


def test_a_local_time_becomes_its_utc_instant():
    assert to_utc(datetime(2026, 7, 1, 9, 0), "Europe/London") == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert to_utc(aware) == datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    assert day_to_utc(date(2026, 3, 1), time(0), "UTC", what="x", after=timedelta(days=1)) == datetime(
        2026, 3, 2, tzinfo=UTC
    )


@pytest.mark.parametrize("day,clock,zone", EDGES)
def test_an_instant_past_the_end_of_utc_is_a_validation_error_not_an_overflow(day, clock, zone):
    with pytest.raises(ValidationError) as refused:
        day_to_utc(date.fromisoformat(day), time.fromisoformat(clock), zone, what="The start")
    [message] = refused.value.messages
    assert message.startswith(f"The start ({day} {clock} in {zone}) {OUTSIDE}")
    assert refused.value.error_list[0].code == "out_of_range"


def test_the_range_keeps_a_day_inside_python_s_so_any_stored_instant_shows_in_any_zone():
    for instant in (EARLIEST, LATEST):
        for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
            instant.astimezone(ZoneInfo(zone))  # no OverflowError
    with pytest.raises(ValidationError):
        to_utc(datetime(9999, 12, 31, 0, 0), "UTC")
    with pytest.raises(ValidationError):
        day_to_utc(
            date(9999, 12, 31), time(0), "UTC", what="The end of the last day", after=timedelta(days=1)
        )


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def admin(db, gov_admin) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(gov_admin)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("day,clock,zone", EDGES)
def test_who_is_on_call_at_the_edge_of_the_calendar_is_a_400(admin, day, clock, zone):
    rotation_with([PersonFactory()])
    response = admin.get(reverse("contacts:on_call"), {"date": day, "time": clock, "tz": zone})
    assert response.status_code == 400
    assert OUTSIDE in response.context["form"].errors["date"][0]
    ok = admin.get(reverse("contacts:on_call"), {"date": "2031-01-01", "time": "09:00", "tz": zone})
    assert ok.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,model", [("policies:maintenance_new", MaintenanceWindow), ("policies:freeze_new", ChangeFreeze)]
)
def test_a_period_ending_past_the_year_9999_in_utc_is_refused_beside_the_field(admin, name, model):
    service = ServiceFactory(name="Payments", slug="payments", owner_team=TeamFactory())
    data = {
        "name": "Forever",
        "services": [service.pk],
        "starts_at": "2031-01-01T00:00",
        "ends_at": "9999-12-31T23:59",
        "tz": "Pacific/Pago_Pago",
        "reason": "Migration",
        "change_reason": "Planned migration",
    }
    response = admin.post(reverse(name), data)
    assert response.status_code == 400
    assert OUTSIDE in response.context["form"].errors["ends_at"][0]
    response = admin.post(reverse(name), {**data, "starts_at": "0001-01-01T00:00", "tz": "Asia/Tokyo"})
    assert response.status_code == 400
    assert OUTSIDE in response.context["form"].errors["starts_at"][0]
    assert not model.objects.exists()
    assert admin.post(reverse(name), {**data, "ends_at": "2031-01-01T04:00"}).status_code == 302


def rotation_post(team, person, **fields) -> dict:
    return {
        "team": team.pk,
        "name": "Edge",
        "timezone": "UTC",
        "shift_hours": 168,
        "handoff_time": "09:00",
        "starts_on": "2030-01-07",
        "ends_on": "",
        "is_primary": "on",
        "members-TOTAL_FORMS": 1,
        "members-INITIAL_FORMS": 0,
        "members-0-person": person.pk,
        "members-0-position": 1,
        "reason": "Edges",
        **fields,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields,where",
    [
        ({"ends_on": "9999-12-31"}, "ends_on"),  # its last day ends in the year 10000
        ({"starts_on": "9999-12-31", "handoff_time": "23:59", "timezone": "Pacific/Pago_Pago"}, "starts_on"),
        ({"starts_on": "0001-01-01", "handoff_time": "00:00", "timezone": "Asia/Tokyo"}, "starts_on"),
    ],
)
def test_a_rotation_whose_hand_offs_cannot_be_stored_is_refused(admin, fields, where):
    team, person = TeamFactory(), PersonFactory()
    response = admin.post(reverse("contacts:rotation_new"), rotation_post(team, person, **fields))
    assert response.status_code == 400
    assert OUTSIDE in response.context["form"].errors[where][0]
    assert not Rotation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "zone,edge", [("Pacific/Kiritimati", "0001-01-01T00:00"), ("Pacific/Pago_Pago", "9999-12-31T23:59")]
)
def test_an_override_at_the_edge_in_the_rotation_s_timezone_is_refused(admin, zone, edge):
    person = PersonFactory()
    rotation = rotation_with([person], timezone=zone)
    data = {
        "person": person.pk,
        "starts_at": "2031-01-01T09:00",
        "ends_at": "2031-01-02T09:00",
        "reason": "Swap",
    }
    key = "starts_at" if edge.startswith("0001") else "ends_at"
    response = admin.post(reverse("contacts:override_add", args=[rotation.pk]), {**data, key: edge})
    assert response.status_code == 400
    assert OUTSIDE in response.context["form"].errors[key][0]
    assert not RotationOverride.objects.exists()
