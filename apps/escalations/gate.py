"""The approval gate: how an escalation asks for a manager's approval before an executive level.

Escalations must not import the approvals app (dependencies point approvals -> escalations), so
approvals registers its gate here in ``AppConfig.ready``. Without a registered gate, an executive
level cannot be reached at all: refusing is safer than notifying an executive unapproved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from apps.escalations.chain import FrozenLevel


class GateClosed(Exception):
    """No approval engine is installed, so an approval level cannot be requested."""


@dataclass(frozen=True)
class ApprovalOpened:
    approver_name: str
    due_at: datetime
    approval_id: int | None = None
    # The outbox key of the approver's notification, so the timeline shows its delivery.
    event_key: str = ""


@dataclass(frozen=True)
class GateStatus:
    """Where an escalation stands with the gate, for the person looking at it: the approval it
    waits for (who decides, by when), or the latest refusal (why, by whom) and whether that
    person may appeal it now, to whom, and where."""

    waiting_for: str = ""
    due_at: datetime | None = None
    refused_by: str = ""
    refusal_reason: str = ""
    appeal_to: str = ""
    approval_url: str = ""
    appeal_url: str = ""


class ApprovalGate(Protocol):
    def open(
        self, *, escalation, level: FrozenLevel, actor, reason: str, manager_conflicted: bool = False
    ) -> ApprovalOpened:
        """Open a request for ``level`` in the caller's transaction (the escalation is locked);
        ``manager_conflicted``: the raiser says their manager is part of it, so it goes past them."""

    def withdraw(self, *, escalation, actor, reason: str) -> None:
        """Withdraw any pending request of the escalation (it was withdrawn or resolved)."""

    def status(self, *, escalation, user) -> GateStatus:
        """Where ``escalation`` stands with the gate, as ``user`` may see it."""


class _NoGate:
    def open(
        self, *, escalation, level: FrozenLevel, actor, reason: str, manager_conflicted: bool = False
    ) -> ApprovalOpened:
        raise GateClosed(
            f"Level {level.order} ({level.name}) is reached only through a manager's approval, "
            "and no approval engine is installed."
        )

    def withdraw(self, *, escalation, actor, reason: str) -> None:
        return None

    def status(self, *, escalation, user) -> GateStatus:
        return GateStatus()


_gate: ApprovalGate = _NoGate()


def register_gate(gate: ApprovalGate) -> None:
    global _gate
    _gate = gate


def approval_gate() -> ApprovalGate:
    return _gate
