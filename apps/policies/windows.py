"""Maintenance windows and change freezes: saved like every policy object, validated first,
history-tracked with the actor and a change reason, audited, in one transaction.

Kept apart from ``services.py`` because they are periods attached to services rather than
parts of an escalation chain; the timers consult them (a deadline due inside a window that
defers clocks waits for its end), so a window must never be half-saved: the row and its
services are written together or not at all.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import record
from apps.policies.models import ChangeFreeze, MaintenanceWindow, Service

MIN_REASON = 5


def _check(obj, services: list[Service], reason: str) -> str:
    """Every refusal at once, keyed by field, so a form can show them all together."""
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not services:
        errors.setdefault("services", []).append("Choose at least one service this period applies to.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        errors.setdefault("change_reason", []).append(
            f"Say why (at least {MIN_REASON} characters): it is kept in the history."
        )
    if errors:
        raise ValidationError(errors)
    return reason


def _save(obj, services: list[Service], actor, reason: str, action: str) -> None:
    created = obj.pk is None
    obj._history_user, obj._change_reason = actor, reason
    obj.save()
    obj.services.set(services)
    record(
        action=f"{action}_created" if created else f"{action}_changed",
        actor=actor,
        target=obj,
        data={
            "reason": reason,
            "starts_at": obj.starts_at,
            "ends_at": obj.ends_at,
            "services": sorted(s.name for s in services),
        },
    )


@transaction.atomic
def maintenance_window_save(
    *, window: MaintenanceWindow, services: list[Service], actor, reason: str
) -> MaintenanceWindow:
    """Create or change a maintenance window; refuses one ending before it starts (``ends_at``)."""
    reason = _check(window, services, reason)
    _save(window, services, actor, reason, "policies.maintenance_window")
    return window


@transaction.atomic
def change_freeze_save(*, freeze: ChangeFreeze, services: list[Service], actor, reason: str) -> ChangeFreeze:
    """Create or change a change freeze; refuses one ending before it starts (``ends_at``)."""
    reason = _check(freeze, services, reason)
    _save(freeze, services, actor, reason, "policies.change_freeze")
    return freeze
