"""Business-time arithmetic, independent of the database.

A ``WorkingCalendar`` is a timezone, weekly working intervals in local wall-clock time,
and closed dates (public holidays from the ``holidays`` package plus custom closures).

Business time is *elapsed* time during which the calendar is open, and the calendar is open at
an instant when the local wall clock shows a time inside one of that day's working intervals
(and the day is not closed). Everything follows from that one rule:
- 09:00-17:00 is 8 real hours on any day; 00:00-04:00 is 3 on the spring-forward night and 5
  when the clocks go back (01:00-02:00 is shown twice).
- A wall-clock time that does not exist that day (skipped when the clocks go forward) stands
  for the instant of the change: 01:30-03:00 in London on the last Sunday of March runs from
  01:00 to 02:00 UTC, one hour.
- A time shown twice (the clocks go back) is working time both times: 01:00-01:30 that October
  Sunday is a real hour, and 01:30-03:00 is two pieces, 01:30-02:00 BST and 01:30-03:00 GMT.
- ``24:00`` ends an interval at the end of its day (the next local midnight); intervals never
  cross midnight, so a night shift is two intervals.

Aware datetimes in any zone are converted to UTC on entry (Python adds and subtracts aware
datetimes of one zone in wall-clock time, which is not elapsed time) and results are UTC.

Conventions that make the arithmetic an exact inverse:
- ``add_business_time(start, d)`` is the *earliest* instant t with
  ``business_time_between(start, t) == d``. So a deadline that uses up a day's last hour lands
  on the closing time (17:00), not on the next morning's opening, and a zero duration from
  outside working hours lands on the next opening.
- ``business_time_between(a, b)`` is negative when ``b < a``.

Limits, decided so that every clock the policy pages accept runs out (issue 8). The search is
proportional to the duration: it walks on for as long as it keeps finding working time and gives
up only after ``MAX_SEARCH_DAYS`` in a row without any, which only a broken calendar does. The
forms keep the walk bounded: thresholds are at most ``MAX_BUSINESS_DURATION`` (8,760 hours, a
year) and calendars have at least ``MIN_WEEKLY_WORKING_TIME`` (an hour a week) and no closures
that stop the clocks for ``MAX_SEARCH_DAYS``. The worst case they allow, a year of business
hours on a one-hour-a-week calendar, runs out about 170 years on and takes about half a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

# This many days in a row without working time means the calendar is broken (the calendar
# form refuses closures that would do it; weekly hours and holidays alone never do).
MAX_SEARCH_DAYS = 3 * 366
# The longest clock the threshold form accepts, and the least working time a calendar may have:
# together they bound how far add_business_time ever walks (see the module docstring).
MAX_BUSINESS_DURATION = timedelta(hours=8760)
MIN_WEEKLY_WORKING_TIME = timedelta(hours=1)
ZERO = timedelta(0)
DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)
# The walk stops short of datetime.max, where converting to local time would overflow.
LAST_INSTANT = datetime.max.replace(tzinfo=UTC) - 3 * DAY
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class CalendarError(ValueError):
    pass


class NoWorkingTime(CalendarError):
    """MAX_SEARCH_DAYS in a row without working time, after the instant ``since``."""

    def __init__(self, message: str, since: datetime) -> None:
        super().__init__(message)
        self.since = since


class _EndOfDay(time):
    """24:00, the end of a day, which ``datetime.time`` cannot hold.

    It is ``time.max`` (so it sorts after every start and compares as a time) that prints as
    24:00, so pages and history that format ``f"{end:%H:%M}"`` show what the admin wrote.
    """

    __slots__ = ()

    def strftime(self, fmt: str) -> str:
        return super().strftime(fmt.replace("%H", "24").replace("%M", "00").replace("%S", "00"))

    def __format__(self, fmt: str) -> str:
        return self.strftime(fmt) if fmt else str(self)

    def isoformat(self, timespec: str = "auto") -> str:
        return "24:00" if timespec == "minutes" else "24:00:00"

    __str__ = isoformat

    def __repr__(self) -> str:
        return "END_OF_DAY"


END_OF_DAY: time = _EndOfDay(23, 59, 59, 999999)


@lru_cache(maxsize=512)  # the longest walk the forms allow spans under 200 years
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """Public holidays of a country (and region) in one year, from the ``holidays`` package."""
    if not country:
        return frozenset()
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year))


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused (their instant is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError("business-time arithmetic needs timezone-aware datetimes")
    return value.astimezone(UTC)


def _local_end(day: date, end: time) -> datetime:
    """An interval's end on ``day`` as a naive local datetime; 24:00 is the next midnight.

    ``time.max`` counts as 24:00 too: nothing parses to it otherwise, and a calendar built in
    code with ``time.max`` means "to the end of the day".
    """
    if end == END_OF_DAY:
        return datetime.combine(day + DAY, time())
    return datetime.combine(day, end)


def interval_length(start: time, end: time) -> timedelta:
    """Wall-clock length of a working interval (on an ordinary day)."""
    anyday = date(2001, 1, 1)
    return _local_end(anyday, end) - datetime.combine(anyday, start)


def weekly_working_time(weekly: dict[int, tuple[tuple[time, time], ...]]) -> timedelta:
    return sum((interval_length(s, e) for spans in weekly.values() for s, e in spans), ZERO)


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    # weekday (Monday=0) -> sorted, non-overlapping (start, end) local times, end > start;
    # END_OF_DAY (time.max) as an end is 24:00
    weekly: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    closures: frozenset[date] = frozenset()
    holiday_country: str = ""
    holiday_subdivision: str = ""
    always_open: bool = False

    def __post_init__(self) -> None:
        if not self.always_open and not any(self.weekly.values()):
            raise CalendarError("a calendar needs working hours on at least one day")

    # -- days -----------------------------------------------------------------------------

    def is_closed_day(self, day: date) -> bool:
        if day in self.closures:
            return True
        return day in public_holidays(self.holiday_country, self.holiday_subdivision, day.year)

    def hours_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """The local working intervals of ``day`` (none on closed days)."""
        hours = self.weekly.get(day.weekday(), ())
        return () if not hours or self.is_closed_day(day) else hours

    # -- instants -------------------------------------------------------------------------

    def is_open(self, instant: datetime) -> bool:
        instant = to_utc(instant)
        if self.always_open:
            return True
        local = instant.astimezone(self.tz).replace(tzinfo=None)
        return any(
            datetime.combine(local.date(), start) <= local < _local_end(local.date(), end)
            for start, end in self.hours_on(local.date())
        )

    def _offset(self, instant: datetime) -> timedelta:
        return instant.astimezone(self.tz).utcoffset()

    def _steady(self, begin: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, timedelta]]:
        """``[begin, end)`` (UTC, at most a day or so) cut where the zone's UTC offset changes.

        Offsets are compared at both ends, so two changes that cancel out within one piece
        would be missed; no zone in the tz database changes twice within three days.
        """
        offset = self._offset(begin)
        while self._offset(end - TICK) != offset:
            change = self._next_change(begin, end - TICK, offset)
            yield begin, change, offset
            begin, offset = change, self._offset(change)
        yield begin, end, offset

    def _next_change(self, same: datetime, other: datetime, offset: timedelta) -> datetime:
        """The first instant after ``same`` whose offset is not ``offset`` (``other``'s is not)."""
        while other - same > TICK:
            middle = same + (other - same) // 2
            if self._offset(middle) == offset:
                same = middle
            else:
                other = middle
        return other

    def _spans_within(self, begin: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working time in ``[begin, end)`` as UTC spans, in order.

        Within a piece of steady offset, local time is UTC plus that offset, so a working
        interval is working time exactly where its local times meet the piece's: a skipped
        time falls between two pieces and a repeated one in both.
        """
        for first, last, offset in self._steady(begin, end):
            local_first = (first + offset).replace(tzinfo=None)
            local_last = (last + offset).replace(tzinfo=None)
            day = local_first.date()
            while day <= (local_last - TICK).date():
                for start, stop in self.hours_on(day):
                    a = max(datetime.combine(day, start), local_first)
                    b = min(_local_end(day, stop), local_last)
                    if a < b:
                        yield (a - offset).replace(tzinfo=UTC), (b - offset).replace(tzinfo=UTC)
                day += DAY

    def _spans(self, begin: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Working time from ``begin`` (UTC) on, as disjoint UTC spans in order (touching ones
        are not joined), until ``until`` or for as long as the caller takes them.

        Open-ended, it gives up after MAX_SEARCH_DAYS in a row without working time.
        """
        found = begin
        while until is None or begin < until:
            if begin > LAST_INSTANT:
                raise CalendarError("the business time runs out after the year 9999")
            end = begin + DAY if until is None else min(begin + DAY, until)
            for span in self._spans_within(begin, end):
                found = span[1]
                yield span
            if until is None and end - found > MAX_SEARCH_DAYS * DAY:
                local = found.astimezone(self.tz)
                raise NoWorkingTime(
                    f"no working time within {MAX_SEARCH_DAYS} days of {local:%Y-%m-%d}", found
                )
            begin = end

    # -- arithmetic -----------------------------------------------------------------------

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        start = to_utc(start)
        if duration < ZERO:
            raise CalendarError("a business duration cannot be negative")
        if self.always_open:
            try:
                return start + duration
            except OverflowError:
                raise CalendarError("the business time runs out after the year 9999") from None
        remaining = duration
        for a, b in self._spans(start):
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable: _spans raises when it runs out")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        a, b = to_utc(a), to_utc(b)
        if b < a:
            return -self.business_time_between(b, a)
        if self.always_open:
            return b - a
        return sum((end - start for start, end in self._spans(a, until=b)), ZERO)

    def next_open(self, instant: datetime) -> datetime:
        """The instant itself (in UTC) when open, otherwise the next opening."""
        return self.add_business_time(instant, ZERO)

    def closed_stretch(self) -> date | None:
        """Where the closures stop the clocks for more than MAX_SEARCH_DAYS: the local date of
        the last working time before, or None when they never do.

        Only closures can (weekly hours come back every week, holidays are a few days a year),
        so a stretch that long lies within a month of the first and last closure.
        """
        if self.always_open or not self.closures:
            return None
        first, last = min(self.closures), max(self.closures)
        if (last - first).days + 60 < MAX_SEARCH_DAYS:
            return None
        try:
            for _, end in self._spans(datetime.combine(first - 30 * DAY, time(), UTC)):
                if end.date() > last + 30 * DAY:
                    return None
        except NoWorkingTime as exc:
            return exc.since.astimezone(self.tz).date()
        raise AssertionError("unreachable: _spans raises when it runs out")


def parse_weekly(spec: dict[str, list[list[str]]]) -> dict[int, tuple[tuple[time, time], ...]]:
    """Parse ``{"0": [["09:00", "17:00"]], ...}`` and check every rule, naming the day.

    ``"24:00"`` as an end is midnight at the end of the day (``END_OF_DAY``).
    """
    weekly: dict[int, tuple[tuple[time, time], ...]] = {}
    for key, spans in spec.items():
        weekday = int(key)
        if not 0 <= weekday <= 6:
            raise CalendarError(f"weekday {key!r} is not 0 (Monday) to 6 (Sunday)")
        name = WEEKDAY_NAMES[weekday]
        parsed = sorted((parse_time_of_day(s, name), parse_time_of_day(e, name, end=True)) for s, e in spans)
        for start, end in parsed:
            if end <= start:
                hint = " (24:00 is midnight at the end of the day)" if end == time(0) else ""
                raise CalendarError(f"{name}: {start:%H:%M}-{end:%H:%M} ends before it starts{hint}")
        for (_, prev_end), (next_start, _) in zip(parsed, parsed[1:], strict=False):
            if next_start < prev_end:
                raise CalendarError(f"{name}: working intervals overlap")
        weekly[weekday] = tuple(parsed)
    return weekly


def parse_time_of_day(text: str, day_name: str, *, end: bool = False) -> time:
    """``"HH:MM"``; as an end, ``"24:00"`` too (the end of the day)."""
    if text in ("24:00", "24:00:00"):
        if end:
            return END_OF_DAY
        raise CalendarError(f"{day_name}: an interval cannot start at 24:00")
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError):
        raise CalendarError(f"{day_name}: {text!r} is not a time of day (HH:MM)") from None
