"""Keyset (cursor) pagination for long lists: a page costs the same at the first row as at the
millionth.

OFFSET pagination reads and throws away every row before the page: the decision log's page
5,000 read 250,000 rows and took 10 s at a million decisions, the last page 30 s (issue 13).
Here a page is "the ``size`` rows just past (or just before) this row" in the list's order,
one index range scan on ``(value, id)``, whatever the depth. Deep positions are reached by date
("go to 2025-03-14"), not by page number, which nobody can guess anyway.

A list is ordered by a ``Keyset``: one date-time column then the id, both the same direction
(newest first by default). A nullable column keeps its rows without a value last in either
direction by ordering on the value or a stand-in past every real date (``Coalesce``), which an
index on that same expression matches: one range scan still, where "value, or NULL after
every value" would be an OR that no index serves.

A position is written in links as ``<microseconds since the epoch>.<id>``: opaque to readers,
exact (no float rounding), and checked on the way back in like any parameter.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import DateTimeField, F, Func, QuerySet, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan
from django.http import QueryDict
from django.utils.formats import date_format

from apps.common.moments import end_of_day, start_of_day
from apps.common.pagination import MAX_ECHO
from apps.common.params import InvalidParameter, shown_value

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Stand-ins for "no value" in a nullable keyset column: past every real date either way.
FAR_PAST, FAR_FUTURE = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)
TOKEN = re.compile(r"(-?[0-9]{1,18})\.([0-9]{1,18})")
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)
EARLIEST_MICROSECONDS = (FAR_PAST - EPOCH) // timedelta(microseconds=1)
LATEST_MICROSECONDS = (FAR_FUTURE - EPOCH) // timedelta(microseconds=1)
# The parameters of a keyset-paged list: a position to go past or before, a date to go to.
AFTER, BEFORE, FROM = "cursor", "newer", "from"


@dataclass(frozen=True)
class Keyset:
    """How a list is ordered: by ``field`` then id, both ``descending`` or both ascending.
    ``nulls_last``: the field may be empty, and rows without a value come after all others."""

    field: str = "at"
    descending: bool = True
    nulls_last: bool = False

    @property
    def stand_in(self) -> datetime:
        return FAR_PAST if self.descending else FAR_FUTURE

    def key(self):
        """The expression a page is ordered and compared by (an index must match it)."""
        if not self.nulls_last:
            return F(self.field)
        return Coalesce(self.field, Value(self.stand_in, output_field=DateTimeField()))

    def value(self, row) -> datetime:
        found = getattr(row, self.field)
        return self.stand_in if found is None and self.nulls_last else found


NEWEST_FIRST = Keyset()
KEY = "keyset_key"  # the alias a nullable keyset's expression is compared and ordered by


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
        if not match or not EARLIEST_MICROSECONDS <= int(match[1]) <= LATEST_MICROSECONDS:
            raise InvalidParameter(
                name, "is not a position in this list: start again from the first page", raw
            )
        return cls(EPOCH + timedelta(microseconds=int(match[1])), int(match[2]))


@dataclass
class KeysetPage:
    rows: list
    older: str | None  # token of the next page in the list's order ("Older", newest first), if any
    newer: str | None  # token of the page before this one, if this is not the first
    jumped_to: date | None = None


def parse_day(name: str, raw: str, *, first: bool = False) -> date:
    """``YYYY-MM-DD`` or ``YYYY-MM`` (the end of that month, or its first day when ``first``:
    the list runs forward in time from there), for "go to this date"."""
    text = raw.strip()
    day = _day(name, raw, text, first)
    if not EARLIEST <= day <= LATEST:  # a zone's offset would carry the instant past what dates hold
        raise InvalidParameter(name, f"must be a date from {EARLIEST} to {LATEST}", raw)
    return day


def _day(name: str, raw: str, text: str, first: bool) -> date:
    try:
        if match := MONTH.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12:
                return _refuse(name, raw)
            return date(year, month, 1 if first else monthrange(year, month)[1])
        return date.fromisoformat(text) if len(text) == 10 else _refuse(name, raw)
    except ValueError:
        return _refuse(name, raw)


def _refuse(name: str, raw: str):
    raise InvalidParameter(name, "must be a date written YYYY-MM-DD or a month written YYYY-MM", raw)


def requested_page(
    params: QueryDict, queryset: QuerySet, *, size: int, order: Keyset = NEWEST_FIRST
) -> KeysetPage:
    """The page a list's query string points at: past a position (``cursor``, the "Older" link
    of a newest-first list), before one (``newer``), at a date (``from``: the rows at or before
    its end newest first, at or after its start oldest first), or the first page. A position
    or date that does not parse is an ``InvalidParameter`` naming it."""
    if params.get(BEFORE):
        return keyset_page(queryset, size=size, order=order, before=Position.parse(BEFORE, params[BEFORE]))
    if params.get(AFTER):
        return keyset_page(queryset, size=size, order=order, after=Position.parse(AFTER, params[AFTER]))
    if params.get(FROM, "").strip():
        day = parse_day(FROM, params[FROM], first=not order.descending)
        start = end_of_day(day) if order.descending else start_of_day(day)
        page = keyset_page(queryset, size=size, order=order, start=start)
        page.jumped_to = day
        return page
    return keyset_page(queryset, size=size, order=order)


def kept_params(params: QueryDict) -> str:
    """The query string without its position or date: what every page link of the list keeps
    (the filters, the sort), with the link's own position added after it."""
    kept = params.copy()
    for name in (AFTER, BEFORE, FROM):
        kept.pop(name, None)
    return kept.urlencode()


