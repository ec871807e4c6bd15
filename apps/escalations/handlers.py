"""Deadline handlers of the escalations app: thin, each calls one clock service.

They run inside the transaction that marks the deadline fired (apps.timers), so what they
write commits exactly once with it, however many tasks or sweeps reach the deadline.
"""

from __future__ import annotations

from apps.escalations import services
from apps.timers.registry import register


@register(services.ACK_DUE, label="Acknowledge deadline")
def acknowledge_due(deadline) -> None:
    services.clock_acknowledge_missed(escalation_id=int(deadline.subject_id), payload=deadline.payload)


@register(services.RESOLVE_DUE, label="Resolve deadline")
def resolve_due(deadline) -> None:
    services.clock_resolve_breached(escalation_id=int(deadline.subject_id), payload=deadline.payload)


@register(services.UPDATE_DUE, label="Stakeholder update due")
def update_due(deadline) -> None:
    services.clock_update_due(escalation_id=int(deadline.subject_id), payload=deadline.payload)


@register(services.AUTO_CLOSE, label="Automatic close")
def auto_close(deadline) -> None:
    services.clock_auto_close(escalation_id=int(deadline.subject_id), payload=deadline.payload)
