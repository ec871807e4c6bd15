"""Approvals' action codes in words, and where a request lives (``apps.audit.labels``)."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.labels import register_actions, register_target_urls

ACTIONS = {
    "approvals.requested": (
        "Approval requested",
        "{actor} asked {data[approver]} to approve {data[escalation]}",
    ),
    "approvals.approved": (
        "Approved",
        "{actor} approved {data[escalation]} reaching level {data[level]}",
    ),
    "approvals.rejected": (
        "Rejected",
        "{actor} rejected {data[escalation]} reaching level {data[level]}: {data[reason]}",
    ),
    "approvals.withdrawn": ("Approval withdrawn", "{actor} withdrew the request for {data[escalation]}"),
    "approvals.rerouted": ("Rerouted", "{target} went to {data[approver]} instead of {data[previous]}"),
    "approvals.unanswered": ("Unanswered", "{data[approver]} did not answer {target} in time"),
    "approvals.appealed": (
        "Appealed",
        "{actor} appealed {data[rejected_by]}'s rejection of {data[escalation]}",
    ),
    "approvals.brief_acknowledged": (
        "Brief acknowledged",
        "{actor} acknowledged the brief of {data[escalation]}",
    ),
    "protection.protected_act": (
        "Protected act",
        "{actor} {data[act]} on {data[escalation]} (a protected act)",
    ),
}
READS = {
    "approvals.brief_read": (
        "Read an executive brief",
        "{actor} read the executive brief of {data[escalation]}",
    ),
    "approvals.log_exported": ("Exported the decision log", "{actor} exported the decision log as CSV"),
}


def request_urls(ids: list[str]) -> dict[str, str]:
    return {i: reverse("approvals:request", args=[int(i)]) for i in ids if i.isdigit()}


def register() -> None:
    register_actions(ACTIONS)
    register_actions(READS, read=True)
    register_target_urls("approvals.approvalrequest", request_urls, label="Approval request")
    register_history()


# --- history sources (apps.audit.feed) ---------------------------------------------------------


def _request_rule(user):
    from django.db.models import Q

    from apps.escalations.audit import overseen_escalations

    ids = overseen_escalations(user)
    if ids is None:
        return None
    from apps.contacts.selectors import oversight_of

    # A freeze exception belongs to no escalation: those who oversee everything read it.
    return Q(escalation_id__in=ids) | (Q(escalation_id__isnull=True) if oversight_of(user).everything else Q(pk__in=[]))


def _brief_rule(user):
    """Brief versions are brief contents: readers of briefs only, managers approved ones."""
    from django.db.models import Q

    from apps.accounts.roles import Cap, Role
    from apps.escalations.audit import overseen_escalations

    ids = overseen_escalations(user)
    if ids is None or not user.has_perm(Cap.READ_BRIEF.perm):
        return None
    if Role.EXECUTIVE in user.roles or Role.AUDITOR in user.roles:
        return Q(escalation_id__in=ids)
    return Q(escalation_id__in=ids, sent_at__isnull=False)


def _brief_read(user, brief) -> None:
    from apps.audit.services import record

    record(
        action="approvals.brief_read",
        actor=user,
        target=brief.approval,
        data={"escalation": brief.escalation.reference, "brief": brief.pk, "page": "Brief history"},
    )


def register_history() -> None:
    from apps.approvals.models import ApprovalRequest, ExecutiveBrief
    from apps.audit.feed import HistorySource, register_history_source

    register_history_source(
        HistorySource(
            "approval",
            "Approval request",
            ApprovalRequest,
            _request_rule,
            url=lambda pk: reverse("approvals:request", args=[pk]),
            describe=lambda r: f"Approval #{r.id}",
        )
    )
    register_history_source(
        HistorySource(
            "brief",
            "Executive brief",
            ExecutiveBrief,
            _brief_rule,
            url=lambda pk: reverse("approvals:brief", args=[pk]),
            describe=lambda r: f"Brief #{r.id} of escalation #{r.escalation_id}",
            in_feed=False,
            on_read=_brief_read,
        )
    )
