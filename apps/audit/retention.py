"""Retention: each record type kept exactly as long as its rule says, legal holds, the purge.

The audit app knows no domain model: each app registers its record types
(``register_record_type``) with the legal minimum and default period, how to find records
whose period ran out (``expired(cutoff)``), which holds keep one (``hold_keys``: the record
itself and the escalation it belongs to) and how to remove one with its history rows
(``purge``). Protection cases join the same way when their app lands.

The purge never leaves a gap in the audit chain: audit events are not purged here (their
rule is at least ten years and they are the proof of everything else); each run appends one
tombstone event (``audit.records_purged``) with the counts and a SHA-256 of what it removed,
so the chain verifies across the purge and anyone holding a copy of a removed record can
prove it was the one removed.
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


# Audit events: kept at least ten years; listed so their rule is visible and editable, never
# purged by the daily job (see the module docstring).
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


def purge_plan(now: datetime | None = None) -> PurgePlan:
    """What the next purge would remove, and what it would keep because of a hold."""
    now = now or timezone.now()
    plan, holds = PurgePlan(now), active_holds()
    for rt in record_types():
        cutoff = now - timedelta(days=years_for(rt) * DAYS_PER_YEAR)
        for obj in rt.expired(cutoff):
            (plan.held if is_held(rt, obj, holds) else plan.due).append((rt, obj))
    return plan


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
        record(action="audit.records_purged", actor=actor, data=data)
    return data
