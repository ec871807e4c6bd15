"""Keyset (cursor) pagination for the long, newest-first logs: a page costs the same at the
first row as at the millionth.

OFFSET pagination reads and throws away every row before the page: the decision log's page
5,000 read 250,000 rows and took 10 s at a million decisions, the last page 30 s (issue 13).
Here a page is "the ``size`` rows just older (or newer) than this row", one index range scan
on ``(time, id)``, whatever the depth. Deep positions are reached by date ("go to
2025-03-14"), not by page number, which nobody can guess anyway.

A position is written in links as ``<microseconds since the epoch>.<id>``: opaque to readers,
exact (no float rounding), and checked on the way back in like any parameter.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.common.params import InvalidParameter

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOKEN = re.compile(r"(-?[0-9]{1,18})\.([0-9]{1,18})")
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)
LATEST_MICROSECONDS = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Position:
    """A row's place in a list ordered by ``(time, id)``."""

    at: datetime
    id: int

    @property
    def token(self) -> str:
        return f"{(self.at - EPOCH) // timedelta(microseconds=1)}.{self.id}"

    @classmethod
    def parse(cls, name: str, raw: str) -> Position:
        match = TOKEN.fullmatch(raw.strip())
        if not match or not -LATEST_MICROSECONDS <= int(match[1]) <= LATEST_MICROSECONDS:
            raise InvalidParameter(name, "is not a position in this list: start again from the newest", raw)
        return cls(EPOCH + timedelta(microseconds=int(match[1])), int(match[2]))


@dataclass
class KeysetPage:
    rows: list
    older: str | None  # token of the next page back in time, if there is one
    newer: str | None  # token of the page before this one, if this is not the newest
    jumped_to: date | None = None


def parse_day(name: str, raw: str) -> date:
    """``YYYY-MM-DD`` or ``YYYY-MM`` (the end of that month), for "go to this date"."""
    text = raw.strip()
    day = _day(name, raw, text)
    if not EARLIEST <= day <= LATEST:  # a zone's offset would carry the instant past what dates hold
        raise InvalidParameter(name, f"must be a date from {EARLIEST} to {LATEST}", raw)
    return day


def _day(name: str, raw: str, text: str) -> date:
    try:
        if match := MONTH.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12:
                return _refuse(name, raw)
            return date(year, month, monthrange(year, month)[1])
        return date.fromisoformat(text) if len(text) == 10 else _refuse(name, raw)
    except ValueError:
        return _refuse(name, raw)


def _refuse(name: str, raw: str):
    raise InvalidParameter(name, "must be a date written YYYY-MM-DD or a month written YYYY-MM", raw)


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in the reader's zone (the zone the page shows times in)."""
    start = timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
    return start + timedelta(days=1) - timedelta(microseconds=1)


def keyset_page(
    queryset: QuerySet,
    *,
    size: int,
    time_field: str = "at",
    older_than: Position | None = None,
    newer_than: Position | None = None,
    at_or_before: datetime | None = None,
) -> KeysetPage:
    """One page of ``queryset``, newest first, by ``(time_field, id)``.

    ``older_than``: the rows just older than a position (the "Older" link); ``newer_than``: the
    rows just newer, still shown newest first (the "Newer" link); ``at_or_before``: the newest
    rows at or before an instant (go to a date). Three queries at most, each an index range scan
    when an index on ``(time_field, id)`` matches the filters."""
    t, newest_first = time_field, (f"-{time_field}", "-id")
    if newer_than is not None:
        after = Q(**{f"{t}__gte": newer_than.at}) & (
            Q(**{f"{t}__gt": newer_than.at}) | Q(id__gt=newer_than.id)
        )
        found = list(queryset.filter(after).order_by(t, "id")[: size + 1])
        more_newer = len(found) > size
        rows = found[:size][::-1]
        return KeysetPage(
            rows,
            older=_position(rows[-1], t).token if rows else newer_than.token,
            newer=_position(rows[0], t).token if more_newer and rows else None,
        )
    head = queryset
    if older_than is not None:
        head = head.filter(
            Q(**{f"{t}__lte": older_than.at}) & (Q(**{f"{t}__lt": older_than.at}) | Q(id__lt=older_than.id))
        )
    elif at_or_before is not None:
        head = head.filter(**{f"{t}__lte": at_or_before})
    found = list(head.order_by(*newest_first)[: size + 1])
    rows = found[:size]
    older = _position(rows[-1], t).token if len(found) > size else None
    newer = None
    if rows and (older_than is not None or at_or_before is not None):
        top = _position(rows[0], t)
        later = Q(**{f"{t}__gte": top.at}) & (Q(**{f"{t}__gt": top.at}) | Q(id__gt=top.id))
        if queryset.filter(later).exists():
            newer = top.token
    return KeysetPage(rows, older=older, newer=newer)


def _position(row, time_field: str) -> Position:
    return Position(getattr(row, time_field), row.id)
