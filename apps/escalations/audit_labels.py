"""Escalations' action codes in words, and where an escalation lives (``apps.audit.labels``)."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.labels import register_actions, register_target_urls

ACTIONS = {
    "escalations.raised": ("Raised", "{actor} raised {target} ({data[severity]})"),
    "escalations.acknowledged": ("Acknowledged", "{actor} acknowledged {target}"),
    "escalations.ownership_taken": ("Took ownership", "{actor} took ownership of {target} from {data[from]}"),
    "escalations.handed_off": ("Handed off", "{actor} handed {target} off to {data[to]}"),
    "escalations.escalated": ("Escalated", "{actor} escalated {target} to level {data[to_level]}"),
    "escalations.de_escalated": ("De-escalated", "{actor} de-escalated {target} to level {data[to_level]}"),
    "escalations.resolved": ("Resolved", "{actor} resolved {target}"),
    "escalations.closed": ("Closed", "{actor} closed {target}"),
    "escalations.reopened": ("Reopened", "{actor} reopened {target}"),
    "escalations.withdrawn": ("Withdrawn", "{actor} withdrew {target}"),
    "escalations.approval_requested": (
        "Approval asked for",
        "{actor} asked for approval to take {target} to level {data[level]}",
    ),
    "escalations.approval_granted": (
        "Approval granted",
        "{target} may reach level {data[to_level]}: approved",
    ),
    "escalations.approval_refused": (
        "Approval refused",
        "{target} may not reach level {data[level]}: refused",
    ),
    "escalations.embargo_set": ("Embargo set", "{actor} held back notifications about {target}"),
    "escalations.embargo_lifted": ("Embargo lifted", "{actor} released the notifications about {target}"),
    "escalations.commented": ("Commented", "{actor} commented on {target}"),
    "escalations.update_posted": ("Stakeholder update", "{actor} posted a stakeholder update on {target}"),
    "escalations.ack_missed": (
        "Acknowledgement missed",
        "{target} was not acknowledged in time by {data[owner]}",
    ),
    "escalations.resolve_breached": ("Resolution target missed", "{target} missed its resolution target"),
    "escalations.level_skipped": (
        "Level skipped",
        "Level {data[level]} of {target} was skipped: nobody to reach",
    ),
    "escalations.chain_exhausted": (
        "Chain exhausted",
        "{target} reached the top of its chain at level {data[level]}",
    ),
}
READS = {
    "escalations.confidential_read": ("Read a confidential escalation", "{actor} read confidential {target}"),
    "escalations.exported": ("Exported escalations", "{actor} exported the escalation list as CSV"),
}


def escalation_urls(ids: list[str]) -> dict[str, str]:
    return {i: reverse("escalations:detail", args=[int(i)]) for i in ids if i.isdigit()}


def register() -> None:
    register_actions(ACTIONS)
    register_actions(READS, read=True)
    register_target_urls("escalations.escalation", escalation_urls, label="Escalation")
