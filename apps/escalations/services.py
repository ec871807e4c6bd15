"""Every change to an escalation: one function per verb, one transaction each.

Each verb locks the row, checks the state and the version the user saw (a stale form or a
colleague who got there first raises ``Conflict`` and changes nothing), applies the change,
bumps ``version``, writes one timeline event and one audit event, and puts its notifications
in the outbox; ETA tasks for new deadlines are queued on commit by ``apps.timers``.

Refusals: bad input raises ``ValidationError`` naming the field and the rule; an action the
user's role or part in the escalation does not allow raises ``PermissionDenied``; an action
that does not fit the current state raises ``Conflict``. Nothing is written in any of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.accounts.roles import Cap, Role
from apps.audit.services import record
from apps.contacts.models import Person
from apps.escalations import chain as ch
from apps.escalations.gate import GateClosed, approval_gate
from apps.escalations.models import (
    ACTIVE,
    Criticality,
    Escalation,
    HandOff,
    ReferenceCounter,
    Status,
    TimelineEvent,
)
from apps.notifications.services import notifications_release, notify
from apps.policies.content import check_outgoing
from apps.policies.models import CustomerTier, Service, Severity
from apps.policies.selectors import policy_for
from apps.timers.services import deadline_schedule, deadlines_cancel_for

Kind = TimelineEvent.Kind
SUBJECT_TYPE = "escalations.escalation"
ACK_DUE = "escalations.ack_due"
RESOLVE_DUE = "escalations.resolve_due"
UPDATE_DUE = "escalations.update_due"
AUTO_CLOSE = "escalations.auto_close"
ALL_CLOCKS = (ACK_DUE, RESOLVE_DUE, UPDATE_DUE, AUTO_CLOSE)

# The fields every escalation must fill in, whatever its policy (DESIGN.md: never fewer).
REQUIRED_TEXT = {
    "title": "Title",
    "nature_of_risk": "Nature of the risk",
    "who_is_impacted": "Who is impacted",
    "impact": "Impact",
    "situation": "Situation",
    "background": "Background",
    "assessment": "Assessment",
    "recommendation": "Recommendation",
}
MIN_REASON = 10
MIN_SUMMARY = 20


class Conflict(Exception):
    """The action does not fit the escalation as it is now: a stale form, a colleague who acted
    first, or the wrong state. Shown to the user as it is; nothing was changed."""


# --- shared steps -------------------------------------------------------------------------------


def person_of(user) -> Person | None:
    if user is None or not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()


def _lock(escalation: Escalation, expected_version: int | None = None) -> Escalation:
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner", "service", "raiser")
        .get(pk=escalation.pk)
    )
    if expected_version is not None and esc.version != expected_version:
        owner = f", owned by {esc.owner.full_name}" if esc.owner else ""
        raise Conflict(
            f"{esc.reference} changed while you were looking at it: it is now "
            f"{esc.get_status_display().lower()} at level {esc.current_level}{owner}. "
            "Nothing was done; look at the page again and decide."
        )
    return esc


def _require_status(esc: Escalation, allowed, verb: str) -> None:
    if esc.status not in allowed:
        raise Conflict(f"{esc.reference} cannot be {verb}: it is {esc.get_status_display().lower()}.")


def _require_owner(esc: Escalation, actor, verb: str) -> None:
    if not actor.has_perm(Cap.RESPOND_ESCALATION.perm):
        raise PermissionDenied(f"Your role does not allow you to {verb} escalations.")
    if esc.owner is None or esc.owner.user_id != actor.pk:
        who = esc.owner.full_name if esc.owner else "nobody yet"
        raise PermissionDenied(f"Only the owner of {esc.reference} ({who}) can {verb} it.")


def _require_raiser(esc: Escalation, actor, verb: str) -> None:
    if esc.raiser_id != actor.pk:
        raise PermissionDenied(f"Only the person who raised {esc.reference} can {verb} it.")


def _text(value, field: str, label: str, minimum: int) -> str:
    value = (value or "").strip()
    if len(value) < minimum:
        raise ValidationError({field: f"{label} is required (at least {minimum} characters)."})
    return value


def _commit(esc: Escalation, actor, reason: str) -> None:
    """Save the whole locked row once per verb: one history row, one version step."""
    esc.version += 1  # the row is locked (_lock), so no one else can step it meanwhile
    esc._history_user, esc._change_reason = actor, reason
    esc.save()


def _event(
    esc: Escalation, kind: str, actor, message: str, *, level: int | None = None, **data
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        escalation=esc,
        kind=kind,
        at=timezone.now(),
        actor=actor if actor is not None else None,
        actor_username=actor.get_username() if actor is not None else "",
        level=level if level is not None else esc.current_level,
        message=message,
        data=data,
    )


def _audit(esc: Escalation, verb: str, actor, **data) -> None:
    data.setdefault("status", esc.status)
    data.setdefault("level", esc.current_level)
    data.setdefault("version", esc.version + 1)  # the version this change creates
    record(action=f"escalations.{verb}", actor=actor, target=esc, data=data)


def _notify(
    esc: Escalation, event: TimelineEvent, people, template: str, *, hold: bool = False, **context
) -> None:
    """One outbox row per person for this timeline event; the outbox refuses a second. Held
    rows (an embargo) wait in the outbox until released."""
    seen: set[int] = set()
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        notify(
            event_key=f"escalation:{esc.pk}:event:{event.pk}",
            recipient=ch.recipient_for(person),
            template=template,
            context={"escalation": esc, "event": event, "person": person, **context},
            subject_type=SUBJECT_TYPE,
            subject_id=str(esc.pk),
            hold=hold,
        )


def manager_to_tell(person: Person | None) -> Person | None:
    """The owner's manager, for breaches and dead ends; never an executive: executives hear of
    an escalation only through an approved request (DESIGN.md), so the alert stops below them."""
    manager = person.manager if person else None
    if manager is None or (manager.user is not None and Role.EXECUTIVE in manager.user.roles):
        return None
    return manager


def grant_participant(esc: Escalation, person_or_user) -> None:
    """Let someone taking part see the escalation, confidential or not (guardian row)."""
    user = (
        getattr(person_or_user, "user", person_or_user)
        if isinstance(person_or_user, Person)
        else person_or_user
    )
    if user is not None:
        assign_perm("escalations.view_escalation", user, esc)


def _schedule(esc: Escalation, kind: str, due_at: datetime, **payload) -> None:
    deadlines_cancel_for(subject=esc, kind=kind)
    deadline_schedule(kind=kind, subject=esc, due_at=due_at, payload=payload)


def _refresh_next_due(esc: Escalation) -> None:
    if esc.status == Status.OPEN and esc.ack_due_at:
        esc.next_due_at = esc.ack_due_at
    elif esc.status in ACTIVE and esc.resolve_due_at and not esc.resolve_breached_at:
        esc.next_due_at = esc.resolve_due_at
    else:
        esc.next_due_at = None


def _deferral_note(esc: Escalation, due: ch.Due, clock: str) -> None:
    if due.deferred_by:
        names = ", ".join(f"“{w.name}”" for w in due.deferred_by)
        _event(
            esc,
            Kind.CLOCK_DEFERRED,
            None,
            f"The {clock} clock falls inside maintenance ({names}): deferred to {due.at:%a %d %b %H:%M} UTC.",
            clock=clock,
            due_at=due.at.isoformat(),
            windows=[w.pk for w in due.deferred_by],
        )


# --- routing: reaching a level -----------------------------------------------------------------


def _enter_level(
    esc: Escalation, *, order: int, actor, now: datetime, cause: str, approved: bool = False
) -> None:
    """Route to level ``order``: levels nobody can reach right now are skipped at once (and say
    so); a level that requires approval goes through the gate unless it was just approved."""
    while True:
        level = esc.level(order)
        if level is None:
            _top_of_chain(esc, now)
            return
        if level["requires_approval"] and not approved:
            _request_approval(esc, level, actor, cause)
            return
        person = ch.level_contact(level, now)
        if person is None:
            event = _event(
                esc,
                Kind.LEVEL_SKIPPED,
                None,
                f"Level {order} ({level['name']}): nobody can be reached now ({ch.level_target_label(level)}); "
                "skipped to the next level.",
                level=order,
            )
            record(action="escalations.level_skipped", target=esc, data={"level": order, "event": event.pk})
            order += 1
            approved = False
            continue
        _assign(esc, level, person, now=now, cause=cause, announce=not approved)
        return


def _assign(
    esc: Escalation,
    level: dict,
    person: Person,
    *,
    now: datetime,
    cause: str,
    backup_for: Person | None = None,
    announce: bool = True,
) -> None:
    """Make ``person`` the owner at ``level`` with a fresh acknowledge clock. ``announce=False``
    when the caller tells them itself (an approved executive level gets the brief instead)."""
    previous = esc.owner
    esc.current_level, esc.owner, esc.status = level["order"], person, Status.OPEN
    esc.pending_level, esc.resume_status = None, ""
    if backup_for is None:
        esc.ack_misses = 0
    due = ch.clock_due(
        chain=esc.chain, service=esc.service, start=now, duration=ch.acknowledge_within(esc.chain)
    )
    esc.ack_due_at = due.at
    _refresh_next_due(esc)
    _schedule(esc, ACK_DUE, due.at, level=level["order"], owner=person.pk)
    grant_participant(esc, person)
    if backup_for is not None:
        message = (
            f"{backup_for.full_name} did not acknowledge in time; their backup {person.full_name} owns it now "
            f"and must acknowledge by {due.at:%a %d %b %H:%M} UTC."
        )
    else:
        message = (
            f"Level {level['order']} ({level['name']}) reached: {person.full_name} owns it now and must "
            f"acknowledge by {due.at:%a %d %b %H:%M} UTC."
        )
    event = _event(esc, Kind.LEVEL_REACHED, None, message, level=level["order"], owner=person.pk, cause=cause)
    _deferral_note(esc, due, "acknowledge")
    if announce:
        _notify(esc, event, [person], "escalation_assigned", level=level, due_at=due.at, previous=previous)
    if esc.raiser_person and esc.raiser_person != person and level["order"] > 1:
        _notify(esc, event, [esc.raiser_person], "escalation_progress", level=level)


def _request_approval(esc: Escalation, level: dict, actor, cause: str) -> None:
    try:
        opened = approval_gate().open(escalation=esc, level=level, actor=actor, reason=cause)
    except GateClosed as exc:
        if actor is not None:
            raise Conflict(str(exc)) from None
        # A clock climbing on its own must not fail (and retry forever): it stops and says so.
        _top_of_chain(esc, timezone.now(), why=str(exc))
        return
    if esc.status != Status.AWAITING_APPROVAL:
        esc.resume_status = esc.status
    esc.status, esc.pending_level = Status.AWAITING_APPROVAL, level["order"]
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    _refresh_next_due(esc)
    _event(
        esc,
        Kind.APPROVAL_REQUESTED,
        None,
        f"Level {level['order']} ({level['name']}) is reached only with a manager's approval: requested from "
        f"{opened.approver_name}, due {opened.due_at:%a %d %b %H:%M} UTC.",
        level=level["order"],
        approver=opened.approver_name,
        event_key=opened.event_key,
        request=opened.request_id,
    )


def _top_of_chain(esc: Escalation, now: datetime, why: str = "") -> None:
    """Nobody above can be reached: say so and tell the policy owner and the owner's manager,
    rather than leave the escalation silently where it is."""
    policy_owner = esc.policy.owner
    manager = manager_to_tell(esc.owner)
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    _refresh_next_due(esc)
    event = _event(
        esc,
        Kind.LEVEL_SKIPPED,
        None,
        (why or f"No level above level {esc.current_level} can be reached now.")
        + f" {policy_owner.full_name} (policy owner)"
        + (f" and {manager.full_name}" if manager else "")
        + " have been told.",
    )
    record(action="escalations.chain_exhausted", target=esc, data={"level": esc.current_level})
    _notify(esc, event, [policy_owner, manager, esc.owner], "escalation_chain_exhausted")


# --- raise ----------------------------------------------------------------------------------------


def _next_reference(year: int) -> str:
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"ESC-{year}-{counter.last:05d}"


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

    if service is None:
        add("service", "Choose the service at risk.")
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
            f"No active escalation policy covers {service.name} for this category of risk. "
            "Choose another category, or ask a governance admin to add one.",
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
    customer_tier = customer_tier or (service.customer_tier if service else "")
    policy = policy_for(service, category) if service is not None else None
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
    wanted = {spec["name"] for spec in frozen["extra_fields"]}
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
        chain=frozen,
        raised_at=now,
        version=0,  # _commit makes it 1
        extra_fields={k: v for k, v in extra.items() if k in wanted},
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    esc.skip_history_when_saving = True  # one history row for the whole raise, written by _commit
    esc.save()
    del esc.skip_history_when_saving
    grant_participant(esc, actor)
    _event(
        esc,
        Kind.RAISED,
        actor,
        f"Raised by {actor.get_full_name() or actor.get_username()} under “{policy.name}” "
        f"(policy version {frozen['policy']['version']}); {esc.get_severity_display()}, {esc.get_customer_tier_display()} customers.",
        level=1,
        policy_version=version,
    )
    _enter_level(esc, order=1, actor=actor, now=now, cause="raised")
    resolve = ch.clock_due(chain=frozen, service=service, start=now, duration=ch.resolve_within(frozen))
    esc.resolve_due_at = resolve.at
    _schedule(esc, RESOLVE_DUE, resolve.at)
    _deferral_note(esc, resolve, "resolve")
    esc.last_update_at = now
    _schedule(esc, UPDATE_DUE, now + ch.update_cadence(severity))
    _refresh_next_due(esc)
    _audit(
        esc,
        "raised",
        actor,
        policy=policy.slug,
        policy_version=version,
        severity=severity,
        service=service.slug,
        confidential=confidential,
    )
    _commit(esc, actor, "Raised")
    return esc


# --- the owner's verbs ----------------------------------------------------------------------------


@transaction.atomic
def escalation_acknowledge(
    *, escalation: Escalation, actor, expected_version: int | None = None
) -> Escalation:
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.OPEN}, "acknowledged")
    _require_owner(esc, actor, "acknowledge")
    now = timezone.now()
    esc.status, esc.ack_misses = Status.ACKNOWLEDGED, 0
    esc.acknowledged_at = esc.acknowledged_at or now
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    _refresh_next_due(esc)
    event = _event(
        esc, Kind.ACKNOWLEDGED, actor, f"Acknowledged by {esc.owner.full_name} at level {esc.current_level}."
    )
    _notify(esc, event, [esc.raiser_person], "escalation_acknowledged")
    _audit(esc, "acknowledged", actor, owner=esc.owner.full_name)
    _commit(esc, actor, "Acknowledged")
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
    """Pass ownership at the same level; the new owner acknowledges afresh, with the context."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "handed off")
    _require_owner(esc, actor, "hand off")
    summary = _text(context_summary, "context_summary", "A context summary for the next owner", MIN_SUMMARY)
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
    esc.owner, esc.status = to_person, Status.OPEN
    due = ch.clock_due(
        chain=esc.chain, service=esc.service, start=now, duration=ch.acknowledge_within(esc.chain)
    )
    esc.ack_due_at = due.at
    _refresh_next_due(esc)
    _schedule(esc, ACK_DUE, due.at, level=esc.current_level, owner=to_person.pk)
    grant_participant(esc, to_person)
    event = _event(
        esc,
        Kind.HANDED_OFF,
        actor,
        f"Handed off by {previous.full_name} to {to_person.full_name}: {summary}",
        to=to_person.pk,
        **{"from": previous.pk},
    )
    _deferral_note(esc, due, "acknowledge")
    _notify(
        esc, event, [to_person], "escalation_handed_off", summary=summary, previous=previous, due_at=due.at
    )
    _audit(esc, "handed_off", actor, to=to_person.full_name, **{"from": previous.full_name})
    _commit(esc, actor, "Handed off")
    return esc


