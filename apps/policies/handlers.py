"""Deadline handlers of the policies app (run by apps.timers inside the firing transaction)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from apps.audit.services import record
from apps.notifications.services import notify
from apps.policies.models import EscalationPolicy
from apps.policies.services import REVIEW_DUE
from apps.timers.registry import register


@register(REVIEW_DUE)
def policy_review_due(deadline) -> None:
    """Tell the owner their policy is due for review; the dashboard shows it as overdue."""
    policy = EscalationPolicy.objects.select_related("owner").filter(pk=deadline.subject_id).first()
    if policy is None or not policy.active or policy.next_review_on > timezone.localdate():
        return  # deleted, retired or reviewed since: nothing is due
    owner = policy.owner
    address = next((m.value for m in owner.contact_methods.all() if m.kind == "email"), owner.email)
    notify(
        event_key=f"policy-review:{policy.pk}:{policy.next_review_on}",
        recipient_key=f"person:{owner.pk}",
        address=address,
        subject=f"Review due: escalation policy “{policy.name}”",
        body=(
            f"Hello {owner.full_name},\n\nThe escalation policy “{policy.name}” was due for review on "
            f"{policy.next_review_on:%d %B %Y}. Please check its levels, contacts and thresholds are still "
            f"right, then mark it reviewed:\n\n{settings.SITE_URL}/policies/{policy.pk}/\n"
        ),
    )
    record(action="policies.review_due", target=policy, data={"due_on": policy.next_review_on, "owner": owner.full_name})
