"""Every change to approvals: open, decide, re-route, appeal, go around, withdraw; and the
executive brief that goes out on approval.

Exactly one decision stands: a decision locks the request row and checks its version, so two
approvers deciding together (or an approver and the deadline) cannot both win. Every step is a
decision-log row, an audit event and a timeline entry on the escalation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.accounts.roles import Cap, Role
from apps.approvals import routing
from apps.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    BriefReceipt,
    ExecutiveBrief,
    Outcome,
    RequestKind,
    RequestStatus,
)
from apps.audit.services import record
from apps.contacts.models import Person
from apps.contacts.selectors import person_of
from apps.escalations import chain as ch
from apps.escalations import services as esc_services
from apps.escalations.chain import FrozenLevel
from apps.escalations.gate import ApprovalOpened, GateClosed
from apps.escalations.models import Escalation, Status, TimelineEvent
from apps.escalations.services import Conflict
from apps.notifications.services import notify
from apps.policies.content import check_outgoing
from apps.timers.services import deadline_schedule, deadlines_cancel_for

REQUEST_DUE = "approvals.request_due"
MIN_REASON = 10
Kind = TimelineEvent.Kind


# --- small shared steps -------------------------------------------------------------------------


def _event_key(request: ApprovalRequest, what: str) -> str:
    return f"approval:{request.pk}:{what}"


def _tell(
    request: ApprovalRequest, people, template: str, what: str, *, hold: bool = False, **context
) -> str:
    """Notify people about a request; returns the outbox key, for the timeline to show delivery."""
    key = _event_key(request, what)
    subject_type, subject_id = (
        ("escalations.escalation", str(request.escalation_id))
        if request.escalation_id
        else ("approvals.approvalrequest", str(request.pk))
    )
    seen: set[int] = set()
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        notify(
            event_key=key,
            recipient=ch.recipient_for(person),
            template=template,
            context={"request": request, "escalation": request.escalation, "person": person, **context},
            subject_type=subject_type,
            subject_id=subject_id,
            hold=hold,
        )
    return key


def _log(
    request: ApprovalRequest,
    outcome: str,
    actor,
    reason: str = "",
    on_behalf_of: Person | None = None,
    by_name: str = "",
) -> ApprovalDecision:
    now = timezone.now()
    first = request.chain()[0]
    return ApprovalDecision.objects.create(
        request=request,
        outcome=outcome,
        at=now,
        reason=reason,
        decided_by=actor,
        decided_by_username=actor.get_username() if actor else "",
        decided_by_name=by_name or ((actor.get_full_name() or actor.get_username()) if actor else ""),
        on_behalf_of_name=on_behalf_of.full_name if on_behalf_of else "",
        waited_seconds=max(int((now - first.requested_at).total_seconds()), 0),
    )


def _audit(request: ApprovalRequest, verb: str, actor, **data) -> None:
    data.setdefault("status", request.status)
    data.setdefault("approver", request.approver.full_name)
    if request.escalation_id:
        data.setdefault("escalation", request.escalation.reference)
        data.setdefault("level", request.level)
    record(action=f"approvals.{verb}", actor=actor, target=request, data=data)


def _protected_act(request: ApprovalRequest, actor, act: str, reason: str) -> None:
    """Appealing and going around an approver are protected acts: the protection app opens or
    extends the raiser's watch window from these audit events."""
    record(
        action="protection.protected_act",
        actor=actor,
        target=request,
        data={
            "act": act,
            "reason": reason,
            "escalation": request.escalation.reference if request.escalation_id else None,
        },
    )


def _lock(request: ApprovalRequest, expected_version: int | None = None) -> ApprovalRequest:
    locked = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("approver", "escalation", "requested_by")
        .get(pk=request.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            f"This request changed while you were looking at it: it is now "
            f"{locked.get_status_display().lower()} (with {locked.approver.full_name}). Nothing was done."
        )
    return locked