def keyset_page(
    queryset: QuerySet,
    *,
    size: int,
    order: Keyset = NEWEST_FIRST,
    after: Position | None = None,
    before: Position | None = None,
    start: datetime | None = None,
) -> KeysetPage:
    """One page of ``queryset`` in ``order``.

    ``after``: the rows just past a position (the next page); ``before``: the rows just before
    it, still shown in the list's order (the previous page); ``start``: the first rows at or
    past an instant (go to a date). Two queries at most, each an index range scan when an index
    on the keyset's expression and id matches the filters."""
    queryset = queryset.alias(**{KEY: order.key()}) if order.nulls_last else queryset
    key = KEY if order.nulls_last else order.field
    if before is not None:
        found = list(
            queryset.filter(_past(key, before, forward=False, order=order)).order_by(
                *_sort(key, not order.descending)
            )[: size + 1]
        )
        rows = found[:size][::-1]
        return KeysetPage(
            rows,
            older=_position(rows[-1], order).token if rows else before.token,
            newer=_position(rows[0], order).token if len(found) > size and rows else None,
        )
    head = queryset
    if after is not None:
        head = head.filter(_past(key, after, forward=True, order=order))
    elif start is not None:
        head = head.filter(**{f"{key}__{'lte' if order.descending else 'gte'}": start})
    found = list(head.order_by(*_sort(key, order.descending))[: size + 1])
    rows = found[:size]
    older = _position(rows[-1], order).token if len(found) > size else None
    newer = None
    if rows and (after is not None or start is not None):
        top = _position(rows[0], order)
        if queryset.filter(_past(key, top, forward=False, order=order)).exists():
            newer = top.token
    return KeysetPage(rows, older=older, newer=newer)


def _sort(key: str, descending: bool) -> tuple[str, str]:
    return (f"-{key}", "-id") if descending else (key, "id")


class _Row(Func):
    """A row value, ``(a, b)``: compared whole, so the index on ``(a, b)`` bounds the scan on
    both columns (rows tied on the first, like every escalation with no clock, are skipped in
    the index, not read and filtered)."""

    template = "(%(expressions)s)"
    output_field = DateTimeField()


def _past(key: str, position: Position, *, forward: bool, order: Keyset):
    """The rows past ``position`` going ``forward`` in the list's order (or back):
    ``(key, id) > (value, id)`` towards larger values, ``<`` towards smaller."""
    later = forward != order.descending  # moving towards larger values
    here = _Row(Value(position.at, output_field=DateTimeField()), Value(position.id))
    return (GreaterThan if later else LessThan)(_Row(F(key), F("id")), here)


def _position(row, order: Keyset) -> Position:
    return Position(order.value(row), row.id)


# --- what a keyset list's page says ------------------------------------------------------------


@dataclass(frozen=True)
class Way:
    """The words of one order of a keyset list, for its heading and its page links."""

    heading: str
    jumped: str  # the heading after "Go to date"; {} is the date
    onward: str  # the link to the next page
    back: str  # the link to the page before
    first: str  # the link to the first page


NEWEST_FIRST_WAY = Way("Newest first", "Newest first, from {} back", "Older", "Newer", "Newest")


def _refusal_said(params: QueryDict, refusal: InvalidParameter | None) -> str:
    """A refused date is said by the field's label, the one the person typed it into; a position
    (``cursor``, ``newer``: only links carry them) by its parameter."""
    if refusal is None:
        return ""
    if refusal.name == FROM:
        return f"Go to date {refusal.rule} (got {shown_value(params.get(FROM, ''))})."
    return str(refusal)


def keyset_pages(
    params: QueryDict, page: KeysetPage, *, refusal: InvalidParameter | None = None, way: Way = NEWEST_FIRST_WAY
) -> dict:
    """The context ``includes/keyset_list.html`` prints around a keyset list's table: the
    heading in the list's order (or from the date gone to), the "Go to date" field with the
    list's other parameters kept beside it, the refusal of a position or date that did not parse
    (the field marked when it was the date), and the page links keeping filters and order."""
    return {
        "page": page,
        "way": way,
        "heading": way.jumped.format(date_format(page.jumped_to, "j F Y")) if page.jumped_to else way.heading,
        "jump": params.get(FROM, "")[:MAX_ECHO],
        "refusal": _refusal_said(params, refusal),
        "jump_refused": refusal is not None and refusal.name == FROM,
        "keep": kept_params(params),
        "kept": [
            (name, value)
            for name, values in params.lists()
            for value in values
            if name not in (AFTER, BEFORE, FROM) and value
        ],
    }
