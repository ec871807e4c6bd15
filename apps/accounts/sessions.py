"""The two clocks of a signed-in session, kept in the session itself.

Sessions end after ``SESSION_IDLE_TIMEOUT_MINUTES`` without a request and
``SESSION_MAX_AGE_HOURS`` after sign-in, whichever comes first. Both instants are stored in the
session (seconds since the epoch, so a signed-cookie session carries them as well as a database
one) and checked by ``SessionLifetimeMiddleware``. Activity is written at most once a
``SESSION_ACTIVITY_RESOLUTION`` (a minute): a session may end up to a minute early, but a page
view does not cost a session write.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from apps.accounts.models import User

SIGNED_IN_AT = "_accounts_signed_in_at"
SEEN_AT = "_accounts_seen_at"
# Set in the session of a person who signed in through the single sign-on provider.
SIGNED_ON = "_accounts_signed_on"


def start_clock(sender, request, user: User, **kwargs) -> None:
    """``user_logged_in`` receiver. A signal because every way in (the sign-in form, single
    sign-on, the admin, ``Client.force_login``) goes through ``login()``, and each must start the
    clocks; it changes nothing but the session being created."""
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    # 0: the cookie lasts until the browser closes; None: SESSION_COOKIE_AGE (the idle timeout).
    request.session.set_expiry(0 if ends_with_browser(user) else None)


def ends_with_browser(user: User) -> bool:
    return any(role.value in settings.SESSION_BROWSER_CLOSE_ROLES for role in user.roles)


def why_ended(session: SessionBase, now: int) -> str | None:
    """The reason to end this session now, in words for the person; None while it may go on."""
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if signed_in_at is None or seen_at is None:
        return None
    idle = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
    if now - seen_at >= idle:
        return f"You were signed out after {_duration(idle)} without activity. Please sign in again."
    if now - signed_in_at >= settings.SESSION_MAX_AGE_HOURS * 3600:
        return (
            f"You were signed out: a session lasts at most {_duration(settings.SESSION_MAX_AGE_HOURS * 3600)}. "
            "Please sign in again."
        )
    return None


def touch(session: SessionBase, now: int) -> None:
    """Record activity; starts the clocks of a session signed in before they existed."""
    session.setdefault(SIGNED_IN_AT, now)
    if now - session.get(SEEN_AT, 0) >= settings.SESSION_ACTIVITY_RESOLUTION:
        session[SEEN_AT] = now


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def as_datetime(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None
