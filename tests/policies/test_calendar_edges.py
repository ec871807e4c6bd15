"""Business time at the edges (issue 8), by example: working hours that start or end inside a
clock change, aware datetimes in a zone other than UTC, shifts that run to 24:00, and the
longest threshold the policy form accepts on the sparsest calendar the calendar form accepts.

Each example failed before the fix; ``test_calendar_model.py`` checks the same rules at random
against a minute-by-minute model.
"""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from apps.policies.calendar import CalendarError, WorkingCalendar, parse_weekly
from apps.policies.forms import CalendarForm, ThresholdForm
from tests.factories import BusinessCalendarFactory

LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
H, MIN = timedelta(hours=1), timedelta(minutes=1)
SPRING_SUNDAY = date(2025, 3, 30)  # London: 01:00 GMT -> 02:00 BST, at 01:00 UTC
AUTUMN_SUNDAY = date(2025, 10, 26)  # London: 02:00 BST -> 01:00 GMT, at 01:00 UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sundays(tz: ZoneInfo, start: str, end: str) -> WorkingCalendar:
    return WorkingCalendar(tz=tz, weekly=parse_weekly({"6": [[start, end]]}))


def whole_day(cal: WorkingCalendar, day: date) -> timedelta:
    """Business time from the Saturday before to the Monday after ``day``."""
    before = datetime.combine(day - timedelta(days=1), time(12), UTC)
    return cal.business_time_between(before, before + timedelta(days=2))


# --- ranges touching a clock change --------------------------------------------------------


def test_a_range_starting_in_the_skipped_hour_starts_at_the_change():
    # 01:30 does not exist that night: the range starts when the clocks jump, 01:00 UTC, and
    # runs to 03:00 BST (02:00 UTC): one real hour, not half an hour from 01:30 UTC.
    cal = sundays(LONDON, "01:30", "03:00")
    assert whole_day(cal, SPRING_SUNDAY) == H
    saturday = utc(2025, 3, 29, 12)
    assert cal.next_open(saturday) == utc(2025, 3, 30, 1, 0)
    assert cal.add_business_time(saturday, H) == utc(2025, 3, 30, 2, 0)
    assert cal.is_open(utc(2025, 3, 30, 1, 15))


def test_a_range_ending_in_the_skipped_hour_ends_at_the_change():
    # 00:00-01:30: only the hour 00:00-01:00 GMT exists that night.
    cal = sundays(LONDON, "00:00", "01:30")
    assert whole_day(cal, SPRING_SUNDAY) == H
    assert cal.add_business_time(utc(2025, 3, 30, 0, 0), H) == utc(2025, 3, 30, 1, 0)
    assert not cal.is_open(utc(2025, 3, 30, 1, 0))


def test_a_half_hour_change_on_lord_howe():
    # Lord Howe Island moves from +10:30 to +11:00 at 02:00 local on 5 October 2025 (15:30 UTC
    # the day before): 02:00-02:30 does not exist, so 02:15-03:00 is the half hour 02:30-03:00.
    cal = sundays(LORD_HOWE, "02:15", "03:00")
    assert whole_day(cal, date(2025, 10, 5)) == 30 * MIN
    assert cal.next_open(utc(2025, 10, 4, 0)) == utc(2025, 10, 4, 15, 30)
    # Back from +11:00 to +10:30 at 02:00 on 6 April 2025: 01:30-02:00 is shown twice.
    cal = sundays(LORD_HOWE, "01:30", "02:00")
    assert whole_day(cal, date(2025, 4, 6)) == H


def test_a_range_in_the_repeated_hour_counts_both_times_the_clock_shows_it():
    # 01:00-01:30 happens at 00:00-00:30 UTC (BST) and again at 01:00-01:30 UTC (GMT).
    cal = sundays(LONDON, "01:00", "01:30")
    assert whole_day(cal, AUTUMN_SUNDAY) == H
    assert cal.is_open(utc(2025, 10, 26, 1, 15))
    assert cal.add_business_time(utc(2025, 10, 26, 0, 0), 45 * MIN) == utc(2025, 10, 26, 1, 15)
    # 01:30-03:00 is 01:30-02:00 BST, then 01:30-03:00 GMT: two pieces, two hours in all.
    cal = sundays(LONDON, "01:30", "03:00")
    assert whole_day(cal, AUTUMN_SUNDAY) == 2 * H
    assert not cal.is_open(utc(2025, 10, 26, 1, 15))  # 01:15 GMT, between the pieces
    assert cal.add_business_time(utc(2025, 10, 26, 0, 0), H) == utc(2025, 10, 26, 2, 0)


# --- aware datetimes in other zones --------------------------------------------------------


