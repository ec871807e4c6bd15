"""Business calendars by example: office hours, weekends, public holidays, closures, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.policies.calendar import CalendarError, WorkingCalendar, parse_weekly
from apps.policies.models import BusinessCalendar
from apps.policies.services import calendar_save
from tests.factories import OFFICE_HOURS, BusinessCalendarFactory

LONDON = ZoneInfo("Europe/London")
MIN = timedelta(minutes=1)


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


def office(**fields) -> WorkingCalendar:
    """The UK office: Monday to Friday 09:00-17:30 London, English bank holidays."""
    fields.setdefault("holiday_country", "GB")
    fields.setdefault("holiday_subdivision", "ENG")
    return WorkingCalendar(tz=LONDON, weekly=parse_weekly(OFFICE_HOURS), **fields)


# --- the arithmetic --------------------------------------------------------------------------


def test_it_carries_friday_evening_minutes_to_monday_morning():
    friday_evening = london(2025, 11, 14, 17, 55)  # after the 17:30 close
    assert office().add_business_time(friday_evening, 30 * MIN) == london(2025, 11, 17, 9, 30)


def test_it_splits_a_duration_across_the_weekend():
    # 15 minutes before Friday's close, 15 after Monday's opening.
    assert office().add_business_time(london(2025, 11, 14, 17, 15), 30 * MIN) == london(2025, 11, 17, 9, 15)
    assert (
        office().business_time_between(london(2025, 11, 14, 17, 15), london(2025, 11, 17, 9, 15)) == 30 * MIN
    )


def test_it_lands_on_the_closing_time_when_the_duration_uses_up_the_day():
    assert office().add_business_time(london(2025, 11, 14, 16, 30), 60 * MIN) == london(2025, 11, 14, 17, 30)


def test_a_zero_duration_outside_hours_waits_for_the_next_opening():
    saturday_noon = london(2025, 11, 15, 12, 0)
    assert office().add_business_time(saturday_noon, timedelta(0)) == london(2025, 11, 17, 9, 0)
    assert office().next_open(saturday_noon) == london(2025, 11, 17, 9, 0)
    assert office().next_open(london(2025, 11, 17, 10, 0)) == london(2025, 11, 17, 10, 0)


def test_it_is_open_only_within_office_hours():
    cal = office()
    assert cal.is_open(london(2025, 11, 17, 9, 0))
    assert cal.is_open(london(2025, 11, 17, 17, 29, 59))
    assert not cal.is_open(london(2025, 11, 17, 17, 30))  # closing time is closed
    assert not cal.is_open(london(2025, 11, 17, 8, 59, 59))
    assert not cal.is_open(london(2025, 11, 15, 12, 0))  # Saturday


def test_it_skips_christmas_and_boxing_day():
    # Christmas Eve 2025 is a Wednesday: half an hour that evening, then Thursday 25 and Friday
    # 26 are bank holidays, then the weekend.
    cal = office()
    assert cal.add_business_time(london(2025, 12, 24, 17, 0), 60 * MIN) == london(2025, 12, 29, 9, 30)
    assert cal.business_time_between(london(2025, 12, 24, 0, 0), london(2025, 12, 29, 0, 0)) == 8.5 * 60 * MIN
    assert not cal.is_open(london(2025, 12, 25, 10, 0))
    assert not cal.is_open(london(2025, 12, 26, 10, 0))


def test_without_a_holiday_country_christmas_is_a_working_day():
    cal = office(holiday_country="", holiday_subdivision="")
    assert cal.add_business_time(london(2025, 12, 24, 17, 0), 60 * MIN) == london(2025, 12, 25, 9, 30)


def test_it_uses_the_regions_holidays():
    # St Andrew's Day (30 November) is a bank holiday in Scotland, not in England; in 2026 it
    # falls on a Monday.
    scotland = office(holiday_subdivision="SCT")
    assert scotland.add_business_time(london(2026, 11, 27, 17, 30), 60 * MIN) == london(2026, 12, 1, 10, 0)
    assert office().add_business_time(london(2026, 11, 27, 17, 30), 60 * MIN) == london(2026, 11, 30, 10, 0)


def test_it_skips_us_independence_day():
    new_york = ZoneInfo("America/New_York")
    cal = WorkingCalendar(
        tz=new_york, weekly={d: ((time(9), time(17)),) for d in range(5)}, holiday_country="US"
    )
    # Friday 4 July 2025: Thursday 16:30 + 1 hour ends Monday 7 July at 09:30.
    start = datetime(2025, 7, 3, 16, 30, tzinfo=new_york).astimezone(UTC)
    assert cal.add_business_time(start, 60 * MIN) == datetime(2025, 7, 7, 9, 30, tzinfo=new_york)


@pytest.mark.django_db
def test_it_skips_a_custom_closure(gov_admin):
    calendar = BusinessCalendarFactory()
    calendar_save(
        calendar=calendar,
        closures=[(date(2025, 11, 17), "Office move")],
        actor=gov_admin,
        reason="Office move day",
    )
    cal = BusinessCalendar.objects.prefetch_related("closures").get(pk=calendar.pk).working_calendar()
    assert cal.add_business_time(london(2025, 11, 14, 17, 55), 30 * MIN) == london(2025, 11, 18, 9, 30)
    assert not cal.is_open(london(2025, 11, 17, 10, 0))


@pytest.mark.django_db
def test_replacing_closures_keeps_their_history(gov_admin):
    calendar = BusinessCalendarFactory()
    calendar_save(
        calendar=calendar,
        closures=[(date(2025, 11, 17), "Office move")],
        actor=gov_admin,
        reason="Office move day",
    )
    calendar_save(
        calendar=calendar,
        closures=[(date(2025, 11, 18), "Office move")],
        actor=gov_admin,
        reason="Move postponed",
    )
    assert [c.date for c in calendar.closures.all()] == [date(2025, 11, 18)]
    removed = calendar.closures.model.history.filter(date=date(2025, 11, 17), history_type="-").get()
    assert (removed.history_change_reason, removed.history_user_username) == ("Move postponed", "gov_admin")


def test_a_24x7_calendar_needs_no_hours_and_ignores_holidays():
    cal = WorkingCalendar(tz=LONDON, always_open=True, holiday_country="GB", holiday_subdivision="ENG")
    christmas = london(2025, 12, 25, 3, 0)
    assert cal.is_open(christmas)
    assert cal.add_business_time(christmas, timedelta(hours=30)) == christmas + timedelta(hours=30)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("weekly", [{}, {0: ()}, {d: () for d in range(7)}])
def test_it_refuses_a_calendar_without_working_hours(weekly):
    with pytest.raises(CalendarError, match="needs working hours on at least one day"):
        WorkingCalendar(tz=LONDON, weekly=weekly)


@pytest.mark.django_db
@pytest.mark.parametrize("weekly_hours", [{}, {"0": []}, {str(d): [] for d in range(7)}])
def test_a_business_calendar_without_working_hours_is_invalid(weekly_hours):
    calendar = BusinessCalendarFactory.build(weekly_hours=weekly_hours)
    with pytest.raises(ValidationError) as caught:
        calendar.full_clean()
    assert caught.value.message_dict == {
        "weekly_hours": ["A calendar needs working hours on at least one day."]
    }


@pytest.mark.django_db
def test_calendar_save_refuses_a_calendar_without_working_hours_and_saves_nothing(gov_admin):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        calendar_save(
            calendar=BusinessCalendarFactory.build(weekly_hours={}), actor=gov_admin, reason="New calendar"
        )
    assert "weekly_hours" in caught.value.message_dict
    assert not BusinessCalendar.objects.exists()
    assert AuditEvent.objects.count() == events


def test_it_refuses_an_interval_ending_before_it_starts_naming_the_weekday():
    with pytest.raises(CalendarError, match="Wednesday: 17:00-09:00 ends before it starts"):
        parse_weekly({"2": [["17:00", "09:00"]]})


def test_it_refuses_an_empty_interval():
    with pytest.raises(CalendarError, match="Friday: 09:00-09:00 ends before it starts"):
        parse_weekly({"4": [["09:00", "09:00"]]})


@pytest.mark.django_db
def test_a_business_calendar_with_a_backwards_interval_names_the_field_and_the_day():
    calendar = BusinessCalendarFactory.build(
        weekly_hours={"0": [["09:00", "17:00"]], "6": [["12:00", "10:00"]]}
    )
    with pytest.raises(ValidationError) as caught:
        calendar.full_clean()
    assert caught.value.message_dict == {"weekly_hours": ["Sunday: 12:00-10:00 ends before it starts"]}


def test_it_refuses_overlapping_intervals_naming_the_weekday():
    with pytest.raises(CalendarError, match="Tuesday: working intervals overlap"):
        parse_weekly({"1": [["09:00", "13:00"], ["12:00", "17:00"]]})


def test_touching_intervals_are_one_working_stretch():
    cal = WorkingCalendar(tz=LONDON, weekly=parse_weekly({"0": [["09:00", "12:00"], ["12:00", "17:00"]]}))
    assert cal.is_open(london(2025, 11, 17, 12, 0))
    assert cal.add_business_time(london(2025, 11, 17, 11, 0), 2 * 60 * MIN) == london(2025, 11, 17, 13, 0)


def test_it_refuses_a_weekday_out_of_range():
    with pytest.raises(CalendarError, match="weekday '7' is not 0 \\(Monday\\) to 6 \\(Sunday\\)"):
        parse_weekly({"7": [["09:00", "17:00"]]})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timezone": "Europe/Londres"}, "timezone"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"weekly_hours": {"0": [["9am", "5pm"]]}}, "weekly_hours"),
    ],
)
def test_a_business_calendar_refuses_bad_settings_naming_the_field(fields, field):
    calendar = BusinessCalendarFactory.build(**fields)
    with pytest.raises(ValidationError) as caught:
        calendar.full_clean()
    assert field in caught.value.message_dict


@pytest.mark.parametrize(
    "call",
    [
        lambda cal: cal.add_business_time(datetime(2025, 11, 14, 17, 55), MIN),
        lambda cal: cal.business_time_between(datetime(2025, 11, 14, 9, 0), london(2025, 11, 14, 10, 0)),
        lambda cal: cal.business_time_between(london(2025, 11, 14, 9, 0), datetime(2025, 11, 14, 10, 0)),
    ],
)
def test_it_refuses_naive_datetimes(call):
    with pytest.raises(CalendarError, match="timezone-aware"):
        call(office())


def test_it_refuses_a_negative_duration():
    with pytest.raises(CalendarError, match="cannot be negative"):
        office().add_business_time(london(2025, 11, 14, 12, 0), -MIN)


def test_business_time_between_is_negative_backwards():
    assert (
        office().business_time_between(london(2025, 11, 14, 12, 0), london(2025, 11, 14, 10, 0)) == -120 * MIN
    )
