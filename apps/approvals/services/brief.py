"""The executive brief: drafted from the SBAR, edited by the approver, sent on approval,
acknowledged by the executive."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.approvals.models import (
    ApprovalRequest,
    BriefReceipt,
    ExecutiveBrief,
)
from apps.approvals.services.common import (
    Kind,
    tell,
)
from apps.audit.services import record
from apps.common.errors import Conflict
from apps.common.moments import shown
from apps.contacts.models import Person
from apps.contacts.selectors import person_of
from apps.escalations import chain as ch
from apps.escalations import services as esc_services
from apps.escalations.models import Escalation, Status


def draft_brief(approval: ApprovalRequest) -> ExecutiveBrief:
    """The escalation in business terms, for an executive with two minutes."""
    esc = approval.escalation
    next_update = (esc.last_update_at or esc.raised_at) + ch.update_cadence(esc.severity)
    brief = ExecutiveBrief(
        approval=approval,
        escalation=esc,
        what_is_happening=f"{esc.title}. {esc.situation}",
        who_is_affected=f"{esc.who_is_impacted} Impact: {esc.impact} "
        f"(expected {esc.impact_expected_at:%a %d %b %H:%M} UTC).",
        what_is_being_done=esc.assessment,
        what_is_asked=esc.recommendation,
        next_update=f"By {max(next_update, timezone.now()):%a %d %b %H:%M} UTC, from the owner.",
    )
    brief._change_reason = "Drafted from the escalation"
    brief.save()
    return brief


def apply_brief_edits(brief: ExecutiveBrief, edits: dict | None, actor) -> bool:
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


def send_brief(approval: ApprovalRequest, actor) -> list[Person]:
    """On approval: the brief goes to the executive the level reached, held if embargoed."""
    esc = Escalation.objects.select_related("engaged").get(pk=approval.escalation_id)
    brief = approval.brief
    executives = [esc.engaged] if esc.engaged and esc.current_level == approval.level else []
    now = timezone.now()
    for person in executives:
        BriefReceipt.objects.get_or_create(brief=brief, executive=person, defaults={"sent_at": now})
        if person.user_id:
            assign_perm("escalations.view_escalation", person.user, esc)
    brief.sent_at = now
    brief._history_user, brief._change_reason = actor, "Sent"
    brief.save(update_fields=["sent_at"])
    approved_by = f"approved by {actor.get_full_name() or actor.get_username()}"
    key = tell(
        approval,
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
        request=approval.pk,  # the timeline data key the escalation page links by
        brief=brief.pk,
    )
    return executives


@transaction.atomic
def brief_acknowledge(*, brief: ExecutiveBrief, actor) -> BriefReceipt:
    """The executive confirms they read it; the escalation is acknowledged too if they own it."""
    person = person_of(actor)
    receipt = BriefReceipt.objects.select_for_update().filter(brief=brief, executive=person).first()
    if receipt is None:
        raise PermissionDenied("This brief was not sent to you.")
    if receipt.acknowledged_at is not None:
        raise Conflict(f"You acknowledged this brief at {shown(receipt.acknowledged_at)}.")
    receipt.acknowledged_at = timezone.now()
    receipt.save(update_fields=["acknowledged_at"])
    record(
        action="approvals.brief_acknowledged",
        actor=actor,
        target=brief.approval,
        data={"escalation": brief.escalation.reference},
    )
    esc = brief.escalation
    if esc.status == Status.OPEN and esc.engaged_id == person.pk:
        esc_services.escalation_acknowledge(escalation=esc, actor=actor)
    return receipt
