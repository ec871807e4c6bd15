"""The verbs of the lifecycle: raise; the owner's acknowledge, hand off, escalate, de-escalate
and resolve; the raiser's close, reopen and withdraw."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Cap
from apps.common.errors import Conflict
from apps.contacts.models import Person
from apps.contacts.selectors import person_of
from apps.escalations import chain as ch
from apps.escalations.gate import approval_gate
from apps.escalations.models import (
    ACTIVE,
    Criticality,
    Escalation,
    HandOff,
    ReferenceCounter,
    Status,
    TimelineEvent,
)
from apps.escalations.selectors import may_trigger
from apps.escalations.services.common import (
    ACK_DUE,
    ALL_CLOCKS,
    AUTO_CLOSE,
    MIN_REASON,
    MIN_SUMMARY,
    REQUIRED_TEXT,
    RESOLVE_DUE,
    UPDATE_DUE,
    add_responder,
    audit,
    commit,
    deferral_note,
    grant_participant,
    lock,
    notify_people,
    refresh_next_due,
    require_engaged,
    require_owner_or_engaged,
    require_participant,
    require_raiser,
    require_responder,
    require_status,
    required_text,
    schedule_clock,
    timeline_event,
)
from apps.escalations.services.routing import (
    engage,
    enter_level,
)
from apps.policies.models import Category, CustomerTier, Service, Severity
from apps.policies.selectors import policy_contacts, policy_for
from apps.protection.services import watch_window_open
from apps.timers.services import deadlines_cancel_for

Kind = TimelineEvent.Kind


# --- raise ----------------------------------------------------------------------------------------


def _next_reference(year: int) -> str:
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"ESC-{year}-{counter.last:05d}"


def _policy_contacts_text() -> str:
    names = [p.full_name for p in policy_contacts()]
    return " or ".join(names) if names else "a governance admin"


def raise_errors(
    *,
    service: Service | None,
    category: str,
    severity: str,
    customer_tier: str,
    fields: dict,
    extra: dict,
    policy=None,
) -> dict[str, list[str]]:
    """Every problem with a raise at once, keyed by field (the form shows them all together)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if category not in Category.values:
        add("category", "Choose the kind of risk.")
    elif service is None and policy is None:
        add(
            "service",
            "Choose the service at risk: this kind of risk has no policy for concerns about no particular service.",
        )
    if severity not in Severity.values:
        add("severity", f"Choose a severity ({', '.join(Severity.values)}).")
    if customer_tier not in CustomerTier.values:
        add("customer_tier", f"Choose a customer tier ({', '.join(CustomerTier.values)}).")
    if fields.get("criticality") not in Criticality.values:
        add("criticality", "Say how critical the affected workload is.")
    for name, label in REQUIRED_TEXT.items():
        if not str(fields.get(name) or "").strip():
            add(name, f"{label} is required: every escalation says it.")
    if not fields.get("impact_expected_at"):
        add("impact_expected_at", "Say when the impact is expected (or when it began).")
    detected = fields.get("detected_at")
    if detected and detected > timezone.now() + timedelta(minutes=5):
        add("detected_at", "Detection cannot be in the future.")
    if service is not None and policy is None:
        add(
            "category",
            f"No active escalation policy covers {service.name} for this kind of risk. Choose another "
            f"kind, or ask {_policy_contacts_text()} to add one.",
        )
    for spec in (policy.extra_required_fields if policy else []) or []:
        if not str(extra.get(spec["name"]) or "").strip():
            add(
                f"extra_{spec['name']}",
                f"{spec.get('label') or spec['name']} is required by the policy “{policy.name}”.",
            )
    return errors