def may_trigger(actor, level: dict) -> bool:
    """Whether the actor's role may escalate to this level by hand (the level's trigger roles;
    executives may trigger any level)."""
    if not actor.has_perm(Cap.TRIGGER_LEVEL.perm):
        return False
    roles = {str(r) for r in actor.roles}
    return Role.EXECUTIVE.value in roles or bool(roles & set(level.get("trigger_roles") or []))


@transaction.atomic
def escalation_escalate(
    *,
    escalation: Escalation,
    actor,
    reason: str,
    to_level: int | None = None,
    expected_version: int | None = None,
) -> Escalation:
    """Move the escalation up the chain (to the next level, or a chosen higher one)."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "escalated")
    target = to_level or esc.current_level + 1
    level = esc.level(target)
    if level is None or target <= esc.current_level:
        raise ValidationError(
            {"to_level": f"Choose a level above the current one (level {esc.current_level})."}
        )
    if not may_trigger(actor, level):
        raise PermissionDenied(
            f"Your role may not escalate to level {target} ({level['name']}) under this policy."
        )
    reason = _text(reason, "reason", "The reason for escalating", MIN_REASON)
    now = timezone.now()
    previous = esc.owner
    event = _event(
        esc,
        Kind.ESCALATED,
        actor,
        (
            f"Asked for level {target} ({level['name']}), which needs a manager's approval first"
            if level["requires_approval"]
            else f"Escalated from level {esc.current_level} to level {target} ({level['name']})"
        )
        + f" by {actor.get_full_name() or actor.get_username()}: {reason}",
        level=target,
        reason=reason,
    )
    _enter_level(esc, order=target, actor=actor, now=now, cause="escalated")
    told = (
        previous if previous is not None and previous != esc.owner and previous.user_id != actor.pk else None
    )
    _notify(esc, event, [told], "escalation_escalated", reason=reason)
    _audit(esc, "escalated", actor, to_level=target, reason=reason)
    _commit(esc, actor, f"Escalated to level {target}")
    return esc


@transaction.atomic
def escalation_de_escalate(
    *, escalation: Escalation, actor, to_level: int, reason: str, expected_version: int | None = None
) -> Escalation:
    """Send it back down to a lower level that can handle it; the owner there acknowledges."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "de-escalated")
    _require_owner(esc, actor, "de-escalate")
    if esc.level(to_level) is None or to_level >= esc.current_level:
        raise ValidationError(
            {"to_level": f"Choose a level below the current one (level {esc.current_level})."}
        )
    reason = _text(reason, "reason", "The reason for de-escalating", MIN_REASON)
    event = _event(
        esc,
        Kind.DE_ESCALATED,
        actor,
        f"De-escalated from level {esc.current_level} to level {to_level} by {esc.owner.full_name}: {reason}",
        level=to_level,
        reason=reason,
    )
    _enter_level(esc, order=to_level, actor=actor, now=timezone.now(), cause="de-escalated")
    _notify(esc, event, [esc.raiser_person], "escalation_progress", level=esc.level())
    _audit(esc, "de_escalated", actor, to_level=to_level, reason=reason)
    _commit(esc, actor, f"De-escalated to level {to_level}")
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
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "resolved")
    _require_owner(esc, actor, "resolve")
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
    _refresh_next_due(esc)
    close_at = now + timedelta(hours=settings.ESCALATION_AUTO_CLOSE_HOURS)
    _schedule(esc, AUTO_CLOSE, close_at)
    approval_gate().withdraw(escalation=esc, actor=actor, reason="resolved")
    event = _event(
        esc, Kind.RESOLVED, actor, f"Resolved by {esc.owner.full_name}: {summary}", criteria=esc.criteria
    )
    _notify(esc, event, [esc.raiser_person], "escalation_resolved", close_at=close_at)
    _audit(esc, "resolved", actor, summary=summary, criteria=esc.criteria)
    _commit(esc, actor, "Resolved")
    return esc


