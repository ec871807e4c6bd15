"""Helpers for the integration tests: real servers, real worker processes, committed data."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.db.models import Count

from apps.timers.models import Deadline
from tests.probe.models import ProbeHit


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2, what: str = ""
) -> float:
    """Poll ``predicate`` until true; return the seconds waited, or fail after ``timeout``."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def sleep_until(moment: datetime) -> None:
    from django.utils import timezone

    remaining = (moment - timezone.now()).total_seconds()
    if remaining > 0:
        time.sleep(remaining)


def hits_per_deadline(ids: list[int]) -> dict[int, int]:
    rows = ProbeHit.objects.filter(deadline_id__in=ids).values("deadline_id").annotate(n=Count("id"))
    counts = {row["deadline_id"]: row["n"] for row in rows}
    return {pk: counts.get(pk, 0) for pk in ids}


def pending(ids: list[int]) -> int:
    return Deadline.objects.filter(pk__in=ids, fired_at=None).count()
