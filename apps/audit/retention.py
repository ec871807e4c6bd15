"""Retention: each record type kept exactly as long as its rule says, legal holds, the purge.

The audit app knows no domain model: each app registers its record types
(``register_record_type``) with the legal minimum and default period, how to find records
whose period ran out (``expired(cutoff)``), which holds keep one (``hold_keys``: the record
itself and the escalation it belongs to) and how to remove one with its history rows
(``purge``). Protection cases join the same way when their app lands.

The purge never leaves a gap in the audit chain. Each run appends one tombstone event
(``audit.records_purged``) with the counts and a SHA-256 of what it removed, so the chain
verifies across the purge and anyone holding a copy of a removed record can prove it was the
one removed. Audit events themselves (kept at least ten years: they are the proof of
everything else) go only from the oldest end of the chain, up to the first event that is
still within its period or belongs to a held escalation; a ``ChainCheckpoint`` sealed with the
chain's key says where the chain now starts (apps.audit.models).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from apps.audit.models import LegalHold, RetentionRule
from apps.audit.services import record

ESCALATION = "escalation"  # a hold on a whole escalation names it by this type
MIN_REASON = 5
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class RecordType:
    key: str
    label: str
    default_years: int
    minimum_years: int
    basis: str  # "after closure"
    expired: Callable[[datetime], QuerySet]
    purge: Callable[[Model], dict[str, int]]  # removes the record and its history; counts by kind
    hold_keys: Callable[[Model], list[tuple[str, str]]] = lambda obj: []
    describe: Callable[[Model], str] = str
    snapshot: Callable[[Model], Iterable[Model]] = lambda obj: [obj]  # what the removal hash covers


_types: dict[str, RecordType] = {}


def register_record_type(record_type: RecordType) -> None:
    _types[record_type.key] = record_type


# Audit events: kept at least ten years. Not removed one by one like other records: the purge
# removes the oldest stretch of the chain and leaves a checkpoint (``_audit_events_due``).
AUDIT_EVENTS = RecordType(
    key="audit_events",
    label="Audit events",
    default_years=10,
    minimum_years=10,
    basis="after the event",
    expired=lambda cutoff: LegalHold.objects.none(),
    purge=lambda obj: {},
)
register_record_type(AUDIT_EVENTS)


Finder = Callable[[str], "tuple[str, str] | None"]  # what a person typed -> (id, name) or None
_finders: dict[str, Finder] = {}


def register_finder(kind: str, finder: Finder) -> None:
    """How a hold's record is found from what a person types (a reference, a number)."""
    _finders[kind] = finder


def find_record(kind: str, text: str) -> tuple[str, str] | None:
    finder = _finders.get(kind)
    if finder is None:
        text = text.strip()
        return (text, f"#{text}") if text.isdigit() and len(text) < 19 else None
    return finder(text.strip())


def record_types() -> list[RecordType]:
    return sorted(_types.values(), key=lambda t: t.label.lower())


def record_type(key: str) -> RecordType | None:
    return _types.get(key)


def years_for(rt: RecordType) -> int:
    rule = RetentionRule.objects.filter(record_type=rt.key).first()
    return rule.years if rule else rt.default_years


def rules() -> list[dict]:
    saved = {r.record_type: r for r in RetentionRule.objects.all()}
    return [
        {
            "type": rt,
            "years": saved[rt.key].years if rt.key in saved else rt.default_years,
            "rule": saved.get(rt.key),
        }
        for rt in record_types()
    ]


# --- rules ------------------------------------------------------------------------------------


def retention_rule_set(*, record_type_key: str, years: int, actor, reason: str) -> RetentionRule:
    rt = record_type(record_type_key)
    if rt is None:
        raise ValidationError({"record_type": "The portal keeps no such type of record."})
    if years < rt.minimum_years:
        raise ValidationError(
            {"years": f"{rt.label} must be kept at least {rt.minimum_years} years (the legal minimum)."}
        )
    if years > 100:
        raise ValidationError({"years": "Keep records at most 100 years."})
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": "Say why the period changes (at least 5 characters)."})
    with transaction.atomic():
        rule = RetentionRule.objects.select_for_update().filter(record_type=rt.key).first()
        before = rule.years if rule else rt.default_years
        rule = rule or RetentionRule(record_type=rt.key)
        rule.years, rule.updated_at = years, timezone.now()
        rule._history_user, rule._change_reason = actor, reason
        rule.save()
        record(
            action="audit.retention_rule_changed",
            actor=actor,
            target=rule,
            target_repr=rt.label,
            data={"record_type": rt.key, "before": before, "after": years, "reason": reason},
        )
    return rule


