"""Business-time arithmetic, independent of the database.

A ``WorkingCalendar`` is a timezone, weekly working intervals in local wall-clock time,
and closed dates (public holidays from the ``holidays`` package plus custom closures).

Business time is *elapsed* time inside working intervals: each local interval is turned into
two UTC instants, so an interval on a daylight-saving change day is as long as it really was
(09:00-17:00 is 8 hours on any day; 00:00-04:00 on the spring-forward night is 3). Working
intervals never cross midnight; a night shift is two intervals.

Conventions that make the arithmetic an exact inverse:
- ``add_business_time(start, d)`` is the *earliest* instant t with
  ``business_time_between(start, t) == d``. So a deadline that uses up a day's last hour lands
  on the closing time (17:00), not on the next morning's opening, and a zero duration from
  outside working hours lands on the next opening.
- ``business_time_between(a, b)`` is negative when ``b < a``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

# Beyond this many days without finding working time, the calendar is considered broken.
MAX_SEARCH_DAYS = 3 * 366
ZERO = timedelta(0)


class CalendarError(ValueError):
    pass


@lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """Public holidays of a country (and region) in one year, from the ``holidays`` package."""
    if not country:
        return frozenset()
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year))


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    # weekday (Monday=0) -> sorted, non-overlapping (start, end) local times, end > start
    weekly: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    closures: frozenset[date] = frozenset()
    holiday_country: str = ""
    holiday_subdivision: str = ""
    always_open: bool = False

    def __post_init__(self) -> None:
        if not self.always_open and not any(self.weekly.values()):
            raise CalendarError("a calendar needs working hours on at least one day")

    # -- days and intervals -------------------------------------------------------------

    def is_closed_day(self, day: date) -> bool:
        if day in self.closures:
            return True
        return day in public_holidays(self.holiday_country, self.holiday_subdivision, day.year)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working intervals as UTC instants (empty on closed days)."""
        if self.is_closed_day(day):
            return []
        spans = []
        for start, end in self.weekly.get(day.weekday(), ()):
            a = datetime.combine(day, start, self.tz).astimezone(UTC)
            b = datetime.combine(day, end, self.tz).astimezone(UTC)
            if b > a:
                spans.append((a, b))
        return spans

    def _spans(self, first_day: date, last_day: date | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Working spans in UTC from ``first_day`` on, in order, never overlapping.

        Local times that do not exist (the hour skipped when clocks go forward) map out of
        order, so spans are clipped against the end of the previous one instead of trusted.
        """
        last_end: datetime | None = None
        for offset in range(MAX_SEARCH_DAYS):
            day = first_day + timedelta(days=offset)
            if last_day is not None and day > last_day:
                return
            for a, b in sorted(self.intervals_on(day)):
                if last_end is not None:
                    a = max(a, last_end)
                if b > a:
                    yield a, b
                    last_end = b
        if last_day is None:
            raise CalendarError(f"no working time within {MAX_SEARCH_DAYS} days of {first_day}")

    def _intervals_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = instant.astimezone(self.tz).date() - timedelta(days=1)
        return ((a, b) for a, b in self._spans(day) if b > instant)

    def is_open(self, instant: datetime) -> bool:
        if self.always_open:
            return True
        day = instant.astimezone(self.tz).date()
        return any(a <= instant < b for a, b in self._spans(day - timedelta(days=1), day + timedelta(days=1)))

    # -- arithmetic -----------------------------------------------------------------------

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        _require_aware(start)
        if duration < ZERO:
            raise CalendarError("a business duration cannot be negative")
        if self.always_open:
            return start + duration
        remaining = duration
        for a, b in self._intervals_from(start):
            begin = max(a, start)
            available = b - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from raises when it runs out")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        _require_aware(a)
        _require_aware(b)
        if b < a:
            return -self.business_time_between(b, a)
        if self.always_open:
            return b - a
        total = ZERO
        first = a.astimezone(self.tz).date() - timedelta(days=1)
        last = b.astimezone(self.tz).date() + timedelta(days=1)
        for start, end in self._spans(first, last):
            overlap = min(end, b) - max(start, a)
            if overlap > ZERO:
                total += overlap
        return total

    def next_open(self, instant: datetime) -> datetime:
        """The instant itself when open, otherwise the next opening."""
        return self.add_business_time(instant, ZERO)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise CalendarError("business-time arithmetic needs timezone-aware datetimes")


def parse_weekly(spec: dict[str, list[list[str]]]) -> dict[int, tuple[tuple[time, time], ...]]:
    """Parse ``{"0": [["09:00", "17:00"]], ...}`` and check every rule, naming the day."""
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    weekly: dict[int, tuple[tuple[time, time], ...]] = {}
    for key, spans in spec.items():
        weekday = int(key)
        if not 0 <= weekday <= 6:
            raise CalendarError(f"weekday {key!r} is not 0 (Monday) to 6 (Sunday)")
        parsed = sorted((time.fromisoformat(s), time.fromisoformat(e)) for s, e in spans)
        for start, end in parsed:
            if end <= start:
                raise CalendarError(f"{names[weekday]}: {start:%H:%M}-{end:%H:%M} ends before it starts")
        for (_, prev_end), (next_start, _) in zip(parsed, parsed[1:], strict=False):
            if next_start < prev_end:
                raise CalendarError(f"{names[weekday]}: working intervals overlap")
        weekly[weekday] = tuple(parsed)
    return weekly

