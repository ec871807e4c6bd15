"""The role matrix of DESIGN.md, declared once.

Roles are Django groups; capabilities are permissions (``accounts.<codename>``) given to the
groups by ``sync_roles`` (run after every migrate). A capability says a role may do a kind of
thing at all; the *scope* (own reports, own team, assigned reviewers...) is checked against the
object by the owning app's access helper. Views declare what they need with the decorators in
``apps.accounts.access``, and ``tests/accounts/test_url_access.py`` walks every URL pattern
against every role, so a view cannot skip the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    STAFF = "staff"
    RESPONDER = "responder"
    MANAGER = "manager"
    EXECUTIVE = "executive"
    AUDITOR = "auditor"
    HR_COMPLIANCE = "hr_compliance"
    GOVERNANCE_ADMIN = "governance_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.STAFF: "Staff",
    Role.RESPONDER: "Responder",
    Role.MANAGER: "Manager",
    Role.EXECUTIVE: "Executive",
    Role.AUDITOR: "Auditor",
    Role.HR_COMPLIANCE: "HR / Compliance",
    Role.GOVERNANCE_ADMIN: "Governance admin",
}


@dataclass(frozen=True)
class Capability:
    codename: str
    label: str
    # role -> scope; a role absent from the mapping lacks the capability.
    scopes: dict[Role, str]

    @property
    def perm(self) -> str:
        return f"accounts.{self.codename}"

    def allows(self, role: Role) -> bool:
        return role in self.scopes


S, R, M, E, A, H, G = (
    Role.STAFF,
    Role.RESPONDER,
    Role.MANAGER,
    Role.EXECUTIVE,
    Role.AUDITOR,
    Role.HR_COMPLIANCE,
    Role.GOVERNANCE_ADMIN,
)


class Cap:
    """Every capability of the matrix. Scopes are enforced per object by the owning app."""

    RAISE_ESCALATION = Capability(
        "raise_escalation",
        "Raise an escalation and see own escalations",
        {S: "own", R: "own", M: "own", E: "own", H: "own", G: "own"},
    )
    SEE_ESCALATIONS = Capability(
        "see_escalations",
        "See every escalation that is not confidential",
        {
            R: "not confidential",
            M: "not confidential",
            E: "not confidential",
            A: "read-only",
            G: "not confidential",
        },
    )
    READ_CONFIDENTIAL = Capability(
        "read_confidential",
        "Read confidential escalations you take no part in (read-only, each read audited)",
        {A: "all, read-only, each read audited"},
    )
    RESPOND_ESCALATION = Capability(
        "respond_escalation",
        "Acknowledge, hand off and resolve escalations you own or are reached with",
        {R: "where owner", M: "where owner", E: "where owner"},
    )
    TRIGGER_LEVEL = Capability(
        "trigger_level",
        "Escalate to a level the policy lets your role trigger",
        {S: "level rules", R: "level rules", M: "level rules", E: "any level"},
    )
    DECIDE_APPROVAL = Capability(
        "decide_approval",
        "Decide an executive approval",
        {M: "own reports'", E: "any"},
    )
    READ_BRIEF = Capability(
        "read_brief",
        "Read executive briefs",
        {M: "approved ones", E: "all", A: "all"},
    )
    BROWSE_AUDIT = Capability(
        "browse_audit",
        "Browse the decision log, history and audit chain",
        {M: "own team", A: "all, read-only", G: "all"},
    )
    SEE_OPERATIONS = Capability(
        "see_operations",
        "See the portal's clocks and message deliveries",
        {A: "read-only", G: "all"},
    )
    FILE_PROTECTION_REPORT = Capability(
        "file_protection_report",
        "File a protection (retaliation) report",
        {role: "own" for role in Role},
    )
    REVIEW_PROTECTION_REPORT = Capability(
        "review_protection_report",
        "Review protection reports",
        {A: "counts only", H: "assigned reviewers"},
    )
    SEE_REPORTER_IDENTITY = Capability(
        "see_reporter_identity",
        "See a reporter's identity",
        {H: "after approved disclosure"},
    )
    WORK_PROTECTION_CASES = Capability(
        "work_protection_cases",
        "Work protection cases: the HR desk, assigned cases, watch-window flags",
        {H: "assigned reviewers; flags for protection officers"},
    )
    SEE_PROTECTION_STATISTICS = Capability(
        "see_protection_statistics",
        "See protection statistics (counts below five suppressed)",
        {A: "counts only", E: "counts only", H: "counts only"},
    )
    KEEP_RECORDS = Capability(
        "keep_records",
        "Verify the audit chain on demand, keep retention rules and legal holds",
        {G: "all"},
    )
    EDIT_POLICIES = Capability(
        "edit_policies",
        "Edit policies, contacts and calendars",
        {G: "all"},
    )

    @classmethod
    def all(cls) -> list[Capability]:
        return [value for value in vars(cls).values() if isinstance(value, Capability)]


def capabilities_of(role: Role) -> list[Capability]:
    return [cap for cap in Cap.all() if cap.allows(role)]