def test_24x7_time_across_the_october_change_is_real_time():
    cal = WorkingCalendar(tz=LONDON, always_open=True)
    saturday_noon = datetime(2025, 10, 25, 12, 0, tzinfo=LONDON)  # 11:00 UTC
    landed = cal.add_business_time(saturday_noon, 24 * H)
    assert landed == utc(2025, 10, 26, 11, 0)  # 11:00 GMT: 24 real hours, not 25
    assert landed.tzinfo is UTC
    sunday_noon = datetime(2025, 10, 26, 12, 0, tzinfo=LONDON)
    assert cal.business_time_between(saturday_noon, sunday_noon) == 25 * H


def test_a_london_start_inside_working_hours_counts_real_time():
    # Open 00:00-04:00 on Sundays: from 00:30 BST, two hours run out at 01:30 GMT.
    cal = sundays(LONDON, "00:00", "04:00")
    start = datetime(2025, 10, 26, 0, 30, tzinfo=LONDON)
    assert cal.add_business_time(start, 2 * H) == utc(2025, 10, 26, 1, 30)
    end = datetime(2025, 10, 26, 1, 30, fold=1, tzinfo=LONDON)  # the second 01:30, GMT
    assert cal.business_time_between(start, end) == 2 * H


def test_a_new_york_start_counts_real_time_across_new_yorks_own_change():
    # New York falls back at 06:00 UTC on Sunday 2 November 2025; London (GMT = UTC) is open
    # 05:00-08:00 that Sunday. One hour from 01:30 EDT is 06:30 UTC (01:30 EST), not 07:30.
    new_york = ZoneInfo("America/New_York")
    cal = sundays(LONDON, "05:00", "08:00")
    start = datetime(2025, 11, 2, 1, 30, tzinfo=new_york)
    assert cal.add_business_time(start, H) == utc(2025, 11, 2, 6, 30)
    assert cal.business_time_between(start, datetime(2025, 11, 2, 2, 30, tzinfo=new_york)) == 2 * H
    assert cal.is_open(datetime(2025, 11, 2, 1, 15, fold=1, tzinfo=new_york))  # 06:15 UTC


# --- shifts to midnight -------------------------------------------------------------------


def test_24_00_ends_an_interval_at_midnight():
    weekly = parse_weekly({"4": [["22:00", "24:00"]], "5": [["00:00", "02:00"]]})
    (start, end) = weekly[4][0]
    assert (f"{start:%H:%M}", f"{end:%H:%M}") == ("22:00", "24:00")
    cal = WorkingCalendar(tz=LONDON, weekly=weekly)
    friday = datetime(2025, 11, 14, 22, 0, tzinfo=LONDON)
    assert cal.business_time_between(friday, friday + 6 * H) == 4 * H  # not 3h59m
    assert cal.add_business_time(friday, 2 * H) == utc(2025, 11, 15, 0, 0)
    assert cal.is_open(utc(2025, 11, 14, 23, 59, 59))


def test_24_00_on_a_day_the_clocks_go_back_at_midnight():
    # Santiago falls back from 24:00 (-03) to 23:00 (-04) on Saturday 5 April 2025: 22:00-24:00
    # that evening shows 23:00-24:00 twice, three real hours.
    cal = WorkingCalendar(tz=ZoneInfo("America/Santiago"), weekly=parse_weekly({"5": [["22:00", "24:00"]]}))
    assert whole_day(cal, date(2025, 4, 5)) == 3 * H


def test_an_interval_cannot_start_at_24_00():
    with pytest.raises(CalendarError, match="Monday: an interval cannot start at 24:00"):
        parse_weekly({"0": [["24:00", "24:00"]]})


def test_00_00_as_a_stored_end_points_to_24_00():
    with pytest.raises(CalendarError, match=r"Monday: 22:00-00:00 ends before it starts \(24:00 is midnight"):
        parse_weekly({"0": [["22:00", "00:00"]]})


def hours_form(**hours) -> CalendarForm:
    data = {"name": "Night desk", "timezone": "Europe/London", "change_reason": "Night shift"}
    return CalendarForm(data | hours)


@pytest.mark.parametrize("written", ["24:00", "00:00"])
def test_the_calendar_form_takes_24_00_or_the_pickers_00_00_as_midnight(written):
    form = hours_form(d4_1_start="18:00", d4_1_end=written)
    assert form.is_valid(), form.errors
    assert form.weekly_hours() == {"4": [["18:00", "24:00"]]}


def test_the_calendar_form_refuses_24_00_as_a_start_naming_the_field():
    form = hours_form(d4_1_start="24:00", d4_1_end="24:00")
    assert not form.is_valid()
    assert form.errors["d4_1_start"] == ["Friday interval 1 from: enter a time from 00:00 to 23:59."]


