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