def _settle(request: ApprovalRequest, status: str, actor, reason: str = "") -> None:
    request.status, request.decided_at, request.reason = status, timezone.now(), reason
    request.version += 1
    request._history_user, request._change_reason = actor, request.get_status_display()
    request.save()
    deadlines_cancel_for(subject=request, kind=REQUEST_DUE)


def _open(
    *,
    kind: str,
    approver: Person,
    route: str,
    due_at: datetime,
    requested_by,
    excluded: set[int],
    escalation: Escalation | None = None,
    level: FrozenLevel | None = None,
    freeze=None,
    change_summary: str = "",
    rerouted_from: ApprovalRequest | None = None,
    appeal_of: ApprovalRequest | None = None,
    on_behalf_of: Person | None = None,
) -> ApprovalRequest:
    request = ApprovalRequest(
        kind=kind,
        escalation=escalation,
        freeze=freeze,
        change_summary=change_summary,
        level=level.order if level else None,
        level_name=level.name if level else "",
        requested_by=requested_by,
        requester_person=person_of(requested_by) if requested_by else None,
        approver=approver,
        on_behalf_of=on_behalf_of,
        route=route,
        rerouted_from=rerouted_from,
        appeal_of=appeal_of,
        excluded=sorted(excluded),
        requested_at=timezone.now(),
        due_at=due_at,
    )
    request._history_user, request._change_reason = requested_by, f"Requested ({route})"
    request.save()
    deadline_schedule(kind=REQUEST_DUE, subject=request, due_at=due_at)
    if escalation is not None and approver.user_id:
        assign_perm("escalations.view_escalation", approver.user, escalation)
    return request


# --- the escalation gate ----------------------------------------------------------------------------


def _level_timeout(level: FrozenLevel) -> timedelta:
    return level.approval_timeout


def _decide_by(escalation: Escalation | None, timeout: timedelta) -> datetime:
    """When an approver's time runs out: in the policy's business calendar when the escalation's
    clocks run in business hours (a compliance concern asked for on Friday evening waits for
    Monday morning instead of re-routing through every deputy over the weekend); wall-clock for
    24x7 policies and change-freeze exceptions."""
    now = timezone.now()
    if escalation is None:
        return now + timeout
    return ch.business_due(chain=escalation.frozen, start=now, duration=timeout)


class EscalationGate:
    """Registered with apps.escalations: the only way an executive level is reached."""

    def open(self, *, escalation: Escalation, level: FrozenLevel, actor, reason: str) -> ApprovalOpened:
        excluded = routing.excluded_for_escalation(escalation, level)
        requester = actor or escalation.raiser
        # The raiser's manager decides, whoever pressed the button (DESIGN.md).
        approver = routing.first_approver(
            escalation.raiser_person, fallback_owner=escalation.policy.owner, excluded=excluded
        )
        if approver is None:
            raise GateClosed(
                f"Level {level.order} ({level.name}) needs a manager's approval, and nobody "
                "able to approve it can be reached."
            )
        request = _open(
            kind=RequestKind.EXECUTIVE_LEVEL,
            escalation=escalation,
            level=level,
            approver=approver,
            route="manager" if approver.pk in _line_ids(escalation.raiser) else "next available approver",
            due_at=_decide_by(escalation, _level_timeout(level)),
            requested_by=requester,
            excluded=excluded,
        )
        draft_brief(request)
        key = _tell(request, [approver], "approval_requested", "requested")
        _audit(request, "requested", actor, reason=reason)
        return ApprovalOpened(
            approver_name=approver.full_name, due_at=request.due_at, request_id=request.pk, event_key=key
        )

    def withdraw(self, *, escalation: Escalation, actor, reason: str) -> None:
        for request in ApprovalRequest.objects.filter(escalation=escalation, status=RequestStatus.PENDING):
            request = _lock(request)
            _settle(request, RequestStatus.WITHDRAWN, actor, reason)
            _log(request, Outcome.WITHDRAWN, actor, reason)
            _audit(request, "withdrawn", actor, reason=reason)


def _line_ids(user) -> set[int]:
    person = person_of(user)
    return {p.pk for p in person.management_chain()} if person else set()


# --- the brief ----------------------------------------------------------------------------------


