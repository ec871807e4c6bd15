"""How an actor is linked to an escalation through its approvals, for protection's flags."""

from __future__ import annotations

from apps.approvals.models import ApprovalDecision, Outcome


def decided_on(escalation_id: int, actor_id: int) -> list[str]:
    outcomes = set(
        ApprovalDecision.objects.filter(
            approval__escalation_id=escalation_id,
            decided_by_id=actor_id,
            outcome__in=[Outcome.APPROVED, Outcome.REJECTED],
        ).values_list("outcome", flat=True)
    )
    return [f"{Outcome(o).label.lower()} its executive approval" for o in sorted(outcomes)]
