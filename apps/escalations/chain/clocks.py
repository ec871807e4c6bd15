"""When an escalation's clocks run out: the frozen threshold, the policy's business calendar,
and the service's maintenance windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from apps.escalations.chain.frozen import FrozenChain
from apps.policies.models import BusinessCalendar, MaintenanceWindow, Service


@dataclass(frozen=True)
class Due:
    at: datetime
    # The maintenance windows that pushed it back, in order (empty when none did).
    deferred_by: tuple[MaintenanceWindow, ...] = ()


def clock_due(*, chain: FrozenChain, service: Service | None, start: datetime, duration: timedelta) -> Due:
    """When a clock of ``duration`` started at ``start`` runs out: counted in the policy's
    business calendar when the threshold says so, then moved to the end of any maintenance
    window of the service that defers clocks (windows that overlap or follow are chained)."""
    return defer_for_maintenance(service, business_due(chain=chain, start=start, duration=duration))


def business_due(*, chain: FrozenChain, start: datetime, duration: timedelta) -> datetime:
    """``start + duration``, counted in the policy's business calendar when the frozen threshold
    says the escalation's clocks run in business hours only."""
    if not chain.threshold.business_hours_only:
        return start + duration
    calendar = BusinessCalendar.objects.prefetch_related("closures").get(pk=chain.calendar_id)
    return calendar.working_calendar().add_business_time(start, duration)


def defer_for_maintenance(service: Service | None, due: datetime) -> Due:
    """``due`` moved past the maintenance windows of ``service`` that defer clocks (a concern
    about no particular service has none)."""
    windows: list[MaintenanceWindow] = []
    if service is None:
        return Due(due)
    while (window := deferring_window(service, due)) is not None and window not in windows:
        windows.append(window)
        due = window.ends_at
    return Due(due, tuple(windows))


def deferring_window(service: Service, at: datetime) -> MaintenanceWindow | None:
    """The maintenance window of ``service`` that defers clocks and covers ``at``, if any."""
    return (
        MaintenanceWindow.objects.filter(
            services=service, defers_clocks=True, starts_at__lte=at, ends_at__gt=at
        )
        .order_by("-ends_at")
        .first()
    )


def update_cadence(severity: str) -> timedelta:
    """How often the people affected hear something, by severity (ESCALATION_UPDATE_MINUTES)."""
    return timedelta(minutes=settings.ESCALATION_UPDATE_MINUTES[severity])