def draft_brief(request: ApprovalRequest) -> ExecutiveBrief:
    """The escalation in business terms, for an executive with two minutes."""
    esc = request.escalation
    owner = f"{esc.owner.full_name} (level {esc.current_level})" if esc.owner else "nobody yet"
    next_update = (esc.last_update_at or esc.raised_at) + ch.update_cadence(esc.severity)
    brief = ExecutiveBrief(
        request=request,
        escalation=esc,
        what_is_happening=f"{esc.title}. {esc.situation}",
        who_is_affected=f"{esc.who_is_impacted} Impact: {esc.impact} "
        f"(expected {esc.impact_expected_at:%a %d %b %H:%M} UTC).",
        what_is_being_done=f"Owned by {owner}. {esc.assessment}",
        what_is_asked=esc.recommendation,
        next_update=f"By {max(next_update, timezone.now()):%a %d %b %H:%M} UTC, from {owner}.",
    )
    brief._change_reason = "Drafted from the escalation"
    brief.save()
    return brief


def _apply_brief_edits(brief: ExecutiveBrief, edits: dict | None, actor) -> bool:
    if not edits:
        return False
    changed = False
    for field in ExecutiveBrief.FIELDS:
        value = (edits.get(field) or "").strip()
        if field in edits and not value:
            raise ValidationError({field: "A brief needs every part; say “not known yet” if it is not."})
        if value and value != getattr(brief, field):
            setattr(brief, field, value)
            changed = True
    if changed:
        brief.edited_by = actor
        brief._history_user, brief._change_reason = actor, "Edited by the approver"
        brief.save()
    return changed


def _send_brief(request: ApprovalRequest, actor) -> list[Person]:
    """On approval: the brief goes to the executive the level reached, held if embargoed."""
    esc = Escalation.objects.select_related("owner").get(pk=request.escalation_id)
    brief = request.brief
    executives = [esc.owner] if esc.owner and esc.current_level == request.level else []
    now = timezone.now()
    for person in executives:
        BriefReceipt.objects.get_or_create(brief=brief, executive=person, defaults={"sent_at": now})
        if person.user_id:
            assign_perm("escalations.view_escalation", person.user, esc)
    brief.sent_at = now
    brief._history_user, brief._change_reason = actor, "Sent"
    brief.save(update_fields=["sent_at"])
    approved_by = f"approved by {actor.get_full_name() or actor.get_username()}"
    key = _tell(
        request,
        executives,
        "executive_brief",
        "brief",
        hold=esc.embargoed,
        brief=brief,
        approved_by=approved_by,
    )
    held = " (held: the escalation is under embargo)" if esc.embargoed else ""
    esc_services.escalation_note(
        escalation=esc,
        kind=Kind.BRIEF,
        actor=actor,
        event_key=key,
        message=f"Executive brief sent to {', '.join(p.full_name for p in executives) or 'nobody'}{held}.",
        request=request.pk,
        brief=brief.pk,
    )
    return executives


# --- deciding -----------------------------------------------------------------------------------


def may_decide_request(user, request: ApprovalRequest) -> str:
    """'' when ``user`` may decide ``request`` now, else why not (for a 403 and the inbox)."""
    if not user.has_perm(Cap.DECIDE_APPROVAL.perm):
        return "Your role does not decide approvals."
    person = person_of(user)
    if _raiser_id(request) == user.pk or request.requested_by_id == user.pk:
        return "You cannot approve your own escalation."
    if person is not None and person.pk in request.excluded:
        return "You are named in this escalation, so you may not decide it."
    if person is not None and person.pk == request.approver_id:
        return ""
    if Role.EXECUTIVE in user.roles:
        return ""  # executives may decide any request they are not conflicted on
    return f"This request is for {request.approver.full_name} to decide."


