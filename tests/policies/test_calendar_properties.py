"""Properties of business-time arithmetic (``apps.policies.calendar.WorkingCalendar``).

Random calendars in three timezones with daylight saving (London, New York, Sydney): one or two
working intervals on some weekdays, the country's public holidays, random closures near the
start. Random start instants over five years, biased towards daylight-saving changes, public
holidays and the calendar's own opening and closing times. Durations to the second.

The checks lean on an oracle built independently of the calendar's own span walk, from the
rule that the calendar is open when the local wall clock shows a working time: on an ordinary
day each local interval is turned into two UTC instants; on a day the clocks change, the day is
walked minute by minute in UTC (a skipped time never shows, a repeated one shows twice).
Holidays are read straight from the ``holidays`` package. Intervals may end at 24:00. Starts are
UTC instants, as the database hands them over (``test_calendar_model.py`` tries other zones).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.policies.calendar import END_OF_DAY, WorkingCalendar

ZONES = {
    "Europe/London": ("GB", "ENG"),
    "America/New_York": ("US", ""),
    "Australia/Sydney": ("AU", "NSW"),
}
FIRST_DAY, LAST_DAY = date(2023, 1, 1), date(2027, 12, 31)
MAX_DURATION = timedelta(hours=300)
# CALENDAR_EXAMPLES=5000 for a long hunt; 200 keeps the file well under a minute.
PROPERTY = settings(
    max_examples=int(os.environ.get("CALENDAR_EXAMPLES", "200")),
    deadline=None,
    database=None,  # no .hypothesis directory in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)
H = timedelta(hours=1)
ZERO = timedelta(0)


# --- the oracle ------------------------------------------------------------------------------


@cache
def closed_by_law(country: str, subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def local_end(day: date, end: time) -> datetime:
    """A naive local end; 24:00 (END_OF_DAY) is the next midnight."""
    return (
        datetime.combine(day + timedelta(days=1), time()) if end == END_OF_DAY else datetime.combine(day, end)
    )


def clocks_change_on(cal: WorkingCalendar, day: date) -> bool:
    def offset(d: date) -> timedelta:
        return datetime.combine(d, time(), cal.tz).utcoffset()

    return offset(day) != offset(day + timedelta(days=1))


def minute_spans(cal: WorkingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The UTC minutes whose local time falls on ``day`` inside a working interval."""
    spans = []
    minute = datetime.combine(day, time(), UTC) - timedelta(hours=15)
    while minute < datetime.combine(day + timedelta(days=1), time(), UTC) + timedelta(hours=15):
        local = minute.astimezone(cal.tz).replace(tzinfo=None)
        if local.date() == day and any(
            datetime.combine(day, s) <= local < local_end(day, e)
            for s, e in cal.weekly.get(day.weekday(), ())
        ):
            spans.append((minute, minute + timedelta(minutes=1)))
        minute += timedelta(minutes=1)
    return spans


