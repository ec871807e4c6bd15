"""Reads about the timer engine, shared by /healthz and the timers page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import Now

from apps.timers.models import Deadline, SweepHeartbeat


@dataclass(frozen=True)
class SweepHealth:
    last_run_at: datetime | None
    age_seconds: float | None
    max_age_seconds: float

    @property
    def ok(self) -> bool:
        return self.age_seconds is not None and self.age_seconds <= self.max_age_seconds


def sweep_health(name: str = "sweep") -> SweepHealth:
    """Age of the last sweep by the database's clock; stale beyond three intervals."""
    max_age = 3.0 * settings.TIMERS_SWEEP_INTERVAL
    beat = SweepHeartbeat.objects.filter(name=name).annotate(db_now=Now()).first()
    if beat is None:
        return SweepHealth(None, None, max_age)
    return SweepHealth(beat.last_run_at, (beat.db_now - beat.last_run_at).total_seconds(), max_age)


def deadline_counts() -> dict[str, int]:
    pending = Q(fired_at=None, cancelled_at=None)
    return Deadline.objects.aggregate(
        pending=Count("pk", filter=pending),
        overdue=Count("pk", filter=pending & Q(next_attempt_at__lt=Now())),
        retrying=Count("pk", filter=pending & Q(attempts__gt=0)),
    )


def failing_deadlines(limit: int = 50):
    return Deadline.objects.filter(fired_at=None, cancelled_at=None, attempts__gt=0).order_by(
        "next_attempt_at"
    )[:limit]


def next_deadlines(limit: int = 20):
    return Deadline.objects.filter(fired_at=None, cancelled_at=None).order_by("next_attempt_at")[:limit]
