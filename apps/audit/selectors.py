"""Reads of the audit trail. Pages never count the whole table: keyset pagination on seq.

Every read goes through ``visible_events``: what a person may read of the trail is decided
once (``apps.audit.scopes.reader_rule``), in SQL, for the page, the home page's recent events
and anything else that lists events.
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.audit.models import AuditEvent
from apps.audit.scopes import reader_rule


def visible_events(user) -> QuerySet[AuditEvent]:
    rule = reader_rule(user)
    if rule is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(rule)


def confined_events(confined_to: str) -> QuerySet[AuditEvent]:
    """The events kept out of the general trail for ``confined_to`` (e.g. "protection"). The
    app they belong to decides who may see them before it calls this."""
    return AuditEvent.objects.filter(confined_to=confined_to)


def recent_events(user, *, limit: int = 20) -> list[AuditEvent]:
    return list(visible_events(user).order_by("-seq")[:limit])


def events_page(
    user,
    *,
    before_seq: int | None = None,
    action: str = "",
    actor: str = "",
    target_type: str = "",
    size: int = 50,
) -> tuple[list[AuditEvent], int | None]:
    """One page of events, newest first, and the ``before`` cursor of the next page (or None)."""
    qs: QuerySet[AuditEvent] = visible_events(user).order_by("-seq")
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
