"""Writing the audit trail. Every service in the portal calls ``record`` inside its transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.audit.models import GENESIS_HASH, AuditEvent, ChainCheckpoint
from apps.audit.scopes import scope_of

# Arbitrary constant naming "the audit chain head" among PostgreSQL advisory locks.
CHAIN_LOCK_KEY = 0x6573_6361_6C61_7564  # "escalaud"


def record(
    *,
    action: str,
    actor: Any = None,
    target: Model | None = None,
    data: dict | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
    confined_to: str = "",
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock taken before
    reading the chain head, on SQLite by the write lock every IMMEDIATE transaction holds. The
    lock lasts until the caller's transaction commits, so the next writer sees this row as the
    head; a rolled-back transaction leaves no row and no gap.
    """
    scope = scope_of(target)
    if confined_to:  # an event with no model target that must stay out of the general trail
        scope = replace(scope, confined_to=confined_to)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)[:255]
    with transaction.atomic():
        _lock_chain_head()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        if head:
            seq, prev_hash = head[0] + 1, head[1]
        else:  # an empty chain: the genesis, or where the last purge left it (its checkpoint)
            start = (
                ChainCheckpoint.objects.order_by("-first_seq").values_list("first_seq", "prev_hash").first()
            )
            seq, prev_hash = start if start else (1, GENESIS_HASH)
        event = AuditEvent(
            seq=seq,
            occurred_at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_username=actor.get_username() if actor is not None else "",
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            target_repr=target_repr[:255],
            # Round-trip through JSON so what is stored is exactly what was hashed.
            data=json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder)),
            escalation_id=scope.escalation_id,
            team_id=scope.team_id,
            confined_to=scope.confined_to,
            prev_hash=prev_hash,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
    return event


def _lock_chain_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


@dataclass(frozen=True)
class ChainReport:
    checked: int
    ok: bool
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} events verified"
        return (
            f"audit chain broken at seq {self.broken_seq} (row id {self.broken_id}): "
            f"{self.reason}; {self.checked} events verified before it"
        )


def verify_chain(*, chunk_size: int = 2000, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk the chain in order and report the first row that does not verify. ``progress``
    is told how many rows were checked every ``chunk_size`` rows."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    # After a retention purge the chain starts at the newest checkpoint (apps.audit.retention).
    checkpoint = ChainCheckpoint.objects.order_by("-first_seq").first()
    if checkpoint is not None:
        if checkpoint.hash != checkpoint.compute_hash():
            problem = "the purge checkpoint the chain starts from does not verify (forged or altered)"
            return ChainReport(0, False, checkpoint.first_seq, None, problem)
        expected_seq, prev_hash = checkpoint.first_seq, checkpoint.prev_hash
    # Every row, from the lowest: one below the checkpoint's start was put there after the purge.
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        problem = _check(event, expected_seq, prev_hash)
        if problem:
            return ChainReport(checked, False, event.seq, event.pk, problem)
        expected_seq, prev_hash, checked = event.seq + 1, event.hash, checked + 1
        if progress is not None and checked % chunk_size == 0:
            progress(checked)
    return ChainReport(checked, True)


def _check(event: AuditEvent, expected_seq: int, prev_hash: str) -> str:
    if event.seq < expected_seq:
        return f"sequence went back to {event.seq} after {expected_seq - 1} (row inserted)"
    if event.seq > expected_seq:
        return f"events {expected_seq}..{event.seq - 1} are missing (row removed)"
    if event.prev_hash != prev_hash:
        return "prev_hash does not match the previous row (row inserted, removed or reordered)"
    if event.hash != event.compute_hash():
        return "hash does not match the row's contents (row altered)"
    return ""