@transaction.atomic
def escalation_raise(
    *,
    actor,
    service: Service | None,
    category: str,
    severity: str,
    customer_tier: str | None = None,
    fields: dict,
    extra: dict | None = None,
    confidential: bool = False,
) -> Escalation:
    """Raise an escalation under the policy covering the service and category: freeze that
    policy's version, route to level 1 (skipping levels nobody can reach now), start the
    acknowledge, resolve and stakeholder-update clocks."""
    if not actor.has_perm(Cap.RAISE_ESCALATION.perm):
        raise PermissionDenied("Your role does not allow raising escalations.")
    extra = {k: str(v).strip() for k, v in (extra or {}).items()}
    # A concern about no particular service (people, conduct) counts as standard customers.
    customer_tier = customer_tier or (service.customer_tier if service else CustomerTier.STANDARD)
    policy = policy_for(service, category) if category else None
    errors = raise_errors(
        service=service,
        category=category,
        severity=severity,
        customer_tier=customer_tier,
        fields=fields,
        extra=extra,
        policy=policy,
    )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    version, frozen = ch.freeze_chain(policy, severity=severity, customer_tier=customer_tier)
    wanted = {spec["name"] for spec in frozen.extra_fields}
    esc = Escalation(
        reference=_next_reference(now.year),
        service=service,
        category=category,
        severity=severity,
        customer_tier=customer_tier,
        confidential=confidential,
        raiser=actor,
        raiser_person=person_of(actor),
        policy=policy,
        policy_version=version,
        chain=frozen.to_json(),
        raised_at=now,
        version=0,  # commit makes it 1
        extra_fields={k: v for k, v in extra.items() if k in wanted},
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    esc.skip_history_when_saving = True  # one history row for the whole raise, written by commit
    esc.save()
    del esc.skip_history_when_saving
    grant_participant(esc, actor)
    # Whoever raises a concern is protected from retaliation for it (issue 10): a watch window.
    watch_window_open(
        user=actor,
        act="raised an escalation",
        escalation_id=esc.pk,
        escalation_ref=esc.reference,
        months=policy.watch_window_months,
    )
    timeline_event(
        esc,
        Kind.RAISED,
        actor,
        f"Raised by {actor.get_full_name() or actor.get_username()} under “{policy.name}” "
        f"(policy version {frozen.policy.version}); {esc.get_severity_display()}, {esc.get_customer_tier_display()} customers.",
        level=1,
        policy_version=version,
    )
    enter_level(esc, order=1, actor=actor, now=now, cause="raised")
    resolve = ch.clock_due(chain=frozen, service=service, start=now, duration=frozen.threshold.resolve_within)
    esc.resolve_due_at = resolve.at
    schedule_clock(esc, RESOLVE_DUE, resolve.at)
    deferral_note(esc, resolve, "resolve")
    esc.last_update_at = now
    schedule_clock(esc, UPDATE_DUE, now + ch.update_cadence(severity))
    refresh_next_due(esc)
    audit(
        esc,
        "raised",
        actor,
        policy=policy.slug,
        policy_version=version,
        severity=severity,
        service=service.slug if service else None,
        confidential=confidential,
    )
    commit(esc, actor, "Raised")
    return esc


# --- the verbs of the people working on it ------------------------------------------------------


@transaction.atomic
def escalation_acknowledge(
    *, escalation: Escalation, actor, expected_version: int | None = None
) -> Escalation:
    """The person the level reached says they have it: their acknowledge clock stops."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.OPEN}, "acknowledged")
    require_engaged(esc, actor, "acknowledge")
    now = timezone.now()
    esc.status, esc.ack_misses = Status.ACKNOWLEDGED, 0
    esc.acknowledged_at = esc.acknowledged_at or now
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    refresh_next_due(esc)
    event = timeline_event(
        esc,
        Kind.ACKNOWLEDGED,
        actor,
        f"Acknowledged by {esc.engaged.full_name} at level {esc.current_level}.",
    )
    notify_people(esc, event, [esc.raiser_person], "escalation_acknowledged")
    audit(esc, "acknowledged", actor, engaged=esc.engaged.full_name)
    commit(esc, actor, "Acknowledged")
    return esc


@transaction.atomic
def escalation_take_ownership(
    *, escalation: Escalation, actor, expected_version: int | None = None
) -> Escalation:
    """The person the level reached works it from now on; whoever owned it stays on as a
    responder. Taking it is acknowledging it too."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "taken over")
    require_engaged(esc, actor, "take over")
    if esc.owner_id == esc.engaged_id:
        raise Conflict(f"You already own {esc.reference}.")
    previous = esc.owner
    esc.owner = esc.engaged
    add_responder(esc, esc.engaged)
    if esc.status == Status.OPEN:
        esc.status, esc.ack_misses = Status.ACKNOWLEDGED, 0
        esc.acknowledged_at = esc.acknowledged_at or timezone.now()
        deadlines_cancel_for(subject=esc, kind=ACK_DUE)
        esc.ack_due_at = None
        refresh_next_due(esc)
    stays = f"; {previous.full_name} stays on as a responder" if previous else ""
    event = timeline_event(esc, Kind.HANDED_OFF, actor, f"{esc.owner.full_name} took ownership{stays}.")
    notify_people(esc, event, [previous], "escalation_handed_off", summary="", previous=previous, due_at=None)
    audit(esc, "ownership_taken", actor, **{"from": previous.full_name if previous else None})
    commit(esc, actor, "Ownership taken")
    return esc


@transaction.atomic
def escalation_hand_off(
    *,
    escalation: Escalation,
    actor,
    to_person: Person | None,
    context_summary: str,
    expected_version: int | None = None,
) -> Escalation:
    """Name a new owner (the owner passing it on, or the person the level reached delegating it),
    with the context. Whoever owned it stays on as a responder. When the owner was also the
    person the level reached (level 1), the new owner is reached at that level and acknowledges
    afresh."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "handed off")
    require_owner_or_engaged(esc, actor, "hand off")
    summary = required_text(
        context_summary, "context_summary", "A context summary for the next owner", MIN_SUMMARY
    )
    _check_new_owner(esc, to_person)
    now = timezone.now()
    previous = esc.owner
    HandOff.objects.create(
        escalation=esc,
        level=esc.current_level,
        from_person=previous,
        to_person=to_person,
        context_summary=summary,
        at=now,
        actor=actor,
        actor_username=actor.get_username(),
    )
    due = None
    if previous is not None and previous == esc.engaged:
        engage(esc, esc.level(), to_person, now=now, cause="handed off", announce=False)
        due = esc.ack_due_at
    esc.owner = to_person
    add_responder(esc, to_person)
    by = actor.get_full_name() or actor.get_username()
    event = timeline_event(
        esc,
        Kind.HANDED_OFF,
        actor,
        f"{by} named {to_person.full_name} the owner"
        + (f"; {previous.full_name} stays on as a responder" if previous else "")
        + f": {summary}",
        to=to_person.pk,
        **{"from": previous.pk if previous else None},
    )
    notify_people(
        esc, event, [to_person], "escalation_handed_off", summary=summary, previous=previous, due_at=due
    )
    audit(
        esc, "handed_off", actor, to=to_person.full_name, **{"from": previous.full_name if previous else None}
    )
    commit(esc, actor, "Handed off")
    return esc


def _check_new_owner(esc: Escalation, to_person: Person | None) -> None:
    if to_person is None:
        raise ValidationError({"to_person": "Choose who takes it over."})
    if to_person.pk == esc.owner_id:
        raise ValidationError({"to_person": f"{to_person.full_name} already owns it."})
    if to_person.user is None or not to_person.user.has_perm(Cap.RESPOND_ESCALATION.perm):
        raise ValidationError(
            {
                "to_person": f"{to_person.full_name} cannot own escalations (no portal login with a responder role)."
            }
        )
    if not ch.reachable(to_person):
        raise ValidationError(
            {"to_person": f"{to_person.full_name} has no contact method, so could not be told."}
        )


@transaction.atomic
def escalation_escalate(
    *,
    escalation: Escalation,
    actor,
    reason: str,
    to_level: int | None = None,
    manager_conflicted: bool = False,
    expected_version: int | None = None,
) -> Escalation:
    """Move the escalation up the chain (to the next level, or a chosen higher one). The raiser
    may say their manager is part of what they raised (``manager_conflicted``): an approval the
    level needs then goes past that manager, recorded as a protected act."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "escalated")
    require_participant(esc, actor, "escalate")
    target = to_level or esc.current_level + 1
    level = esc.level(target)
    if level is None or target <= esc.current_level:
        raise ValidationError(
            {"to_level": f"Choose a level above the current one (level {esc.current_level})."}
        )
    if not may_trigger(actor, level):
        raise PermissionDenied(
            f"Your role may not escalate to level {target} ({level.name}) under this policy."
        )
    reason = required_text(reason, "reason", "The reason for escalating", MIN_REASON)
    if manager_conflicted and esc.raiser_id != actor.pk:
        raise ValidationError(
            {"manager_conflicted": "Only the person who raised it can say their manager is part of it."}
        )
    now = timezone.now()
    event = timeline_event(
        esc,
        Kind.ESCALATED,
        actor,
        (
            f"Asked for level {target} ({level.name}), which needs a manager's approval first"
            if level.requires_approval
            else f"Escalated from level {esc.current_level} to level {target} ({level.name})"
        )
        + f" by {actor.get_full_name() or actor.get_username()}: {reason}",
        level=target,
        reason=reason,
    )
    enter_level(
        esc, order=target, actor=actor, now=now, cause="escalated", manager_conflicted=manager_conflicted
    )
    # The owner keeps working on it and hears that more authority is engaged (unless they asked).
    owner = esc.owner
    told = owner if owner is not None and owner != esc.engaged and owner.user_id != actor.pk else None
    notify_people(esc, event, [told], "escalation_escalated", reason=reason)
    audit(esc, "escalated", actor, to_level=target, reason=reason)
    commit(esc, actor, f"Escalated to level {target}")
    return esc


@transaction.atomic
def escalation_de_escalate(
    *, escalation: Escalation, actor, to_level: int, reason: str, expected_version: int | None = None
) -> Escalation:
    """Send it back down to a lower level that can handle it; the person there acknowledges."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "de-escalated")
    require_owner_or_engaged(esc, actor, "de-escalate")
    if esc.level(to_level) is None or to_level >= esc.current_level:
        raise ValidationError(
            {"to_level": f"Choose a level below the current one (level {esc.current_level})."}
        )
    reason = required_text(reason, "reason", "The reason for de-escalating", MIN_REASON)
    event = timeline_event(
        esc,
        Kind.DE_ESCALATED,
        actor,
        f"De-escalated from level {esc.current_level} to level {to_level} by "
        f"{actor.get_full_name() or actor.get_username()}: {reason}",
        level=to_level,
        reason=reason,
    )
    enter_level(esc, order=to_level, actor=actor, now=timezone.now(), cause="de-escalated")
    notify_people(esc, event, [esc.raiser_person], "escalation_progress", level=esc.level())
    audit(esc, "de_escalated", actor, to_level=to_level, reason=reason)
    commit(esc, actor, f"De-escalated to level {to_level}")
    return esc


@transaction.atomic
def escalation_resolve(
    *,
    escalation: Escalation,
    actor,
    summary: str,
    criteria_confirmed: list[str],
    expected_version: int | None = None,
) -> Escalation:
    """Resolve with a summary and every de-escalation criterion of the policy confirmed."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "resolved")
    require_responder(esc, actor, "resolve")
    errors: dict[str, list[str]] = {}
    summary = (summary or "").strip()
    if len(summary) < MIN_SUMMARY:
        errors["summary"] = [f"A resolution summary is required (at least {MIN_SUMMARY} characters)."]
    missing = [c for c in esc.criteria if c not in set(criteria_confirmed or [])]
    if missing:
        errors["criteria"] = [f"Confirm this criterion of the policy: “{c}”." for c in missing]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    esc.status, esc.resolved_at = Status.RESOLVED, now
    esc.acknowledged_at = esc.acknowledged_at or now
    esc.resolution_summary, esc.criteria_confirmed = summary, list(esc.criteria)
    for kind in (ACK_DUE, RESOLVE_DUE, UPDATE_DUE):
        deadlines_cancel_for(subject=esc, kind=kind)
    esc.ack_due_at = None
    refresh_next_due(esc)
    close_at = now + timedelta(hours=settings.ESCALATION_AUTO_CLOSE_HOURS)
    schedule_clock(esc, AUTO_CLOSE, close_at)
    approval_gate().withdraw(escalation=esc, actor=actor, reason="resolved")
    event = timeline_event(
        esc,
        Kind.RESOLVED,
        actor,
        f"Resolved by {actor.get_full_name() or actor.get_username()}: {summary}",
        criteria=esc.criteria,
    )
    notify_people(esc, event, [esc.raiser_person, esc.engaged], "escalation_resolved", close_at=close_at)
    audit(esc, "resolved", actor, summary=summary, criteria=esc.criteria)
    commit(esc, actor, "Resolved")
    return esc


# --- the raiser's verbs ---------------------------------------------------------------------------


@transaction.atomic
def escalation_close(*, escalation: Escalation, actor, expected_version: int | None = None) -> Escalation:
    """The raiser confirms the resolution (``actor=None``: closed by the auto-close clock)."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.RESOLVED}, "closed")
    if actor is not None:
        require_raiser(esc, actor, "close")
        message = "Closed: the raiser confirmed the resolution."
    else:
        message = (
            f"Closed automatically: no answer from the raiser within "
            f"{settings.ESCALATION_AUTO_CLOSE_HOURS} hours of the resolution."
        )
    esc.status, esc.closed_at = Status.CLOSED, timezone.now()
    deadlines_cancel_for(subject=esc, kind=AUTO_CLOSE)
    event = timeline_event(esc, Kind.CLOSED, actor, message)
    notify_people(esc, event, [esc.owner], "escalation_closed")
    audit(esc, "closed", actor, automatic=actor is None)
    commit(esc, actor, "Closed")
    return esc


@transaction.atomic
def escalation_reopen(
    *, escalation: Escalation, actor, reason: str, expected_version: int | None = None
) -> Escalation:
    """The raiser says it is not resolved: back to the owner, with fresh clocks."""
    esc = lock(escalation, expected_version)
    require_status(esc, {Status.RESOLVED}, "reopened")
    require_raiser(esc, actor, "reopen")
    reason = required_text(reason, "reason", "Why it is not resolved", MIN_REASON)
    now = timezone.now()
    esc.resolved_at, esc.resolution_summary, esc.criteria_confirmed = None, "", []
    esc.resolve_breached_at = None
    deadlines_cancel_for(subject=esc, kind=AUTO_CLOSE)
    resolve = ch.clock_due(
        chain=esc.frozen, service=esc.service, start=now, duration=esc.frozen.threshold.resolve_within
    )
    esc.resolve_due_at = resolve.at
    schedule_clock(esc, RESOLVE_DUE, resolve.at)
    schedule_clock(esc, UPDATE_DUE, now + ch.update_cadence(esc.severity))
    event = timeline_event(esc, Kind.REOPENED, actor, f"Reopened by the raiser: {reason}", reason=reason)
    level = esc.level()
    if esc.engaged is not None and ch.reachable(esc.engaged):
        engage(esc, level, esc.engaged, now=now, cause="reopened")
    else:
        enter_level(esc, order=esc.current_level, actor=actor, now=now, cause="reopened")
    notify_people(esc, event, [esc.owner], "escalation_reopened", reason=reason)
    audit(esc, "reopened", actor, reason=reason)
    commit(esc, actor, "Reopened")
    return esc


@transaction.atomic
def escalation_withdraw(
    *, escalation: Escalation, actor, reason: str, expected_version: int | None = None
) -> Escalation:
    """The raiser withdraws a concern that no longer stands; every clock stops."""
    esc = lock(escalation, expected_version)
    require_status(esc, ACTIVE, "withdrawn")
    require_raiser(esc, actor, "withdraw")
    reason = required_text(reason, "reason", "The reason for withdrawing", MIN_REASON)
    esc.status, esc.closed_at, esc.pending_level = Status.WITHDRAWN, timezone.now(), None
    for kind in ALL_CLOCKS:
        deadlines_cancel_for(subject=esc, kind=kind)
    esc.ack_due_at = None
    refresh_next_due(esc)
    approval_gate().withdraw(escalation=esc, actor=actor, reason=reason)
    event = timeline_event(esc, Kind.WITHDRAWN, actor, f"Withdrawn by the raiser: {reason}", reason=reason)
    notify_people(esc, event, [esc.owner], "escalation_withdrawn", reason=reason)
    audit(esc, "withdrawn", actor, reason=reason)
    commit(esc, actor, "Withdrawn")
    return esc
