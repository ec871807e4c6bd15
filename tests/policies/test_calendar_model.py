"""Business time against a minute-by-minute model (issue 8).

The model knows nothing of spans, folds or offsets: it walks UTC minute by minute and asks
whether the local wall clock, at that minute, shows a working time of a day that is not closed.
That is the calendar's rule, so ``add_business_time``, ``business_time_between`` and
``is_open`` must agree with it exactly.

Random calendars in zones with odd clock changes: London and New York, Lord Howe Island (half
an hour), Santiago (at 24:00), Havana (at 00:00), Dublin (winter time is the "daylight" one),
Troll (two hours), Apia (which skipped 30 December 2011 and kept daylight saving until 2021),
Tehran, Casablanca (out of and back into +01 around Ramadan). Interval edges are drawn near the
wall-clock times at which the zone's clocks change, so they land in skipped and repeated times,
and may be 24:00. Starts are aware datetimes in another random zone, sometimes a wall-clock
time that does not exist or exists twice there (Python gives it an instant; so does the model).

Everything is in whole minutes (every offset since 1970 is), and durations stay within a week
of the calendar's hours so the model's walk is short: the file runs in a few seconds.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.policies.calendar import END_OF_DAY, WorkingCalendar

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Europe/Dublin",
    "Antarctica/Troll",
    "Pacific/Apia",
    "Asia/Tehran",
    "Africa/Casablanca",
]
FIRST_DAY, LAST_DAY = date(2010, 1, 1), date(2030, 12, 31)
MINUTE = timedelta(minutes=1)
ZERO = timedelta(0)
# The model gives up after this many minutes: far more than any drawn duration needs.
MODEL_LIMIT = 40 * 24 * 60
# CALENDAR_MODEL_EXAMPLES=2000 for a long hunt; 40 keeps the file at a few seconds.
MODEL = settings(
    max_examples=int(os.environ.get("CALENDAR_MODEL_EXAMPLES", "40")),
    deadline=None,
    database=None,  # no .hypothesis directory in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


# --- the model -------------------------------------------------------------------------------


def model_is_working(cal: WorkingCalendar, minute: datetime) -> bool:
    """Is the UTC minute starting at ``minute`` working time, in local wall-clock terms?"""
    local = minute.astimezone(cal.tz)
    day, clock = local.date(), local.time()
    if day in cal.closures:
        return False
    return any(
        start <= clock and (end == END_OF_DAY or clock < end)
        for start, end in cal.weekly.get(day.weekday(), ())
    )


def model_between(cal: WorkingCalendar, a: datetime, b: datetime) -> timedelta:
    minute, total = a.astimezone(UTC), ZERO
    while minute < b:
        total += MINUTE if model_is_working(cal, minute) else ZERO
        minute += MINUTE
    return total


def model_add(cal: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    """The end of the minute that uses up ``duration``; for zero, the first working minute."""
    minute, remaining = start.astimezone(UTC), duration
    for _ in range(MODEL_LIMIT):
        if model_is_working(cal, minute):
            if remaining == ZERO:
                return minute
            remaining -= MINUTE
            if remaining == ZERO:
                return minute + MINUTE
        minute += MINUTE
    raise AssertionError("the model ran out of minutes: draw shorter durations")


# --- strategies ------------------------------------------------------------------------------


@cache
def clock_changes(zone: str) -> tuple[datetime, ...]:
    """Each instant (UTC, to the minute) at which the zone's offset changed, 2010-2030."""
    tz, changes = ZoneInfo(zone), []
    day = datetime.combine(FIRST_DAY, time(), UTC)
    while day.date() <= LAST_DAY:
        before, after = day, day + timedelta(days=1)
        if before.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            while after - before > MINUTE:
                middle = before + (after - before) // 2
                middle -= timedelta(seconds=middle.second, microseconds=middle.microsecond)
                if middle == before:
                    middle += MINUTE
                same = middle.astimezone(tz).utcoffset() == before.astimezone(tz).utcoffset()
                before, after = (middle, after) if same else (before, middle)
            changes.append(after)
        day += timedelta(days=1)
    return tuple(changes)


@cache
def change_minutes(zone: str) -> tuple[int, ...]:
    """Minutes of the day the wall clock shows on either side of a change (00:00 also as 24:00)."""
    tz, marks = ZoneInfo(zone), {0, 24 * 60}
    for change in clock_changes(zone):
        for instant in (change - MINUTE, change):
            local = instant.astimezone(tz)
            marks.add(local.hour * 60 + local.minute + (1 if instant < change else 0))
    return tuple(sorted(marks))


