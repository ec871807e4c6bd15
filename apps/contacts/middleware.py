"""Pages speak the reader's time: every time a page shows is in the zone of the person reading it.

``Person.timezone`` is the reader's zone; Django's template engine converts every aware
datetime to the active zone, and the ``portal`` template filters (``when``) name it beside the
time. Someone without a person record (a visitor, a service account) reads the portal's
``TIME_ZONE``. Forms read typed times in the same zone, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.common.moments import timezone_names
from apps.contacts.models import Person


class ReaderTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = reader_zone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def reader_zone(request: HttpRequest) -> str | None:
    """The signed-in reader's zone name, or None for the portal's default (one indexed query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    zone = Person.objects.filter(user_id=user.pk).values_list("timezone", flat=True).first()
    return zone if zone and zone in timezone_names() else None