@transaction.atomic
def approval_decide(
    *,
    request: ApprovalRequest,
    actor,
    approve: bool,
    reason: str = "",
    brief_edits: dict | None = None,
    expected_version: int | None = None,
) -> ApprovalRequest:
    request = _lock(request, expected_version)
    if not request.is_pending:
        raise Conflict(f"This request is already {request.get_status_display().lower()}; nothing was done.")
    if why := may_decide_request(actor, request):
        raise PermissionDenied(why)
    reason = (reason or "").strip()
    if not approve and len(reason) < MIN_REASON:
        raise ValidationError(
            {
                "reason": f"A rejection needs a reason (at least {MIN_REASON} characters): "
                "the raiser reads it and may appeal."
            }
        )
    on_behalf = request.on_behalf_of or (request.approver if person_of(actor) != request.approver else None)
    if request.kind == RequestKind.EXECUTIVE_LEVEL:
        _decide_escalation(request, actor, approve, reason, brief_edits)
    else:
        _settle(request, RequestStatus.APPROVED if approve else RequestStatus.REJECTED, actor, reason)
    _log(request, Outcome.APPROVED if approve else Outcome.REJECTED, actor, reason, on_behalf_of=on_behalf)
    _audit(request, "approved" if approve else "rejected", actor, reason=reason)
    told = request.escalation.raiser_person if request.escalation_id else request.requester_person
    _tell(request, [told], "approval_decided", "decided", approved=approve, reason=reason, decider=actor)
    return request


def _decide_escalation(
    request: ApprovalRequest, actor, approve: bool, reason: str, brief_edits: dict | None
) -> None:
    esc = request.escalation
    who = actor.get_full_name() or actor.get_username()
    if approve:
        brief = request.brief
        _apply_brief_edits(brief, brief_edits, actor)
        check_outgoing(
            {f"Brief, {f.replace('_', ' ')}": getattr(brief, f) for f in ExecutiveBrief.FIELDS}, field="brief"
        )
        _settle(request, RequestStatus.APPROVED, actor, reason)
        esc_services.escalation_reach_approved_level(
            escalation=esc,
            level_order=request.level,
            actor=actor,
            note=f"Approved by {who}: level {request.level} ({request.level_name}) may be told."
            + (f" {reason}" if reason else ""),
        )
        _send_brief(request, actor)
    else:
        _settle(request, RequestStatus.REJECTED, actor, reason)
        can_appeal = request.appeal_of_id is None
        esc_services.escalation_approval_refused(
            escalation=esc,
            level_order=request.level,
            actor=actor,
            note=f"Approval for level {request.level} ({request.level_name}) refused by {who}: {reason}"
            + (" The raiser may appeal once." if can_appeal else ""),
        )


# --- silence, appeals and going around ------------------------------------------------------------


def _reroute(
    request: ApprovalRequest, actor, outcome: str, *, skip_backup: bool, reason: str
) -> ApprovalRequest | None:
    """Move a pending request on to the next person; None only when nobody at all can decide."""
    chain = request.chain()
    start = chain[0].approver
    asked = {r.approver_id for r in chain}
    found = routing.next_approver(
        start, asked, set(request.excluded), timezone.now(), skip_backup=skip_backup
    )
    _settle(request, RequestStatus.EXPIRED, actor, reason)
    _log(request, outcome, actor, reason, by_name="" if actor else "escalportal")
    if found is None:
        return None
    person, route = found
    level = request.escalation.level(request.level) if request.escalation_id else None
    timeout = _level_timeout(level) if level else request.due_at - request.requested_at
    due_at = _decide_by(request.escalation if request.escalation_id else None, timeout)
    new = _open(
        kind=request.kind,
        escalation=request.escalation,
        level=level,
        freeze=request.freeze,
        change_summary=request.change_summary,
        approver=person,
        route=route,
        due_at=due_at,
        requested_by=request.requested_by,
        excluded=set(request.excluded),
        rerouted_from=request,
        on_behalf_of=start,
    )
    if request.escalation_id:
        brief = request.brief
        ExecutiveBrief.objects.create(
            request=new,
            escalation=request.escalation,
            **{f: getattr(brief, f) for f in ExecutiveBrief.FIELDS},
        )
    return new