def as_time(minute: int) -> time:
    return END_OF_DAY if minute >= 24 * 60 else time(minute // 60, minute % 60)


@st.composite
def edge_minutes(draw, zone: str) -> int:
    """A minute of the day, 0 to 1440: often near the wall-clock time of a clock change."""
    if draw(st.booleans()):
        return draw(st.integers(0, 24 * 60))
    near = draw(st.sampled_from(change_minutes(zone)))
    return min(24 * 60, max(0, near + draw(st.sampled_from([0, 0, -30, 30, -1, 1]) | st.integers(-90, 90))))


@st.composite
def day_hours(draw, zone: str) -> tuple[tuple[time, time], ...]:
    count = draw(st.sampled_from([0, 1, 1, 2]))
    marks = sorted(draw(st.lists(edge_minutes(zone), min_size=2 * count, max_size=2 * count, unique=True)))
    if count == 2 and draw(st.booleans()):
        marks[2] = marks[1]  # the second interval opens as the first closes
    return tuple((as_time(marks[i]), as_time(marks[i + 1])) for i in range(0, 2 * count, 2))


def minutes_of(hours: tuple[tuple[time, time], ...]) -> int:
    def minute(t: time) -> int:
        return 24 * 60 if t == END_OF_DAY else t.hour * 60 + t.minute

    return sum(minute(e) - minute(s) for s, e in hours)


@st.composite
def starts(draw, zone: str) -> datetime:
    """A whole UTC minute near one of the zone's clock changes, or anywhere in 2010-2030."""
    if draw(st.integers(0, 3)):
        anchor = draw(st.sampled_from(clock_changes(zone)))
        return anchor + draw(st.integers(-5 * 24 * 60, 5 * 24 * 60)) * MINUTE
    day = FIRST_DAY + timedelta(days=draw(st.integers(0, (LAST_DAY - FIRST_DAY).days)))
    return datetime.combine(day, time(), UTC) + draw(st.integers(0, 24 * 60 - 1)) * MINUTE


@st.composite
def aware_in_another_zone(draw, instant: datetime) -> datetime:
    """``instant`` in a random non-UTC zone; or a wall-clock time near it in that zone, with
    either fold, which may not exist or exist twice there (Python still gives it an instant)."""
    tz = ZoneInfo(draw(st.sampled_from([*ZONES, "Asia/Kolkata", "America/St_Johns"])))
    local = instant.astimezone(tz)
    if draw(st.booleans()):
        return local
    return local.replace(fold=draw(st.integers(0, 1)))


@st.composite
def scenarios(draw):
    """A calendar, a start (an aware datetime in some zone) and the start as a UTC minute."""
    zone = draw(st.sampled_from(ZONES))
    weekly = {day: hours for day in range(7) if (hours := draw(day_hours(zone)))}
    if not any(minutes_of(h) >= 30 for h in weekly.values()):
        weekly[draw(st.integers(0, 6))] = ((time(9), time(17)),)
    start_utc = draw(starts(zone))
    tz = ZoneInfo(zone)
    first = start_utc.astimezone(tz).date()
    closures = frozenset(first + timedelta(days=k) for k in draw(st.lists(st.integers(-1, 9), max_size=3)))
    cal = WorkingCalendar(tz=tz, weekly=weekly, closures=closures)
    start = draw(aware_in_another_zone(start_utc))
    return cal, start


def durations(draw, cal: WorkingCalendar) -> timedelta:
    week = sum(minutes_of(h) for h in cal.weekly.values())
    return draw(st.integers(0, min(week, 36 * 60))) * MINUTE


# --- the checks ------------------------------------------------------------------------------


@MODEL
@given(data=st.data())
def test_add_business_time_agrees_with_the_model(data):
    cal, start = data.draw(scenarios())
    duration = durations(data.draw, cal)
    landed = cal.add_business_time(start, duration)
    assert landed == model_add(cal, start, duration)
    assert landed.tzinfo is UTC


@MODEL
@given(data=st.data())
def test_business_time_between_agrees_with_the_model(data):
    cal, start = data.draw(scenarios())
    later = start.astimezone(UTC) + data.draw(st.integers(0, 6 * 24 * 60)) * MINUTE
    later = data.draw(aware_in_another_zone(later))
    expected = model_between(cal, start, later)
    assert cal.business_time_between(start, later) == expected
    assert cal.business_time_between(later, start) == -expected


@MODEL
@given(data=st.data())
def test_is_open_agrees_with_the_model(data):
    """Every seventh minute for two days from the start, and every minute of the six hours
    around the zone's nearest clock change (if one is within five days)."""
    cal, start = data.draw(scenarios())
    start = start.astimezone(UTC)
    minutes = [start + step * MINUTE for step in range(0, 2 * 24 * 60, 7)]
    change = min(clock_changes(cal.tz.key), key=lambda c: abs(c - start))
    if abs(change - start) < timedelta(days=5):
        minutes += [change + step * MINUTE for step in range(-3 * 60, 3 * 60)]
    for minute in minutes:
        assert cal.is_open(minute) == model_is_working(cal, minute), minute.astimezone(cal.tz)


@MODEL
@given(data=st.data())
def test_the_inverse_holds_from_any_zone(data):
    cal, start = data.draw(scenarios())
    duration = durations(data.draw, cal)
    assert cal.business_time_between(start, cal.add_business_time(start, duration)) == duration


def test_the_model_sees_the_odd_days():
    """The zones do what the docstring says in the years drawn from (tzdata changes would show)."""
    apia = ZoneInfo("Pacific/Apia")
    skipped = datetime(2011, 12, 30, 10, tzinfo=UTC)
    assert skipped in clock_changes("Pacific/Apia")
    assert (skipped - MINUTE).astimezone(apia).date() == date(2011, 12, 29)
    assert skipped.astimezone(apia).date() == date(2011, 12, 31)
    assert 150 in change_minutes("Australia/Lord_Howe")  # 02:30, the half-hour change
    assert 23 * 60 in change_minutes("America/Santiago")
