"""Reads of the audit trail. Pages never count the whole table: keyset pagination on seq."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.audit.models import AuditEvent


def recent_events(*, limit: int = 20) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("-seq")[:limit])


def events_page(
    *, before_seq: int | None = None, action: str = "", actor: str = "", target_type: str = "", size: int = 50
) -> tuple[list[AuditEvent], int | None]:
    """One page of events, newest first, and the ``before`` cursor of the next page (or None)."""
    qs: QuerySet[AuditEvent] = AuditEvent.objects.order_by("-seq")
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_username=actor)
    if target_type:
        qs = qs.filter(target_type=target_type)
    rows = list(qs[: size + 1])
    next_cursor = rows[size - 1].seq if len(rows) > size else None
    return rows[:size], next_cursor