# --- legal holds ------------------------------------------------------------------------------


def legal_hold_place(
    *, target_type: str, target_id: str, target_repr: str = "", actor, reason: str
) -> LegalHold:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": "Say why the record is held (at least 5 characters)."})
    if target_type != ESCALATION and target_type not in _types:
        raise ValidationError({"target_type": "The portal keeps no such type of record."})
    with transaction.atomic():
        hold = LegalHold(
            target_type=target_type,
            target_id=str(target_id),
            target_repr=target_repr[:255],
            reason=reason,
            placed_at=timezone.now(),
            placed_by_username=actor.get_username() if actor else "",
        )
        hold._history_user, hold._change_reason = actor, reason
        hold.save()
        record(
            action="audit.legal_hold_placed",
            actor=actor,
            target=hold,
            data={"on": target_type, "id": str(target_id), "record": target_repr, "reason": reason},
        )
    return hold


def legal_hold_release(*, hold: LegalHold, actor, reason: str) -> LegalHold:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": "Say why the hold ends (at least 5 characters)."})
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if not hold.active:
            raise ValidationError({"reason": "This hold was already released."})
        hold.released_at, hold.release_reason = timezone.now(), reason
        hold.released_by_username = actor.get_username() if actor else ""
        hold._history_user, hold._change_reason = actor, reason
        hold.save()
        record(
            action="audit.legal_hold_released",
            actor=actor,
            target=hold,
            data={"on": hold.target_type, "id": hold.target_id, "record": hold.target_repr, "reason": reason},
        )
    return hold


def active_holds() -> set[tuple[str, str]]:
    return set(LegalHold.objects.filter(released_at__isnull=True).values_list("target_type", "target_id"))


def is_held(rt: RecordType, obj: Model, holds: set[tuple[str, str]] | None = None) -> bool:
    holds = active_holds() if holds is None else holds
    keys = [(rt.key, str(obj.pk)), *rt.hold_keys(obj)]
    return any(key in holds for key in keys)


class Held(Exception):
    """A purge asked for a record under a legal hold."""


# --- the purge --------------------------------------------------------------------------------


@dataclass
class PurgePlan:
    now: datetime
    due: list[tuple[RecordType, Model]] = field(default_factory=list)
    held: list[tuple[RecordType, Model]] = field(default_factory=list)
    audit_events: int = 0  # the oldest events past their period, removed as one stretch
    audit_events_kept_from: int | None = None  # the first event the chain would start at


def purge_plan(now: datetime | None = None) -> PurgePlan:
    """What the next purge would remove, and what it would keep because of a hold."""
    now = now or timezone.now()
    plan, holds = PurgePlan(now), active_holds()
    for rt in record_types():
        cutoff = now - timedelta(days=years_for(rt) * DAYS_PER_YEAR)
        for obj in rt.expired(cutoff):
            (plan.held if is_held(rt, obj, holds) else plan.due).append((rt, obj))
    cutoff = now - timedelta(days=years_for(AUDIT_EVENTS) * DAYS_PER_YEAR)
    plan.audit_events, plan.audit_events_kept_from = _audit_events_due(cutoff, holds)
    return plan