def raw_spans(cal: WorkingCalendar, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Working time between two local days, merged into disjoint UTC spans."""
    spans = []
    day = first
    while day <= last:
        closed = day in cal.closures or day in closed_by_law(
            cal.holiday_country, cal.holiday_subdivision, day.year
        )
        if not closed and clocks_change_on(cal, day):
            spans.extend(minute_spans(cal, day))
        elif not closed:
            for start, end in cal.weekly.get(day.weekday(), ()):
                a = datetime.combine(day, start, cal.tz).astimezone(UTC)
                b = local_end(day, end).replace(tzinfo=cal.tz).astimezone(UTC)
                if b > a:
                    spans.append((a, b))
        day += timedelta(days=1)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def local_day(cal: WorkingCalendar, instant: datetime) -> date:
    return instant.astimezone(cal.tz).date()


def spans_around(
    cal: WorkingCalendar, a: datetime, b: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    b = b or a
    return raw_spans(cal, local_day(cal, a) - timedelta(days=1), local_day(cal, b) + timedelta(days=1))


def oracle_between(cal: WorkingCalendar, a: datetime, b: datetime) -> timedelta:
    total = ZERO
    for start, end in spans_around(cal, a, b):
        overlap = min(end, b) - max(start, a)
        if overlap > ZERO:
            total += overlap
    return total


def oracle_is_open(cal: WorkingCalendar, instant: datetime) -> bool:
    return any(a <= instant < b for a, b in spans_around(cal, instant))


def within_working_interval(cal: WorkingCalendar, instant: datetime) -> bool:
    """Inside some working interval, its closing time included."""
    return any(a <= instant <= b for a, b in spans_around(cal, instant))


# --- strategies ------------------------------------------------------------------------------


@cache
def dst_changes(zone: str) -> tuple[datetime, ...]:
    """Noon UTC on each day the zone's UTC offset changes, 2023-2027."""
    tz, changes, previous = ZoneInfo(zone), [], None
    day = FIRST_DAY
    while day <= LAST_DAY:
        noon = datetime.combine(day, time(12), UTC)
        offset = noon.astimezone(tz).utcoffset()
        if previous is not None and offset != previous:
            changes.append(noon)
        previous, day = offset, day + timedelta(days=1)
    return tuple(changes)


@cache
def holiday_noons(zone: str) -> tuple[datetime, ...]:
    country, subdivision = ZONES[zone]
    days = sorted(
        d for y in range(FIRST_DAY.year, LAST_DAY.year + 1) for d in closed_by_law(country, subdivision, y)
    )
    return tuple(datetime.combine(d, time(12), ZoneInfo(zone)).astimezone(UTC) for d in days)


MINUTE_OF_DAY = st.integers(0, 24 * 60)  # 24 * 60 is 24:00, only ever an end


def as_time(minute: int) -> time:
    return END_OF_DAY if minute == 24 * 60 else time(minute // 60, minute % 60)


@st.composite
def day_intervals(draw) -> tuple[tuple[time, time], ...]:
    """No interval, one, or two (not overlapping, possibly touching) within one local day."""
    count = draw(st.sampled_from([0, 1, 1, 2]))
    if count == 0:
        return ()
    marks = sorted(draw(st.lists(MINUTE_OF_DAY, min_size=2 * count, max_size=2 * count, unique=True)))
    if count == 2 and draw(st.booleans()):
        marks[2] = marks[1]  # the second interval opens as the first closes
    return tuple((as_time(marks[i]), as_time(marks[i + 1])) for i in range(0, 2 * count, 2))


@st.composite
def calendars(draw, zone: str | None = None) -> WorkingCalendar:
    zone = zone or draw(st.sampled_from(sorted(ZONES)))
    weekly = {day: spans for day in range(7) if (spans := draw(day_intervals()))}
    if not weekly:
        weekly = {draw(st.integers(0, 6)): ((time(9), time(17)),)}
    country, subdivision = ZONES[zone]
    return WorkingCalendar(
        tz=ZoneInfo(zone), weekly=weekly, holiday_country=country, holiday_subdivision=subdivision
    )


def weekly_total(cal: WorkingCalendar) -> timedelta:
    dummy = date(2000, 1, 1)
    return sum(
        (local_end(dummy, e) - datetime.combine(dummy, s) for spans in cal.weekly.values() for s, e in spans),
        ZERO,
    )


def with_closures(draw, cal: WorkingCalendar, near: datetime) -> WorkingCalendar:
    first = local_day(cal, near)
    offsets = draw(st.lists(st.integers(-1, 40), max_size=6, unique=True))
    closures = frozenset(first + timedelta(days=k) for k in offsets)
    return WorkingCalendar(
        tz=cal.tz,
        weekly=cal.weekly,
        closures=closures,
        holiday_country=cal.holiday_country,
        holiday_subdivision=cal.holiday_subdivision,
    )


@st.composite
def instants(draw, cal: WorkingCalendar) -> datetime:
    """A UTC instant: anywhere, near a clock change or a holiday, or on an opening/closing time."""
    zone = cal.tz.key
    kind = draw(st.sampled_from(["anywhere", "dst", "holiday", "boundary"]))
    if kind == "anywhere":
        return draw(
            st.datetimes(
                min_value=datetime.combine(FIRST_DAY, time()),
                max_value=datetime.combine(LAST_DAY, time()),
                timezones=st.just(UTC),
            )
        )
    if kind == "boundary":
        day = FIRST_DAY + timedelta(days=draw(st.integers(0, (LAST_DAY - FIRST_DAY).days)))
        if draw(st.booleans()) and dst_changes(zone):
            day = local_day(cal, draw(st.sampled_from(dst_changes(zone)))) + timedelta(
                days=draw(st.integers(-1, 1))
            )
        marks = [t for spans in cal.weekly.values() for pair in spans for t in pair]
        return datetime.combine(day, draw(st.sampled_from(marks)), cal.tz).astimezone(UTC)
    anchors = dst_changes(zone) if kind == "dst" else holiday_noons(zone)
    anchor = draw(st.sampled_from(anchors))
    return anchor + timedelta(seconds=draw(st.integers(-8 * 86400, 8 * 86400)))


def durations(cal: WorkingCalendar):
    """0 to 300 business hours, to the second; capped at 100 weeks of the calendar's hours."""
    cap = min(MAX_DURATION, weekly_total(cal) * 100)
    return st.one_of(
        st.just(ZERO),
        st.integers(1, 120).map(lambda s: timedelta(seconds=s)),
        st.integers(0, int(cap.total_seconds())).map(lambda s: timedelta(seconds=s)),
    )


@st.composite
def scenarios(draw, zone: str | None = None):
    cal = draw(calendars(zone))
    start = draw(instants(cal))
    cal = with_closures(draw, cal, start)
    return cal, start


# --- add_business_time -----------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), zone=st.sampled_from(sorted(ZONES)))
def test_it_never_lands_outside_working_hours(data, zone):
    cal, start = data.draw(scenarios(zone))
    duration = data.draw(durations(cal))
    landed = cal.add_business_time(start, duration)
    assert landed >= start
    if duration == ZERO and oracle_is_open(cal, start):
        assert landed == start
    else:
        assert within_working_interval(cal, landed), f"{landed.astimezone(cal.tz)} is outside working hours"


@PROPERTY
@given(data=st.data())
def test_it_lands_on_an_instant_just_after_working_time(data):
    """A positive duration ends by using up working time: the moment before is open."""
    cal, start = data.draw(scenarios())
    duration = data.draw(durations(cal).filter(lambda d: d > ZERO))
    landed = cal.add_business_time(start, duration)
    assert oracle_is_open(cal, landed - timedelta(microseconds=1))


@PROPERTY
@given(data=st.data())
def test_it_lands_on_the_next_opening_for_a_zero_duration(data):
    cal, start = data.draw(scenarios())
    landed = cal.add_business_time(start, ZERO)
    assert cal.next_open(start) == landed
    assert oracle_is_open(cal, landed)
    assert oracle_between(cal, start, landed) == ZERO  # no working time skipped on the way


@PROPERTY
@given(data=st.data())
def test_it_is_monotonic_in_the_duration(data):
    cal, start = data.draw(scenarios())
    d1, d2 = sorted([data.draw(durations(cal)), data.draw(durations(cal))])
    assert cal.add_business_time(start, d1) <= cal.add_business_time(start, d2)


@PROPERTY
@given(data=st.data())
def test_it_is_strictly_monotonic_in_a_positive_duration(data):
    cal, start = data.draw(scenarios())
    d1 = data.draw(durations(cal).filter(lambda d: d > ZERO))
    d2 = d1 + timedelta(seconds=data.draw(st.integers(1, 3600)))
    assert cal.add_business_time(start, d1) < cal.add_business_time(start, d2)


# --- the inverse -----------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_business_time_between_undoes_add_business_time(data):
    cal, start = data.draw(scenarios())
    duration = data.draw(durations(cal))
    assert cal.business_time_between(start, cal.add_business_time(start, duration)) == duration


@PROPERTY
@given(data=st.data())
def test_add_business_time_undoes_business_time_between(data):
    """The earliest instant with the same business time: ``t`` itself when open just before ``t``."""
    cal, start = data.draw(scenarios())
    later = start + timedelta(seconds=data.draw(st.integers(0, 40 * 86400)))
    between = cal.business_time_between(start, later)
    landed = cal.add_business_time(start, between)
    if between == ZERO:
        assert landed == cal.next_open(start)  # the documented zero-duration convention
    else:
        assert landed <= later
        assert cal.business_time_between(landed, later) == ZERO
    # Equal when working time runs right up to ``later``; when ``later`` is an opening after a
    # closed stretch, the earliest instant is the closing before it.
    if between > ZERO and oracle_is_open(cal, later - timedelta(microseconds=1)):
        assert landed == later


@PROPERTY
@given(data=st.data())
def test_business_time_between_matches_the_oracle(data):
    cal, start = data.draw(scenarios())
    later = start + timedelta(seconds=data.draw(st.integers(0, 40 * 86400)))
    assert cal.business_time_between(start, later) == oracle_between(cal, start, later)
    assert cal.business_time_between(later, start) == -oracle_between(cal, start, later)


@PROPERTY
@given(data=st.data())
def test_business_time_between_adds_up_over_consecutive_periods(data):
    cal, start = data.draw(scenarios())
    middle = start + timedelta(seconds=data.draw(st.integers(0, 20 * 86400)))
    end = middle + timedelta(seconds=data.draw(st.integers(0, 20 * 86400)))
    whole = cal.business_time_between(start, end)
    assert whole == cal.business_time_between(start, middle) + cal.business_time_between(middle, end)
    assert ZERO <= whole <= end - start


# --- is_open and the 24x7 calendar -----------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_is_open_agrees_with_the_working_intervals(data):
    cal, start = data.draw(scenarios())
    instant = start + timedelta(seconds=data.draw(st.integers(-86400, 86400)))
    assert cal.is_open(instant) == oracle_is_open(cal, instant)


@PROPERTY
@given(
    start=st.datetimes(
        min_value=datetime(2023, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    seconds=st.integers(0, 300 * 3600),
    zone=st.sampled_from(sorted(ZONES)),
)
def test_a_24x7_calendar_is_plain_arithmetic(start, seconds, zone):
    country, subdivision = ZONES[zone]
    cal = WorkingCalendar(
        tz=ZoneInfo(zone), always_open=True, holiday_country=country, holiday_subdivision=subdivision
    )
    duration = timedelta(seconds=seconds)
    assert cal.add_business_time(start, duration) == start + duration
    assert cal.business_time_between(start, start + duration) == duration
    assert cal.is_open(start)


# --- daylight saving and holidays ------------------------------------------------------------


def every_day(start: time, end: time, zone: str, **fields) -> WorkingCalendar:
    return WorkingCalendar(tz=ZoneInfo(zone), weekly={d: ((start, end),) for d in range(7)}, **fields)


def one_local_day(cal: WorkingCalendar, day: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(), cal.tz).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(), cal.tz).astimezone(UTC),
    )


@PROPERTY
@given(zone=st.sampled_from(sorted(ZONES)), data=st.data())
def test_a_nine_to_five_day_has_eight_hours_around_every_clock_change(zone, data):
    cal = every_day(time(9), time(17), zone)
    day = local_day(cal, data.draw(st.sampled_from(dst_changes(zone)))) + timedelta(
        days=data.draw(st.integers(-2, 2))
    )
    assert cal.business_time_between(*one_local_day(cal, day)) == 8 * H
    opening = datetime.combine(day, time(9), cal.tz).astimezone(UTC)
    assert cal.add_business_time(opening, 8 * H) == datetime.combine(day, time(17), cal.tz)


@PROPERTY
@given(zone=st.sampled_from(sorted(ZONES)), data=st.data())
def test_a_public_holiday_has_no_business_time(zone, data):
    country, subdivision = ZONES[zone]
    cal = every_day(time(9), time(17), zone, holiday_country=country, holiday_subdivision=subdivision)
    noon = data.draw(st.sampled_from(holiday_noons(zone)))
    day = local_day(cal, noon)
    assert cal.business_time_between(*one_local_day(cal, day)) == ZERO
    assert not cal.is_open(noon)
    # Ten minutes before closing on the eve lands ten minutes after opening on the next working day.
    eve_close = datetime.combine(day - timedelta(days=1), time(17), cal.tz).astimezone(UTC)
    landed = cal.add_business_time(eve_close - timedelta(minutes=10), 20 * timedelta(minutes=1))
    next_day = day + timedelta(days=1)
    while next_day in closed_by_law(country, subdivision, next_day.year):
        next_day += timedelta(days=1)
    if day - timedelta(days=1) not in closed_by_law(country, subdivision, (day - timedelta(days=1)).year):
        assert landed == datetime.combine(next_day, time(9, 10), cal.tz)


# Sundays 2025 on which clocks change at night (local time), and a calendar open 00:00-04:00
# on Sundays: the night is 3 real hours when clocks go forward and 5 when they go back.
CLOCK_CHANGE_SUNDAYS = [
    ("Europe/London", date(2025, 3, 30), 3),
    ("Europe/London", date(2025, 10, 26), 5),
    ("America/New_York", date(2025, 3, 9), 3),
    ("America/New_York", date(2025, 11, 2), 5),
    ("Australia/Sydney", date(2025, 10, 5), 3),
    ("Australia/Sydney", date(2025, 4, 6), 5),
]


def sunday_nights(zone: str) -> WorkingCalendar:
    return WorkingCalendar(tz=ZoneInfo(zone), weekly={6: ((time(0), time(4)),)})


@pytest.mark.parametrize(("zone", "sunday", "hours"), CLOCK_CHANGE_SUNDAYS)
def test_it_counts_the_real_hours_of_a_clock_change_night(zone, sunday, hours):
    cal = sunday_nights(zone)
    assert cal.business_time_between(*one_local_day(cal, sunday)) == hours * H
    # The Sundays either side are ordinary four-hour nights.
    for other in (sunday - timedelta(days=7), sunday + timedelta(days=7)):
        assert cal.business_time_between(*one_local_day(cal, other)) == 4 * H


@pytest.mark.parametrize(("zone", "sunday", "hours"), CLOCK_CHANGE_SUNDAYS)
def test_it_uses_up_a_clock_change_night_at_four_local(zone, sunday, hours):
    cal = sunday_nights(zone)
    midnight = datetime.combine(sunday, time(0), cal.tz).astimezone(UTC)
    four = datetime.combine(sunday, time(4), cal.tz).astimezone(UTC)
    assert four - midnight == hours * H
    assert cal.add_business_time(midnight, hours * H) == four
    # One second more carries over to the next Sunday night.
    next_midnight = datetime.combine(sunday + timedelta(days=7), time(0), cal.tz).astimezone(UTC)
    assert cal.add_business_time(midnight, hours * H + timedelta(seconds=1)) == next_midnight + timedelta(
        seconds=1
    )


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_an_hour_before_the_clock_change_and_an_hour_after_are_two_real_hours(zone):
    """Open all Sunday: from one hour before the change to one hour after is 2 business hours."""
    cal = WorkingCalendar(tz=ZoneInfo(zone), weekly={6: ((time(0), time(23, 59)),)})
    for change in dst_changes(zone):
        sunday = local_day(cal, change)
        if sunday.weekday() != 6:
            continue
        # Find the exact instant the offset changes, to the hour, on that Sunday.
        instant = datetime.combine(sunday, time(0), cal.tz).astimezone(UTC)
        while instant.astimezone(cal.tz).utcoffset() == (instant - H).astimezone(cal.tz).utcoffset():
            instant += H
        assert cal.business_time_between(instant - H, instant + H) == 2 * H
        assert cal.add_business_time(instant - H, 2 * H) == instant + H
