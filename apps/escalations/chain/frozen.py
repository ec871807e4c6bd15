"""The chain frozen on an escalation when it is raised: typed, and stored as JSON.

Raising an escalation copies what its policy says at that moment (the version, the calendar,
the threshold that applied, the criteria, the extra fields, the levels) into the
``Escalation.chain`` JSON field, so later edits of the policy never change an escalation in
flight (DESIGN.md). ``FrozenChain`` is that JSON as dataclasses: code reads ``level.order``,
not ``level["order"]``, and the JSON shape is unchanged, so no data migration was needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from apps.policies.models import EscalationPolicy

# A level stored before approval timeouts were frozen waits this long.
DEFAULT_APPROVAL_TIMEOUT = timedelta(hours=4)


@dataclass(frozen=True)
class FrozenLevel:
    order: int
    name: str
    target_kind: str  # "person" | "team_on_call" | "rotation"
    target_person: int | None
    target_team: int | None
    target_rotation: int | None
    authority_rank: int
    requires_approval: bool
    approval_timeout: timedelta
    trigger_roles: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict) -> FrozenLevel:
        return cls(
            order=data["order"],
            name=data["name"],
            target_kind=data["target_kind"],
            target_person=data.get("target_person"),
            target_team=data.get("target_team"),
            target_rotation=data.get("target_rotation"),
            authority_rank=data.get("authority_rank", 0),
            requires_approval=bool(data.get("requires_approval")),
            approval_timeout=timedelta(seconds=data.get("approval_timeout_seconds") or 0)
            or DEFAULT_APPROVAL_TIMEOUT,
            trigger_roles=tuple(data.get("trigger_roles") or ()),
        )

    def to_json(self) -> dict:
        return {
            "order": self.order,
            "name": self.name,
            "target_kind": self.target_kind,
            "target_person": self.target_person,
            "target_team": self.target_team,
            "target_rotation": self.target_rotation,
            "authority_rank": self.authority_rank,
            "requires_approval": self.requires_approval,
            "approval_timeout_seconds": int(self.approval_timeout.total_seconds()),
            "trigger_roles": list(self.trigger_roles),
        }


@dataclass(frozen=True)
class FrozenPolicy:
    id: int
    name: str
    slug: str
    version: int  # the how-many-th saved state of the policy this is


@dataclass(frozen=True)
class FrozenThreshold:
    severity: str
    customer_tier: str
    acknowledge_within: timedelta
    resolve_within: timedelta
    business_hours_only: bool


@dataclass(frozen=True)
class FrozenChain:
    policy: FrozenPolicy
    calendar_id: int
    threshold: FrozenThreshold
    criteria: tuple[str, ...]
    extra_fields: tuple[dict, ...]  # {"name", "label", "help"} as the policy declares them
    levels: tuple[FrozenLevel, ...]

    def level(self, order: int) -> FrozenLevel | None:
        return next((lvl for lvl in self.levels if lvl.order == order), None)

    @classmethod
    def from_json(cls, data: dict) -> FrozenChain:
        threshold = data["threshold"]
        return cls(
            policy=FrozenPolicy(**data["policy"]),
            calendar_id=data["calendar"],
            threshold=FrozenThreshold(
                severity=threshold["severity"],
                customer_tier=threshold["customer_tier"],
                acknowledge_within=timedelta(seconds=threshold["acknowledge_seconds"]),
                resolve_within=timedelta(seconds=threshold["resolve_seconds"]),
                business_hours_only=threshold["business_hours_only"],
            ),
            criteria=tuple(data.get("criteria") or ()),
            extra_fields=tuple(data.get("extra_fields") or ()),
            levels=tuple(FrozenLevel.from_json(level) for level in data["levels"]),
        )

    def to_json(self) -> dict:
        policy, threshold = self.policy, self.threshold
        return {
            "policy": {"id": policy.id, "name": policy.name, "slug": policy.slug, "version": policy.version},
            "calendar": self.calendar_id,
            "threshold": {
                "severity": threshold.severity,
                "customer_tier": threshold.customer_tier,
                "acknowledge_seconds": int(threshold.acknowledge_within.total_seconds()),
                "resolve_seconds": int(threshold.resolve_within.total_seconds()),
                "business_hours_only": threshold.business_hours_only,
            },
            "criteria": list(self.criteria),
            "extra_fields": [dict(spec) for spec in self.extra_fields],
            "levels": [level.to_json() for level in self.levels],
        }


def freeze_chain(policy: EscalationPolicy, *, severity: str, customer_tier: str) -> tuple[int, FrozenChain]:
    """(policy history id, the chain as it stands now) for an escalation being raised."""
    history = policy.history.order_by("-history_id").values_list("history_id", flat=True)
    version = history.first()
    threshold = policy.thresholds.get(severity=severity, customer_tier=customer_tier)
    chain = FrozenChain(
        policy=FrozenPolicy(id=policy.pk, name=policy.name, slug=policy.slug, version=history.count()),
        calendar_id=policy.calendar_id,
        threshold=FrozenThreshold(
            severity=severity,
            customer_tier=customer_tier,
            acknowledge_within=threshold.acknowledge_within,
            resolve_within=threshold.resolve_within,
            business_hours_only=threshold.business_hours_only,
        ),
        criteria=tuple(policy.de_escalation_criteria or ()),
        extra_fields=tuple(policy.extra_required_fields or ()),
        levels=tuple(
            FrozenLevel(
                order=lvl.order,
                name=lvl.name,
                target_kind=lvl.target_kind,
                target_person=lvl.target_person_id,
                target_team=lvl.target_team_id,
                target_rotation=lvl.target_rotation_id,
                authority_rank=lvl.authority_rank,
                requires_approval=lvl.requires_approval,
                approval_timeout=lvl.approval_timeout,
                trigger_roles=tuple(lvl.trigger_roles or ()),
            )
            for lvl in policy.levels.order_by("order")
        ),
    )
    return version or 0, chain