def _audit_events_due(cutoff: datetime, holds: set[tuple[str, str]]) -> tuple[int, int | None]:
    """How many of the oldest events the purge would remove, and the first it would keep: the
    stretch before the first event still within its period, held itself, or about a held
    escalation. (0, None) when nothing is due."""
    from apps.audit.models import AuditEvent, ChainCheckpoint

    start = ChainCheckpoint.objects.order_by("-first_seq").values_list("first_seq", flat=True).first() or 1
    kept = AuditEvent.objects.filter(seq__gte=start).order_by("seq").values_list("seq", flat=True)
    stops = [kept.filter(occurred_at__gte=cutoff).first()]
    held_escalations = [
        int(i) for kind, i in holds if kind in (ESCALATION, "escalations") and i.isdigit() and len(i) < 19
    ]
    if held_escalations:
        stops.append(kept.filter(escalation_id__in=held_escalations).first())
    held_events = [int(i) for kind, i in holds if kind == AUDIT_EVENTS.key and i.isdigit() and len(i) < 19]
    if held_events:
        stops.append(kept.filter(pk__in=held_events).first())
    found = [seq for seq in stops if seq is not None]
    if found:
        stop = min(found)
    else:  # every remaining event is past its period: all go, the tombstone starts the chain again
        head = kept.order_by("-seq").first()
        stop = (head + 1) if head is not None else start
    return (stop - start, stop) if stop > start else (0, None)


def _purge_audit_events(cutoff: datetime, holds: set[tuple[str, str]], now: datetime) -> dict:
    """Remove the oldest stretch of the chain past its period, behind a sealed checkpoint written
    first (the PostgreSQL trigger lets a DELETE through only below the newest checkpoint)."""
    from apps.audit.models import AuditEvent, ChainCheckpoint

    count, stop = _audit_events_due(cutoff, holds)
    if not count:
        return {}
    stretch = AuditEvent.objects.filter(seq__lt=stop).order_by("seq")
    digest = hashlib.sha256()
    for event_hash in stretch.values_list("hash", flat=True).iterator(chunk_size=5000):
        digest.update(event_hash.encode())
    checkpoint = ChainCheckpoint(
        first_seq=stop,
        prev_hash=stretch.order_by("-seq").values_list("hash", flat=True).first(),
        removed_events=count,
        removed_sha256=digest.hexdigest(),
        created_at=now,
    )
    checkpoint.hash = checkpoint.compute_hash()
    checkpoint.save()
    stretch.delete()  # one DELETE: nothing refers to an audit event
    return {
        "audit_events": count,
        "audit_chain_starts_at": stop,
        "audit_events_sha256": checkpoint.removed_sha256,
    }


def removal_hash(rt: RecordType, obj: Model) -> str:
    """SHA-256 of the record and everything removed with it, serialised canonically."""
    rows = json.loads(serializers.serialize("json", list(rt.snapshot(obj))))
    body = json.dumps(
        sorted(rows, key=lambda r: (r["model"], str(r["pk"]))), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record_purge(*, rt: RecordType, obj: Model) -> tuple[str, dict[str, int]]:
    """Remove one expired record with its history. Refused (``Held``) when a hold covers it."""
    if is_held(rt, obj):
        raise Held(f"{rt.describe(obj)} is under a legal hold and cannot be purged.")
    digest = removal_hash(rt, obj)
    return digest, rt.purge(obj)


def purge_expired(*, now: datetime | None = None, actor=None) -> dict:
    """The daily purge: every expired record not held, removed with its history rows, in one
    transaction with the tombstone event that counts them."""
    with transaction.atomic():
        plan = purge_plan(now)
        counts: dict[str, int] = {}
        removed = []
        for rt, obj in plan.due:
            digest, removed_counts = record_purge(rt=rt, obj=obj)
            removed.append({"type": rt.key, "id": str(obj.pk), "sha256": digest})
            for kind, n in removed_counts.items():
                counts[kind] = counts.get(kind, 0) + n
        summary = hashlib.sha256("".join(r["sha256"] for r in removed).encode()).hexdigest()
        data = {
            "records": len(removed),
            "held": len(plan.held),
            "counts": counts,
            "removed": removed,
            "sha256": summary,
        }
        cutoff = plan.now - timedelta(days=years_for(AUDIT_EVENTS) * DAYS_PER_YEAR)
        data.update(_purge_audit_events(cutoff, active_holds(), plan.now))
        record(action="audit.records_purged", actor=actor, data=data)
    return data