# --- the raiser's verbs ---------------------------------------------------------------------------


@transaction.atomic
def escalation_close(*, escalation: Escalation, actor, expected_version: int | None = None) -> Escalation:
    """The raiser confirms the resolution (``actor=None``: closed by the auto-close clock)."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.RESOLVED}, "closed")
    if actor is not None:
        _require_raiser(esc, actor, "close")
        message = "Closed: the raiser confirmed the resolution."
    else:
        message = (
            f"Closed automatically: no answer from the raiser within "
            f"{settings.ESCALATION_AUTO_CLOSE_HOURS} hours of the resolution."
        )
    esc.status, esc.closed_at = Status.CLOSED, timezone.now()
    deadlines_cancel_for(subject=esc, kind=AUTO_CLOSE)
    event = _event(esc, Kind.CLOSED, actor, message)
    _notify(esc, event, [esc.owner], "escalation_closed")
    _audit(esc, "closed", actor, automatic=actor is None)
    _commit(esc, actor, "Closed")
    return esc


@transaction.atomic
def escalation_reopen(
    *, escalation: Escalation, actor, reason: str, expected_version: int | None = None
) -> Escalation:
    """The raiser says it is not resolved: back to the owner, with fresh clocks."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, {Status.RESOLVED}, "reopened")
    _require_raiser(esc, actor, "reopen")
    reason = _text(reason, "reason", "Why it is not resolved", MIN_REASON)
    now = timezone.now()
    esc.resolved_at, esc.resolution_summary, esc.criteria_confirmed = None, "", []
    esc.resolve_breached_at = None
    deadlines_cancel_for(subject=esc, kind=AUTO_CLOSE)
    resolve = ch.clock_due(
        chain=esc.chain, service=esc.service, start=now, duration=ch.resolve_within(esc.chain)
    )
    esc.resolve_due_at = resolve.at
    _schedule(esc, RESOLVE_DUE, resolve.at)
    _schedule(esc, UPDATE_DUE, now + ch.update_cadence(esc.severity))
    event = _event(esc, Kind.REOPENED, actor, f"Reopened by the raiser: {reason}", reason=reason)
    level = esc.level()
    if esc.owner is not None and ch.reachable(esc.owner):
        _assign(esc, level, esc.owner, now=now, cause="reopened")
    else:
        _enter_level(esc, order=esc.current_level, actor=actor, now=now, cause="reopened")
    _notify(esc, event, [esc.owner], "escalation_reopened", reason=reason)
    _audit(esc, "reopened", actor, reason=reason)
    _commit(esc, actor, "Reopened")
    return esc


