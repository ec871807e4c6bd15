"""Business calendars from the page: weekly hours, closures and holidays saved through the
services; hours that never let a clock run out, bad lines and unknown countries refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.policies.models import BusinessCalendar, CalendarClosure
from tests.policies.pages import calendar_post, page_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_a_governance_admin_creates_a_calendar_with_hours_and_closures(client, gov_admin):
    client.force_login(gov_admin)
    data = calendar_post(
        client,
        d0_2_start="18:00",
        d0_2_end="20:00",
        closures="2026-12-24 Christmas Eve\n2026-12-31 New Year's Eve",
        change_reason="Berlin office opens",
    )
    response = client.post(reverse("policies:calendar_new"), data)
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert response.status_code == 302
    assert calendar.weekly_hours["0"] == [["09:00", "17:00"], ["18:00", "20:00"]]
    assert calendar.weekly_hours["4"] == [["09:00", "17:00"]] and "5" not in calendar.weekly_hours
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BE")
    assert list(calendar.closures.values_list("reason", flat=True)) == ["Christmas Eve", "New Year's Eve"]
    detail = client.get(reverse("policies:calendar", args=[calendar.pk])).content.decode()
    assert "Berlin office opens" in detail and "Closure 2026-12-24" in detail


def test_a_calendar_with_no_working_hours_is_refused(client, gov_admin):
    client.force_login(gov_admin)
    empty = {f"d{d}_1_{edge}": "" for d in range(5) for edge in ("start", "end")}
    response = client.post(
        reverse("policies:calendar_new"), calendar_post(client, change_reason="Closed", **empty)
    )
    assert response.status_code == 400
    assert "needs working hours on at least one day" in " ".join(response.context["hours_errors"])
    assert not BusinessCalendar.objects.exists()


def test_bad_calendar_lines_are_named(client, gov_admin):
    client.force_login(gov_admin)
    data = calendar_post(
        client, d1_1_end="08:00", closures="2026-02-30 Leap\n2026-12-24", change_reason="Typos"
    )
    response = client.post(reverse("policies:calendar_new"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Tuesday: 09:00–08:00 ends before it starts." in errors["d1_1_end"]
    assert "Line 1: “2026-02-30” is not a date" in errors["closures"][0]
    assert "Line 2: say why the office is closed" in errors["closures"][1]
    assert not BusinessCalendar.objects.exists() and not CalendarClosure.objects.exists()


def test_a_shift_to_midnight_is_saved_as_24_00_and_shown_so(client, gov_admin):
    client.force_login(gov_admin)
    # The browser's time picker sends 00:00 for midnight; 24:00 typed by hand works too.
    data = calendar_post(
        client,
        d4_2_start="18:00",
        d4_2_end="00:00",
        d5_1_start="20:00",
        d5_1_end="24:00",
        change_reason="Late desk",
    )
    assert client.post(reverse("policies:calendar_new"), data).status_code == 302
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert calendar.weekly_hours["4"] == [["09:00", "17:00"], ["18:00", "24:00"]]
    assert calendar.weekly_hours["5"] == [["20:00", "24:00"]]
    detail = client.get(reverse("policies:calendar", args=[calendar.pk])).content.decode()
    assert "09:00–17:00, 18:00–24:00" in detail and "20:00–24:00" in detail
    assert "Sat 20:00–24:00" in client.get(reverse("policies:calendars")).content.decode()
    # The edit page shows midnight as it was typed (24:00); saving it untouched keeps it.
    edit = reverse("policies:calendar_edit", args=[calendar.pk])
    assert 'name="d5_1_end" value="24:00"' in client.get(edit).content.decode()
    assert client.post(edit, page_post(client, edit, change_reason="Nothing changed")).status_code == 302
    calendar.refresh_from_db()
    assert calendar.weekly_hours["5"] == [["20:00", "24:00"]]


def test_a_calendar_with_less_than_an_hour_a_week_is_refused(client, gov_admin):
    client.force_login(gov_admin)
    empty = {f"d{d}_1_{edge}": "" for d in range(1, 5) for edge in ("start", "end")}
    data = calendar_post(client, d0_1_start="09:00", d0_1_end="09:45", change_reason="Barely open", **empty)
    response = client.post(reverse("policies:calendar_new"), data)
    assert response.status_code == 400
    assert response.context["hours_errors"] == [
        "A calendar needs at least 1 hour of working time a week (these hours add up to 45 minutes)."
    ]
    assert not BusinessCalendar.objects.exists()


def test_an_unknown_holiday_country_is_refused_on_its_field(client, gov_admin):
    client.force_login(gov_admin)
    response = client.post(
        reverse("policies:calendar_new"), calendar_post(client, holiday_country="QQ", change_reason="Typo")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["holiday_country"]
