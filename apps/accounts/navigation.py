"""The main navigation, filtered by what the user's roles allow.

Apps add entries here as they land; an entry whose URL name does not resolve is a bug, and
the navigation test reverses every one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from apps.accounts.roles import Cap, Capability


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: Capability | None = None
    staff_only: bool = False


NAV = [
    NavItem("Home", "home"),
    NavItem("Escalations", "escalations:dashboard"),
    NavItem("Approvals", "approvals:inbox", Cap.DECIDE_APPROVAL),
    NavItem("Decision log", "approvals:log", Cap.BROWSE_AUDIT),
    NavItem("Policies", "policies:list"),
    NavItem("People", "contacts:people"),
    NavItem("Teams", "contacts:teams"),
    NavItem("On call", "contacts:on_call"),
    NavItem("Audit trail", "audit:events", Cap.BROWSE_AUDIT),
    NavItem("Timers", "timers:overview", Cap.SEE_OPERATIONS),
    NavItem("Admin", "admin:index", Cap.EDIT_POLICIES, staff_only=True),
]


def items_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    items = []
    for item in NAV:
        if item.capability and not user.has_perm(item.capability.perm):
            continue
        if item.staff_only and not user.is_staff:
            continue
        items.append({"label": item.label, "url": reverse(item.url_name)})
    return items