@transaction.atomic
def escalation_withdraw(
    *, escalation: Escalation, actor, reason: str, expected_version: int | None = None
) -> Escalation:
    """The raiser withdraws a concern that no longer stands; every clock stops."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, ACTIVE, "withdrawn")
    _require_raiser(esc, actor, "withdraw")
    reason = _text(reason, "reason", "The reason for withdrawing", MIN_REASON)
    esc.status, esc.closed_at, esc.pending_level = Status.WITHDRAWN, timezone.now(), None
    for kind in ALL_CLOCKS:
        deadlines_cancel_for(subject=esc, kind=kind)
    esc.ack_due_at = None
    _refresh_next_due(esc)
    approval_gate().withdraw(escalation=esc, actor=actor, reason=reason)
    event = _event(esc, Kind.WITHDRAWN, actor, f"Withdrawn by the raiser: {reason}", reason=reason)
    _notify(esc, event, [esc.owner], "escalation_withdrawn", reason=reason)
    _audit(esc, "withdrawn", actor, reason=reason)
    _commit(esc, actor, "Withdrawn")
    return esc


# --- conversation ---------------------------------------------------------------------------------


def stakeholders(esc: Escalation) -> list[Person]:
    """Who hears the updates: the raiser and everyone who has owned it."""
    owner_ids = set(
        TimelineEvent.objects.filter(escalation=esc, kind=Kind.LEVEL_REACHED).values_list(
            "data__owner", flat=True
        )
    )
    owner_ids |= set(HandOff.objects.filter(escalation=esc).values_list("to_person", flat=True))
    people = list(Person.objects.filter(pk__in={i for i in owner_ids if i}))
    return [p for p in [esc.raiser_person, *people] if p is not None]


@transaction.atomic
def escalation_comment(
    *, escalation: Escalation, actor, text: str, stakeholder_update: bool = False
) -> TimelineEvent:
    """A comment on the timeline; a stakeholder update (the owner's) goes to everyone involved
    and restarts the update clock. Not a state change: no version step."""
    esc = _lock(escalation)
    _require_status(esc, ACTIVE + (Status.RESOLVED,), "commented on")
    text = _text(text, "text", "The comment", 2)
    if stakeholder_update:
        _require_owner(esc, actor, "post stakeholder updates on")
        check_outgoing({"The update": text}, field="text")
        event = _event(esc, Kind.UPDATE, actor, text, held=esc.embargoed)
        others = [p for p in stakeholders(esc) if p.user_id != actor.pk]
        _notify(esc, event, others, "escalation_update", hold=esc.embargoed, text=text)
        now = timezone.now()
        esc.last_update_at = now
        esc._history_user, esc._change_reason = actor, "Stakeholder update posted"
        esc.save(update_fields=["last_update_at", "updated_at"])
        if esc.status in ACTIVE:
            _schedule(esc, UPDATE_DUE, now + ch.update_cadence(esc.severity))
    else:
        event = _event(esc, Kind.COMMENT, actor, text)
    record(
        action="escalations.update_posted" if stakeholder_update else "escalations.commented",
        actor=actor,
        target=esc,
        data={"event": event.pk, "length": len(text)},
    )
    return event


# --- the approval gate's outcomes (called by apps.approvals, in its transaction) ------------------


def _require_awaiting(esc: Escalation, level_order: int) -> None:
    if esc.status != Status.AWAITING_APPROVAL or esc.pending_level != level_order:
        raise Conflict(
            f"{esc.reference} is not waiting for approval of level {level_order} any more "
            f"(it is {esc.get_status_display().lower()})."
        )


def escalation_reach_approved_level(
    *, escalation: Escalation, level_order: int, actor, note: str
) -> Escalation:
    """The approval for ``level_order`` was given (or nobody was left to ask): reach it. The
    level's executive is not sent the usual assignment: the approvals app sends the brief."""
    esc = _lock(escalation)
    _require_awaiting(esc, level_order)
    _event(esc, Kind.APPROVAL_DECIDED, actor, note, level=level_order, outcome="approved")
    _enter_level(esc, order=level_order, actor=actor, now=timezone.now(), cause="approved", approved=True)
    _audit(esc, "approval_granted", actor, to_level=level_order)
    _commit(esc, actor, f"Level {level_order} approved")
    return esc


def escalation_approval_refused(*, escalation: Escalation, level_order: int, actor, note: str) -> Escalation:
    """The approval was refused: back where it was, with the owner's clock running again."""
    esc = _lock(escalation)
    _require_awaiting(esc, level_order)
    esc.status = esc.resume_status or Status.OPEN
    esc.pending_level, esc.resume_status = None, ""
    if esc.status == Status.OPEN and esc.owner is not None:
        due = ch.clock_due(
            chain=esc.chain,
            service=esc.service,
            start=timezone.now(),
            duration=ch.acknowledge_within(esc.chain),
        )
        esc.ack_due_at = due.at
        _schedule(esc, ACK_DUE, due.at, level=esc.current_level, owner=esc.owner_id)
    _refresh_next_due(esc)
    _event(esc, Kind.APPROVAL_DECIDED, actor, note, level=level_order, outcome="rejected")
    _audit(esc, "approval_refused", actor, level=level_order)
    _commit(esc, actor, f"Level {level_order} approval refused")
    return esc


def escalation_await_approval(
    *, escalation: Escalation, level_order: int, actor, note: str, event_key: str = ""
) -> Escalation:
    """Wait again for an approval the approvals app has opened itself (an appeal)."""
    esc = _lock(escalation)
    _require_status(esc, {Status.OPEN, Status.ACKNOWLEDGED}, "sent for approval")
    if esc.level(level_order) is None or level_order <= esc.current_level:
        raise Conflict(f"Level {level_order} is no longer above where {esc.reference} is.")
    esc.resume_status, esc.status, esc.pending_level = esc.status, Status.AWAITING_APPROVAL, level_order
    deadlines_cancel_for(subject=esc, kind=ACK_DUE)
    esc.ack_due_at = None
    _refresh_next_due(esc)
    _event(esc, Kind.APPROVAL_REQUESTED, actor, note, level=level_order, event_key=event_key)
    _audit(esc, "approval_requested", actor, level=level_order)
    _commit(esc, actor, f"Approval for level {level_order} asked again")
    return esc


def escalation_note(
    *, escalation: Escalation, kind: str, actor, message: str, event_key: str = "", **data
) -> TimelineEvent:
    """A timeline entry written by another app about this escalation (no state change)."""
    return (
        _event(escalation, kind, actor, message, event_key=event_key, **data)
        if event_key
        else _event(escalation, kind, actor, message, **data)
    )


@transaction.atomic
def escalation_set_embargo(
    *, escalation: Escalation, actor, embargoed: bool, reason: str, expected_version: int | None = None
) -> Escalation:
    """Hold (or release) every message that leaves the people working on it: stakeholder updates
    and executive briefs wait in the outbox until the embargo is lifted."""
    esc = _lock(escalation, expected_version)
    _require_status(esc, ACTIVE + (Status.RESOLVED,), "embargoed")
    if (
        actor.pk not in {esc.raiser_id, esc.owner.user_id if esc.owner else None}
        and Role.EXECUTIVE not in actor.roles
    ):
        raise PermissionDenied("Only the raiser, the owner or an executive can embargo or lift an embargo.")
    if esc.embargoed == embargoed:
        raise Conflict(f"{esc.reference} is {'already' if embargoed else 'not'} under embargo.")
    reason = _text(reason, "reason", "The reason", MIN_REASON)
    esc.embargoed = embargoed
    _event(
        esc,
        Kind.EMBARGO,
        actor,
        (
            f"Embargo set: messages to stakeholders and executives are held. {reason}"
            if embargoed
            else f"Embargo lifted: held messages are sent now. {reason}"
        ),
    )
    if not embargoed:
        released = notifications_release(subject_type=SUBJECT_TYPE, subject_id=str(esc.pk))
        if released:
            _event(
                esc, Kind.EMBARGO, None, f"{released} held message{'s' if released != 1 else ''} released."
            )
    _audit(esc, "embargo_set" if embargoed else "embargo_lifted", actor, reason=reason)
    _commit(esc, actor, "Embargo set" if embargoed else "Embargo lifted")
    return esc


# --- what the clocks do (called by handlers.py inside the firing transaction) ---------------------


def _defer_if_in_maintenance(esc: Escalation, kind: str, payload: dict, clock: str) -> bool:
    """A clock running out inside a deferring maintenance window waits for its end, and says so."""
    now = timezone.now()
    due = ch.defer_for_maintenance(esc.service, now)
    if not due.deferred_by:
        return False
    _schedule(esc, kind, due.at, **payload)
    if kind == ACK_DUE:
        esc.ack_due_at = due.at
    elif kind == RESOLVE_DUE:
        esc.resolve_due_at = due.at
    _refresh_next_due(esc)
    _deferral_note(esc, due, clock)
    _commit(esc, None, f"{clock.capitalize()} clock deferred by maintenance")
    return True


def clock_acknowledge_missed(*, escalation_id: int, payload: dict) -> None:
    """First miss: the owner's backup takes over; a miss again (or no backup): up one level."""
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner", "service")
        .filter(pk=escalation_id)
        .first()
    )
    if esc is None or esc.status != Status.OPEN or payload.get("level") != esc.current_level:
        return
    if payload.get("owner") != esc.owner_id:
        return
    if _defer_if_in_maintenance(esc, ACK_DUE, payload, "acknowledge"):
        return
    now = timezone.now()
    owner = esc.owner
    backup = ch.reachable_backup(owner, now) if owner and esc.ack_misses == 0 else None
    if backup is not None and backup != owner:
        event = _event(
            esc,
            Kind.ACK_MISSED,
            None,
            f"{owner.full_name} did not acknowledge by "
            f"{esc.ack_due_at:%a %d %b %H:%M} UTC; calling in their backup, {backup.full_name}.",
            owner=owner.pk,
            backup=backup.pk,
        )
        esc.ack_misses = 1
        _assign(esc, esc.level(), backup, now=now, cause="acknowledgement missed", backup_for=owner)
        _notify(esc, event, [owner], "escalation_ack_missed")
        record(action="escalations.ack_missed", target=esc, data={"owner": owner.full_name, "then": "backup"})
    else:
        who = owner.full_name if owner else "Nobody"
        why = "again" if esc.ack_misses else "and has no backup available"
        _event(
            esc,
            Kind.ACK_MISSED,
            None,
            f"{who} did not acknowledge {why}: escalating to level {esc.current_level + 1}.",
            owner=owner.pk if owner else None,
        )
        record(action="escalations.ack_missed", target=esc, data={"owner": who, "then": "escalate"})
        _enter_level(esc, order=esc.current_level + 1, actor=None, now=now, cause="acknowledgement missed")
    _commit(esc, None, "Acknowledgement missed")