@pytest.mark.django_db
def test_a_stored_24_00_shows_as_24_00():
    calendar = BusinessCalendarFactory(weekly_hours={"4": [["18:00", "24:00"]]})
    form = CalendarForm(initial=CalendarForm.initial_for(calendar))
    assert 'value="24:00"' in str(form["d4_1_end"])  # times are typed as text, as the admin wrote them
    assert 'value="18:00"' in str(form["d4_1_start"])


@pytest.mark.django_db
def test_a_calendar_with_24_00_is_valid_and_computes():
    calendar = BusinessCalendarFactory(weekly_hours={"4": [["18:00", "24:00"]]}, holiday_country="")
    calendar.full_clean()
    cal = calendar.working_calendar()
    friday = datetime(2025, 11, 14, 18, 0, tzinfo=LONDON)
    assert cal.add_business_time(friday, 6 * H) == utc(2025, 11, 15, 0, 0)


# --- the longest threshold on the sparsest calendar ----------------------------------------


def threshold_form(amount: int, unit: str = "h") -> ThresholdForm:
    return ThresholdForm(
        {
            "severity": "sev4",
            "customer_tier": "basic",
            "ack_amount": "1",
            "ack_unit": "h",
            "resolve_amount": str(amount),
            "resolve_unit": unit,
            "business_hours_only": "on",
        }
    )


def test_the_threshold_form_names_the_field_and_the_limit():
    form = threshold_form(8761)
    assert not form.is_valid()
    assert form.errors["resolve_amount"] == ["Resolve within can be at most 8,760 hours (365 days)."]
    form = threshold_form(100000)
    assert form.errors["resolve_amount"] == ["Resolve within can be at most 8,760 hours (365 days)."]
    assert threshold_form(8760).is_valid()
    assert threshold_form(525600, "min").is_valid()  # the same year in minutes
    assert not threshold_form(525601, "min").is_valid()


def test_the_longest_threshold_runs_out_on_a_one_hour_a_week_calendar():
    # The sparsest calendar the calendar form accepts: one hour a week, and that hour on a
    # Monday, the weekday English bank holidays take most often.
    cal = WorkingCalendar(
        tz=LONDON,
        weekly=parse_weekly({"0": [["10:00", "11:00"]]}),
        holiday_country="GB",
        holiday_subdivision="ENG",
    )
    start = utc(2026, 1, 7, 12)
    clock = stopwatch.perf_counter()
    due = cal.add_business_time(start, 8760 * H)
    assert stopwatch.perf_counter() - clock < 5  # about 0.5 s here; generous for a busy CI box
    assert 2190 < due.year < 2210
    assert due.astimezone(LONDON).time() == time(11, 0) and due.astimezone(LONDON).weekday() == 0
    assert cal.business_time_between(start, due) == 8760 * H


@pytest.mark.django_db
def test_the_calendar_form_rules_keep_every_threshold_reachable():
    # Less than an hour a week is refused by the calendar itself, naming the field.
    calendar = BusinessCalendarFactory.build(weekly_hours={"2": [["10:00", "10:59"]]})
    with pytest.raises(ValidationError) as caught:
        calendar.full_clean()
    assert caught.value.message_dict["weekly_hours"] == [
        "A calendar needs at least 1 hour of working time a week (these hours add up to 59 minutes)."
    ]
    BusinessCalendarFactory.build(weekly_hours={"2": [["10:00", "11:00"]]}).full_clean()


def test_the_calendar_form_refuses_closures_that_stop_the_clocks_for_years():
    first = date(2027, 1, 6)  # a Wednesday
    wednesdays = "\n".join(f"{first + timedelta(weeks=k)} Closed" for k in range(160))
    form = hours_form(d2_1_start="10:00", d2_1_end="11:00", closures=wednesdays)
    assert not form.is_valid()
    assert form.errors["closures"] == [
        "These closures leave no working time for more than 1098 days after 2026-12-30: "
        "business-hours clocks would never run out."
    ]
    assert hours_form(
        d2_1_start="10:00", d2_1_end="11:00", closures="\n".join(wednesdays.splitlines()[:150])
    ).is_valid()


@pytest.mark.django_db
def test_an_escalation_under_the_longest_threshold_and_the_sparsest_calendar_is_raised():
    """It used to fail at raise time: "no working time within 1098 days"."""
    from tests.escalations.conftest import build_world, raise_one

    calendar = BusinessCalendarFactory(weekly_hours={"0": [["10:00", "11:00"]]})
    calendar.full_clean()
    world = build_world(calendar=calendar, business_hours_only=True, ack=H, resolve=8760 * H)
    esc = raise_one(world, severity="sev1")
    cal = calendar.working_calendar()
    assert cal.business_time_between(esc.raised_at, esc.resolve_due_at) == 8760 * H
    assert cal.business_time_between(esc.raised_at, esc.ack_due_at) == H