def approval_timed_out(*, request_id: int) -> None:
    """The deadline passed without a decision: the backup, then up the line, then the other
    executives, then a new round: a silent approver can never bury an escalation."""
    request = ApprovalRequest.objects.filter(pk=request_id, status=RequestStatus.PENDING).first()
    if request is None:
        return
    request = _lock(request)
    silent = request.approver
    new = _reroute(
        request,
        None,
        Outcome.REROUTED,
        skip_backup=request.route.startswith(("backup", "manager of")),
        reason=f"{silent.full_name} did not decide by {request.due_at:%a %d %b %H:%M} UTC.",
    )
    _after_reroute(request, new, None, f"{silent.full_name} did not decide in time")


def _after_reroute(old: ApprovalRequest, new: ApprovalRequest | None, actor, why: str) -> None:
    if new is not None:
        key = _tell(new, [new.approver], "approval_requested", "requested", rerouted_from=old)
        _tell(new, [old.approver], "approval_rerouted", "rerouted-away", new=new)
        _audit(new, "rerouted", actor, reason=why, previous=old.approver.full_name)
        if new.escalation_id:
            esc_services.escalation_note(
                escalation=new.escalation,
                kind=Kind.APPROVAL_REQUESTED,
                actor=actor,
                event_key=key,
                message=f"{why}: the approval now goes to {new.approver.full_name} ({new.route}), "
                f"due {new.due_at:%a %d %b %H:%M} UTC.",
                level=new.level,
                request=new.pk,
            )
        return
    # Nobody at all can decide (everyone able to is named in the escalation): it stays where it
    # is, the raiser and the policy owner are told, and nothing reaches an executive unapproved.
    _audit(old, "unanswered", actor, reason=why)
    if old.escalation_id:
        esc = old.escalation
        esc_services.escalation_approval_refused(
            escalation=esc,
            level_order=old.level,
            actor=actor,
            note=f"{why}, and nobody else able to approve can be reached: it stays at level {esc.current_level}. "
            f"{esc.policy.owner.full_name} (policy owner) has been told.",
        )
        _tell(old, [esc.raiser_person, esc.policy.owner], "approval_unanswered", "unanswered")


@transaction.atomic
def approval_escalate_around(
    *, request: ApprovalRequest, actor, reason: str, expected_version: int | None = None
) -> ApprovalRequest:
    """The raiser goes around an approver who has not answered: straight to their manager.
    Allowed once half the time to decide has passed. A protected act."""
    request = _lock(request, expected_version)
    if not request.is_pending:
        raise Conflict(f"This request is already {request.get_status_display().lower()}.")
    if _raiser_id(request) != actor.pk:
        raise PermissionDenied("Only the person who raised it can go around the approver.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            {"reason": f"Say why (at least {MIN_REASON} characters): it is kept in the decision log."}
        )
    halfway = request.requested_at + (request.due_at - request.requested_at) / 2
    if timezone.now() < halfway:
        raise Conflict(
            f"{request.approver.full_name} has until {request.due_at:%a %d %b %H:%M} UTC; you can go "
            f"around them from {halfway:%a %d %b %H:%M} UTC."
        )
    silent = request.approver
    new = _reroute(request, actor, Outcome.ESCALATED_AROUND, skip_backup=True, reason=reason)
    _protected_act(request, actor, "escalated around an unresponsive approver", reason)
    _after_reroute(request, new, actor, f"The raiser went around {silent.full_name}, who had not answered")
    return new or request