def clock_resolve_breached(*, escalation_id: int, payload: dict) -> None:
    """The resolve deadline passed: the owner's manager hears of it (once)."""
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner", "service")
        .filter(pk=escalation_id)
        .first()
    )
    if esc is None or esc.status not in ACTIVE or esc.resolve_breached_at:
        return
    if _defer_if_in_maintenance(esc, RESOLVE_DUE, payload, "resolve"):
        return
    esc.resolve_breached_at = timezone.now()
    _refresh_next_due(esc)
    manager = manager_to_tell(esc.owner)
    told = f"; {manager.full_name} (the owner's manager) has been told" if manager else ""
    event = _event(
        esc, Kind.RESOLVE_BREACHED, None, f"Not resolved by {esc.resolve_due_at:%a %d %b %H:%M} UTC{told}."
    )
    _notify(esc, event, [manager, esc.owner], "escalation_resolve_breached", manager=manager)
    record(
        action="escalations.resolve_breached",
        target=esc,
        data={"manager": manager.full_name if manager else None},
    )
    _commit(esc, None, "Resolve deadline breached")


def clock_update_due(*, escalation_id: int, payload: dict) -> None:
    """Time the people affected heard something: remind the owner, and set the next reminder."""
    esc = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("owner")
        .filter(pk=escalation_id)
        .first()
    )
    if esc is None or esc.status not in ACTIVE:
        return
    cadence = ch.update_cadence(esc.severity)
    now = timezone.now()
    if esc.owner is not None and esc.status != Status.AWAITING_APPROVAL:
        event = _event(
            esc,
            Kind.UPDATE_REMINDER,
            None,
            f"No stakeholder update for {_ago(esc.last_update_at, now)}: {esc.owner.full_name} reminded.",
        )
        _notify(esc, event, [esc.owner], "escalation_update_due", cadence=cadence)
    deadline_schedule(kind=UPDATE_DUE, subject=esc, due_at=now + cadence)


def clock_auto_close(*, escalation_id: int, payload: dict) -> None:
    esc = Escalation.objects.filter(pk=escalation_id, status=Status.RESOLVED).first()
    if esc is not None:
        escalation_close(escalation=esc, actor=None)


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "a while"
    minutes = int((now - then).total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"
