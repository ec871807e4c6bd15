"""Deadline handlers of the policies app (run by apps.timers inside the firing transaction)."""

from __future__ import annotations

from django.utils import timezone

from apps.audit.services import record
from apps.notifications.services import Recipient, notify
from apps.policies.models import CalendarChange, EscalationPolicy
from apps.policies.services import CALENDAR_CHANGE_DUE, REVIEW_DUE, calendar_change_apply
from apps.timers.registry import register


@register(REVIEW_DUE, label="Policy review due")
def policy_review_due(deadline) -> None:
    """Tell the owner their policy is due for review; the dashboard shows it as overdue."""
    policy = EscalationPolicy.objects.select_related("owner").filter(pk=deadline.subject_id).first()
    if policy is None or not policy.active or policy.next_review_on > timezone.localdate():
        return  # deleted, retired or reviewed since: nothing is due
    owner = policy.owner
    notify(
        event_key=f"policy-review:{policy.pk}:{policy.next_review_on}",
        recipient=_recipient(owner),
        template="policy_review_due",
        context={"policy": policy, "due_on": policy.next_review_on},
        subject_type="policies.escalationpolicy",
        subject_id=str(policy.pk),
    )
    record(
        action="policies.review_due",
        target=policy,
        data={"due_on": policy.next_review_on, "owner": owner.full_name},
    )


@register(CALENDAR_CHANGE_DUE, label="Calendar change takes effect")
def calendar_change_due(deadline) -> None:
    change = CalendarChange.objects.filter(pk=deadline.subject_id).first()
    if change is not None:
        calendar_change_apply(change=change)


def _recipient(person) -> Recipient:
    """The person's contact methods in priority order; the address on their record is tried
    last when none of them is an email (a review reminder should not hang on a pager alone)."""
    methods = [(m.kind, m.value) for m in person.contact_methods.order_by("priority")]
    if person.email and not any(kind == "email" for kind, _ in methods):
        methods.append(("email", person.email))
    return Recipient(key=f"person:{person.pk}", name=person.full_name, methods=tuple(methods))