@transaction.atomic
def approval_appeal(*, request: ApprovalRequest, actor, reason: str) -> ApprovalRequest:
    """Appeal a rejection, once, to the rejecting approver's manager. A protected act."""
    request = _lock(request)
    if request.status != RequestStatus.REJECTED:
        raise Conflict("Only a rejected request can be appealed.")
    if _raiser_id(request) != actor.pk:
        raise PermissionDenied("Only the person who raised it can appeal the rejection.")
    if request.appeal_of_id is not None or ApprovalRequest.objects.filter(appeal_of=request).exists():
        raise Conflict("This rejection has already been appealed once; the decision on the appeal stands.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            {"reason": f"Say why the rejection is wrong (at least {MIN_REASON} characters)."}
        )
    rejecter = request.approver
    excluded = set(request.excluded) | {rejecter.pk}
    person = routing.appeal_hearer(rejecter, excluded)
    if person is None:
        raise Conflict(f"Nobody above {rejecter.full_name} can hear an appeal.")
    esc = request.escalation
    if esc.status == Status.AWAITING_APPROVAL:
        # Someone asked for a level again since the rejection: that request is the one to decide
        # (and the database allows one pending request per level).
        raise Conflict(
            f"{esc.reference} is already waiting for an approval of level {esc.pending_level}; "
            "appeal this rejection once that is decided, if it is still needed."
        )
    level = esc.level(request.level)
    appeal = _open(
        kind=request.kind,
        escalation=esc,
        level=level,
        approver=person,
        route=f"appeal against {rejecter.full_name}'s rejection",
        due_at=_decide_by(esc, _level_timeout(level)),
        requested_by=actor,
        excluded=excluded,
        appeal_of=request,
    )
    ExecutiveBrief.objects.create(
        request=appeal, escalation=esc, **{f: getattr(request.brief, f) for f in ExecutiveBrief.FIELDS}
    )
    _log(request, Outcome.APPEALED, actor, reason)
    key = _tell(appeal, [person], "approval_requested", "requested", appeal=True, reason=reason)
    esc_services.escalation_await_approval(
        escalation=esc,
        level_order=request.level,
        actor=actor,
        event_key=key,
        note=f"The raiser appealed {rejecter.full_name}'s rejection to {person.full_name}: {reason}",
    )
    _audit(appeal, "appealed", actor, reason=reason, rejected_by=rejecter.full_name)
    _protected_act(request, actor, "appealed a rejected escalation", reason)
    return appeal


def _raiser_id(request: ApprovalRequest) -> int | None:
    return request.escalation.raiser_id if request.escalation_id else request.requested_by_id


# --- briefs -------------------------------------------------------------------------------------


@transaction.atomic
def brief_acknowledge(*, brief: ExecutiveBrief, actor) -> BriefReceipt:
    """The executive confirms they read it; the escalation is acknowledged too if they own it."""
    person = person_of(actor)
    receipt = BriefReceipt.objects.select_for_update().filter(brief=brief, executive=person).first()
    if receipt is None:
        raise PermissionDenied("This brief was not sent to you.")
    if receipt.acknowledged_at is not None:
        raise Conflict(f"You acknowledged this brief at {receipt.acknowledged_at:%a %d %b %H:%M} UTC.")
    receipt.acknowledged_at = timezone.now()
    receipt.save(update_fields=["acknowledged_at"])
    record(
        action="approvals.brief_acknowledged",
        actor=actor,
        target=brief.request,
        data={"escalation": brief.escalation.reference},
    )
    esc = brief.escalation
    if esc.status == Status.OPEN and esc.owner_id == person.pk:
        esc_services.escalation_acknowledge(escalation=esc, actor=actor)
    return receipt


# --- change-freeze exceptions (the same engine, another subject) ------------------------------------


@transaction.atomic
def freeze_exception_request(
    *, freeze, actor, change_summary: str, timeout: timedelta = timedelta(hours=4)
) -> ApprovalRequest:
    summary = (change_summary or "").strip()
    if len(summary) < 20:
        raise ValidationError(
            {"change_summary": "Describe the change, its risk and its rollback (at least 20 characters)."}
        )
    requester = person_of(actor)
    excluded = {requester.pk} if requester else set()
    approver = routing.first_approver(requester, fallback_owner=None, excluded=excluded)
    if approver is None:
        raise Conflict("Nobody able to approve a change-freeze exception can be reached.")
    request = _open(
        kind=RequestKind.FREEZE_EXCEPTION,
        freeze=freeze,
        change_summary=summary,
        approver=approver,
        route="manager",
        due_at=timezone.now() + timeout,
        requested_by=actor,
        excluded=excluded,
    )
    _tell(request, [approver], "approval_requested", "requested")
    _audit(request, "requested", actor, freeze=freeze.name)
    return request
