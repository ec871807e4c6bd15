"""Local dates and times to UTC instants, refusing the ones the portal cannot store.

Python's datetimes end at the years 1 and 9999. A local time near either end is a valid
datetime, but its UTC instant may not be: 9999-12-31 23:59 in Pacific/Pago_Pago (UTC-11) is
in the year 10000 in UTC, 0001-01-01 00:00 in Asia/Tokyo in the year 0. Converting it raised
OverflowError wherever it happened: in a form, in the database adapter when saving, in a
template showing it. The portal therefore keeps instants a day inside Python's range: any
stored instant can be shown in any timezone (offsets stay within a day) and moved by the few
hours the pages add to it.

Every form and view that turns a local time into an instant goes through ``to_utc``, which
raises a ``ValidationError`` a form shows beside the field. The zone names the portal
accepts (``timezone_names``, ``timezone_error``) live here too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
RANGE = "2 January of the year 1 to 30 December 9999, UTC"


def to_utc(
    wall: datetime, zone: str | tzinfo | None = None, *, what: str = "This moment", after=timedelta(0)
) -> datetime:
    """The UTC instant of the wall-clock reading ``wall`` in ``zone``, ``after`` later.

    With ``zone`` None, ``wall`` is aware and its own zone is used (a form field made it aware
    in the current timezone). Raises ``ValidationError`` (code ``out_of_range``) when the
    instant is outside the range the portal can store."""
    tz = wall.tzinfo if zone is None else (ZoneInfo(zone) if isinstance(zone, str) else zone)
    try:
        instant = (wall.replace(tzinfo=None) + after).replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not EARLIEST <= instant <= LATEST:
        raise ValidationError(
            "%(what)s (%(wall)s in %(zone)s) is outside the range the portal can store (%(range)s).",
            code="out_of_range",
            params={
                "what": what,
                "wall": f"{wall.date().isoformat()} {wall:%H:%M}",
                "zone": _name(tz),
                "range": RANGE,
            },
        )
    return instant


def day_to_utc(day: date, clock: time, zone: str | tzinfo, *, what: str, after=timedelta(0)) -> datetime:
    """``to_utc`` of ``clock`` on ``day``: a date and a time typed in separate fields."""
    return to_utc(datetime.combine(day, clock), zone, what=what, after=after)


@cache
def timezone_names() -> frozenset[str]:
    """Every IANA timezone name this machine knows (read once: zoneinfo walks the disk)."""
    return frozenset(available_timezones())


def timezone_error(name: str) -> str:
    """The message for a timezone name zoneinfo does not know, or "" for a known one: a zone
    that cannot be loaded would break every clock and on-call computation that reads it."""
    return "" if name in timezone_names() else f"{name!r} is not a known IANA timezone (e.g. Europe/London)."


def _name(tz: tzinfo | None) -> str:
    return getattr(tz, "key", None) or str(tz)


def zone_label(moment: datetime) -> str:
    """How a page names the zone of an aware ``moment``: its usual abbreviation ("CET", "UTC",
    "EST"), or the zone's name where the abbreviation is only an offset ("+04" is no name)."""
    abbreviation = moment.tzname() or ""
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    return _name(moment.tzinfo)


def shown(moment: datetime | None, zone: str | tzinfo | None = None, fmt: str = "%a %d %b %H:%M") -> str:
    """``moment`` as a sentence shows it: in ``zone`` (default: the reader's, the active zone),
    with the zone named ("Mon 07 Dec 14:30 CET"). For messages built in Python; templates use
    the ``when`` filter of ``portal``."""
    if moment is None:
        return "—"
    tz = (
        timezone.get_current_timezone()
        if zone is None
        else (ZoneInfo(zone) if isinstance(zone, str) else zone)
    )
    local = moment.astimezone(tz)
    return f"{local.strftime(fmt)} {zone_label(local)}"


def start_of_day(day: date) -> datetime:
    """The first instant of ``day`` in the reader's zone (the zone the page shows times in)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in the reader's zone."""
    return start_of_day(day) + timedelta(days=1) - timedelta(microseconds=1)
