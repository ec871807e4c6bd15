"""Every change to policies, levels, thresholds and calendars: validated as a whole, saved in
one transaction with a required change reason, history-tracked and audited.

A policy is validated as a unit because its rules span rows: authority must strictly climb
the level chain, every level must reach someone, and the threshold matrix must cover every
severity x customer tier. Anything wrong raises ``ValidationError`` naming the field and the
rule, and nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import record
from apps.common.errors import Conflict
from apps.common.forms import error_dict
from apps.contacts.models import Person, Rotation, Team
from apps.policies.calendar import MAX_BUSINESS_DURATION
from apps.policies.models import (
    BusinessCalendar,
    CalendarChange,
    CustomerTier,
    EscalationLevel,
    EscalationPolicy,
    ResponseThreshold,
    Severity,
)
from apps.policies.selectors import level_target_problems, policy_version
from apps.timers.services import deadline_schedule, deadlines_cancel_for

REVIEW_DUE = "policies.review_due"
CALENDAR_CHANGE_DUE = "policies.calendar_change_due"
STALE_POLICY = (
    "Someone else saved this policy after you opened it. Open it again to see their change, then make yours."
)


@dataclass
class LevelSpec:
    order: int
    name: str
    target_kind: str
    authority_rank: int
    target_person: Person | None = None
    target_team: Team | None = None
    target_rotation: Rotation | None = None
    requires_approval: bool = False
    approval_timeout: timedelta = timedelta(hours=4)
    trigger_roles: list[str] = field(default_factory=list)


@dataclass
class ThresholdSpec:
    severity: str
    customer_tier: str
    acknowledge_within: timedelta
    resolve_within: timedelta
    business_hours_only: bool = False


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError(
            {"change_reason": "Say why this changes (at least 5 characters): it is kept in the history."}
        )
    return reason


def validate_levels(levels: list[LevelSpec]) -> None:
    """The chain climbs: orders 1..n, authority strictly increasing, every target reachable."""
    if not levels:
        raise ValidationError({"levels": "A policy needs at least one level."})
    ordered = sorted(levels, key=lambda lvl: lvl.order)
    if [lvl.order for lvl in ordered] != list(range(1, len(ordered) + 1)):
        raise ValidationError({"levels": "Levels must be numbered 1, 2, 3… without gaps or repeats."})
    errors = []
    for lower, higher in zip(ordered, ordered[1:], strict=False):
        if higher.authority_rank <= lower.authority_rank:
            errors.append(
                f"Level {higher.order} ({higher.name}): authority {higher.authority_rank} must be higher than "
                f"level {lower.order}'s {lower.authority_rank} — authority must increase up the chain."
            )
    now = timezone.now()
    for spec in ordered:
        level = EscalationLevel(**{k: v for k, v in spec.__dict__.items()})
        try:
            level.clean()
        except ValidationError as exc:
            errors.extend(f"Level {spec.order} ({spec.name}): {m}" for m in exc.messages)
            continue
        problems = level_target_problems(level, now)
        if problems:
            errors.append(
                f"Level {spec.order} ({spec.name}): no reachable target — "
                + "; ".join(str(p) for p in problems)
            )
    if errors:
        raise ValidationError({"levels": errors})


def validate_thresholds(thresholds: list[ThresholdSpec]) -> None:
    """Every severity x tier cell present exactly once, resolve no sooner than acknowledge."""
    cells = [(t.severity, t.customer_tier) for t in thresholds]
    errors = []
    if len(set(cells)) != len(cells):
        errors.append("A severity and customer tier pair appears twice.")
    for severity in Severity:
        missing = [tier.label for tier in CustomerTier if (severity.value, tier.value) not in cells]
        if missing:
            errors.append(f"{severity.label}: thresholds missing for {', '.join(missing)} customers.")
    for t in thresholds:
        if t.acknowledge_within <= timedelta(0):
            errors.append(f"{t.severity}/{t.customer_tier}: acknowledge time must be positive.")
        if t.resolve_within < t.acknowledge_within:
            errors.append(
                f"{t.severity}/{t.customer_tier}: resolve time cannot be shorter than acknowledge time."
            )
        if max(t.acknowledge_within, t.resolve_within) > MAX_BUSINESS_DURATION:
            hours = int(MAX_BUSINESS_DURATION.total_seconds() // 3600)
            errors.append(
                f"{t.severity}/{t.customer_tier}: a time can be at most {hours:,} hours (365 days)."
            )
    if errors:
        raise ValidationError({"thresholds": errors})


def policy_problems(
    *,
    policy: EscalationPolicy | None,
    levels: list[LevelSpec] | None,
    thresholds: list[ThresholdSpec] | None,
) -> dict[str, list[str]]:
    """Every refusal ``policy_save`` would make of the parts given, by field, without saving:
    the policy page lists every problem at once. A part given as None (it did not parse) is
    not checked; its form shows why."""
    checks = []
    if levels is not None:
        checks.append(lambda: validate_levels(levels))
    if thresholds is not None:
        checks.append(lambda: validate_thresholds(thresholds))
    if policy is not None:
        checks.append(policy.full_clean)
    problems: dict[str, list[str]] = {}
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for key, messages in error_dict(exc).items():
                problems.setdefault(key, []).extend(messages)
    return problems


@transaction.atomic
def policy_save(
    *,
    policy: EscalationPolicy,
    levels: list[LevelSpec],
    thresholds: list[ThresholdSpec],
    services=None,
    actor,
    reason: str,
    seen_version: str | None = None,
) -> EscalationPolicy:
    """Create or replace a policy with its whole level chain and threshold matrix.

    ``seen_version`` is the policy's version (``selectors.policy_version``) when the editor
    opened it; when given for an existing policy, a save by someone else since is refused."""
    if seen_version is not None and policy.pk is not None:
        _require_current(policy, seen_version)
    reason = _require_reason(reason)
    policy.full_clean()
    validate_levels(levels)
    validate_thresholds(thresholds)
    created = policy.pk is None
    before = _snapshot(policy) if not created else None
    policy._history_user, policy._change_reason = actor, reason
    policy.save()
    if services is not None:
        policy.services.set(services)
    _replace_levels(policy, levels, actor, reason)
    _replace_thresholds(policy, thresholds, actor, reason)
    _schedule_review(policy)
    record(
        action="policies.policy_created" if created else "policies.policy_changed",
        actor=actor,
        target=policy,
        data={"reason": reason, "before": before, "after": _snapshot(policy)},
    )
    return policy


def _require_current(policy: EscalationPolicy, seen_version: str) -> None:
    # Lock, then compare versions: two admins saving at once are serialised, and the
    # second is told instead of silently overwriting the first.
    EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    if seen_version != policy_version(policy):
        raise ValidationError(STALE_POLICY)


def _replace_levels(policy: EscalationPolicy, levels: list[LevelSpec], actor, reason: str) -> None:
    existing = {lvl.order: lvl for lvl in policy.levels.all()}
    for spec in sorted(levels, key=lambda s: s.order):
        level = existing.pop(spec.order, None) or EscalationLevel(policy=policy, order=spec.order)
        for key, value in spec.__dict__.items():
            setattr(level, key, value)
        level.clean()
        level._history_user, level._change_reason = actor, reason
        level.save()
    for stale in existing.values():
        stale._history_user, stale._change_reason = actor, reason
        stale.delete()


def _replace_thresholds(
    policy: EscalationPolicy, thresholds: list[ThresholdSpec], actor, reason: str
) -> None:
    existing = {(t.severity, t.customer_tier): t for t in policy.thresholds.all()}
    for spec in thresholds:
        row = existing.pop((spec.severity, spec.customer_tier), None) or ResponseThreshold(policy=policy)
        for key, value in spec.__dict__.items():
            setattr(row, key, value)
        row._history_user, row._change_reason = actor, reason
        row.save()
    for stale in existing.values():
        stale._history_user, stale._change_reason = actor, reason
        stale.delete()


def _snapshot(policy: EscalationPolicy) -> dict:
    return {
        "name": policy.name,
        "category": policy.category,
        "active": policy.active,
        "next_review_on": policy.next_review_on,
        "levels": [
            [lvl.order, lvl.name, lvl.target_kind, lvl.authority_rank, lvl.requires_approval]
            for lvl in policy.levels.order_by("order")
        ],
        "thresholds": {
            f"{t.severity}/{t.customer_tier}": [
                str(t.acknowledge_within),
                str(t.resolve_within),
                t.business_hours_only,
            ]
            for t in policy.thresholds.all()
        },
    }


def _schedule_review(policy: EscalationPolicy) -> None:
    """One pending review clock per policy, at 09:00 UTC on the review date."""
    deadlines_cancel_for(subject=policy, kind=REVIEW_DUE)
    if policy.active:
        due = datetime.combine(policy.next_review_on, time(9, 0), tzinfo=UTC)
        deadline_schedule(kind=REVIEW_DUE, subject=policy, due_at=due)


@transaction.atomic
def policy_mark_reviewed(*, policy: EscalationPolicy, actor, notes: str) -> EscalationPolicy:
    """Record a review: the next one falls ``review_interval_days`` from today."""
    notes = _require_reason(notes)
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    previous = policy.next_review_on
    policy.next_review_on = date.today() + timedelta(days=policy.review_interval_days)
    policy._history_user, policy._change_reason = actor, f"Reviewed: {notes}"
    policy.save(update_fields=["next_review_on"])
    _schedule_review(policy)
    record(
        action="policies.policy_reviewed",
        actor=actor,
        target=policy,
        data={"notes": notes, "was_due": previous, "next_review_on": policy.next_review_on},
    )
    return policy


@transaction.atomic
def calendar_save(
    *, calendar: BusinessCalendar, closures: list[tuple[date, str]] | None = None, actor, reason: str
) -> BusinessCalendar:
    reason = _require_reason(reason)
    calendar.full_clean()
    created = calendar.pk is None
    calendar._history_user, calendar._change_reason = actor, reason
    calendar.save()
    if closures is not None:
        _replace_closures(calendar, closures, actor, reason)
    record(
        action="policies.calendar_created" if created else "policies.calendar_changed",
        actor=actor,
        target=calendar,
        data={"reason": reason, "weekly_hours": calendar.weekly_hours, "always_open": calendar.always_open},
    )
    return calendar


def _replace_closures(
    calendar: BusinessCalendar, closures: list[tuple[date, str]], actor, reason: str
) -> None:
    # Row by row, not bulk: simple-history records only what goes through save() and delete().
    wanted = dict(closures)
    for closure in calendar.closures.all():
        closure._history_user, closure._change_reason = actor, reason
        if closure.date not in wanted:
            closure.delete()
        elif closure.reason != wanted[closure.date]:
            closure.reason = wanted.pop(closure.date)
            closure.save()
        else:
            wanted.pop(closure.date)
    for day, why in sorted(wanted.items()):
        closure = calendar.closures.model(calendar=calendar, date=day, reason=why)
        closure._history_user, closure._change_reason = actor, reason
        closure.save()


# --- calendar changes that take effect later ------------------------------------------------


@transaction.atomic
def calendar_change_schedule(
    *,
    calendar: BusinessCalendar,
    target: BusinessCalendar,
    closures: list[tuple[date, str]],
    effective_at: datetime,
    actor,
    reason: str,
) -> CalendarChange:
    """Keep ``target`` (the calendar as it will be) and its ``closures`` to apply at
    ``effective_at``, a moment in the future; until then clocks run on the calendar as it is.
    Refused, changing nothing, when the new values are not a valid calendar."""
    reason = _require_reason(reason)
    if effective_at <= timezone.now():
        raise ValidationError(
            {"effective_at": "Choose a moment in the future, or leave it empty for the change to apply now."}
        )
    target.pk, target._state.adding = calendar.pk, False  # the same calendar: its own name is no clash
    target.full_clean()
    change = CalendarChange(
        calendar=calendar,
        effective_at=effective_at,
        values={name: getattr(target, name) for name in CalendarChange.FIELDS},
        closures=[[day.isoformat(), why] for day, why in sorted(closures)],
        reason=reason,
        requested_by=actor,
        requested_by_name=actor.get_full_name() or actor.get_username() if actor else "",
    )
    change._history_user, change._change_reason = actor, reason
    change.save()
    deadline_schedule(kind=CALENDAR_CHANGE_DUE, subject=change, due_at=effective_at)
    record(
        action="policies.calendar_change_scheduled",
        actor=actor,
        target=calendar,
        data={"reason": reason, "effective_at": effective_at, "change": change.pk, **change.values},
    )
    return change


@transaction.atomic
def calendar_change_apply(*, change: CalendarChange) -> CalendarChange:
    """The clock of a scheduled change ran out: the calendar takes its new values, recorded in its
    history under the name of whoever scheduled it. A change cancelled (or applied) since is left
    alone; one no longer valid (another change made its name taken) is set aside, and why."""
    change = CalendarChange.objects.select_for_update().select_related("calendar").get(pk=change.pk)
    if not change.is_pending:
        return change
    calendar = BusinessCalendar.objects.get(pk=change.calendar_id)
    for name, value in change.values.items():
        setattr(calendar, name, value)
    closures = [(date.fromisoformat(day), why) for day, why in change.closures]
    reason = f"{change.reason} (scheduled by {change.requested_by_name or 'escalportal'} to take effect now)"
    try:
        with transaction.atomic():
            calendar_save(calendar=calendar, closures=closures, actor=change.requested_by, reason=reason)
    except ValidationError as exc:
        change.status, change.settled_note = CalendarChange.Status.CANCELLED, "; ".join(exc.messages)[:500]
        outcome = "policies.calendar_change_failed"
    else:
        change.status = CalendarChange.Status.APPLIED
        outcome = "policies.calendar_change_applied"
    change.settled_at = timezone.now()
    change._change_reason = change.settled_note or "Took effect"
    change.save()
    record(action=outcome, target=change.calendar, data={"change": change.pk, "note": change.settled_note})
    return change


@transaction.atomic
def calendar_change_cancel(*, change: CalendarChange, actor, reason: str) -> CalendarChange:
    """A scheduled change that has not taken effect is withdrawn; its clock is cancelled."""
    reason = _require_reason(reason)
    change = CalendarChange.objects.select_for_update().get(pk=change.pk)
    if not change.is_pending:
        raise Conflict(f"This change is already {change.get_status_display().lower()}: nothing was changed.")
    change.status, change.settled_at, change.settled_note = (
        CalendarChange.Status.CANCELLED,
        timezone.now(),
        reason,
    )
    change._history_user, change._change_reason = actor, reason
    change.save()
    deadlines_cancel_for(subject=change, kind=CALENDAR_CHANGE_DUE)
    record(
        action="policies.calendar_change_cancelled",
        actor=actor,
        target=change.calendar,
        data={"change": change.pk, "reason": reason, "effective_at": change.effective_at},
    )
    return change
