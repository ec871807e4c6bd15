"""The main navigation, filtered by what the user's roles allow.

Apps add entries here as they land; an entry whose URL name does not resolve is a bug, and
the navigation test reverses every one. The rarer pages sit in groups (a menu each), so the bar
fits one line at 1366 px whatever the roles (issue 12).
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
    group: str = ""  # shown in a menu of this name
    roles: tuple[str, ...] = ()  # only for these roles (besides the capability)


NAV = [
    NavItem("Home", "home"),
    NavItem("Escalations", "escalations:dashboard"),
    NavItem("Approvals", "approvals:inbox", Cap.DECIDE_APPROVAL),
    NavItem("Briefs", "approvals:briefs", Cap.READ_BRIEF, roles=("executive",)),
    NavItem("Policies", "policies:list"),
    NavItem("People", "contacts:people", group="Directory"),
    NavItem("Teams", "contacts:teams", group="Directory"),
    NavItem("On call", "contacts:on_call", group="Directory"),
    NavItem("Decision log", "approvals:log", Cap.BROWSE_AUDIT, group="Records"),
    NavItem("Audit trail", "audit:events", Cap.BROWSE_AUDIT, group="Records"),
    NavItem("Change history", "audit:history", Cap.BROWSE_AUDIT, group="Records"),
    NavItem("Retention", "audit:retention", Cap.SEE_OPERATIONS, group="Records"),
    NavItem("Timers", "timers:overview", Cap.SEE_OPERATIONS, group="Records"),
    NavItem("Protection desk", "protection:desk", Cap.WORK_PROTECTION_CASES),
    NavItem("Admin", "admin:index", Cap.EDIT_POLICIES, staff_only=True),
]


def items_for(user) -> list[dict]:
    """Entries in order: ``{"label", "url"}``, or ``{"label", "children": [...]}`` for a group
    (placed where its first entry is)."""
    if not user.is_authenticated:
        return []
    items: list[dict] = []
    groups: dict[str, dict] = {}
    for item in NAV:
        if item.capability and not user.has_perm(item.capability.perm):
            continue
        if item.staff_only and not user.is_staff:
            continue
        if item.roles and not {str(r) for r in user.roles} & set(item.roles):
            continue
        entry = {"label": item.label, "url": reverse(item.url_name)}
        if not item.group:
            items.append(entry)
        elif item.group in groups:
            groups[item.group]["children"].append(entry)
        else:
            groups[item.group] = {"label": item.group, "children": [entry]}
            items.append(groups[item.group])
    return items
