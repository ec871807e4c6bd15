"""What protection learns from the domain apps, through functions they register at start-up.

Protection is a platform app (it imports no domain app), yet it must know who is linked to an
escalation (to keep them off a case about it), who manages whom (a named person's managers are
excluded too) and how an actor is linked to an escalation (for a flag). The domain apps register
these in their ``AppConfig.ready``; without a registration the answer is empty, so the
exclusions only ever widen as apps register.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PeopleOf = Callable[[int], set[int]]  # escalation id -> user ids linked to it
ManagersOf = Callable[[set[int]], set[int]]  # user ids -> user ids of their managers (whole line)
ActorLink = Callable[[int, int], list[str]]  # (escalation id, actor user id) -> links in words
EscalationOf = Callable[[int, object], "EscalationRef | None"]  # (escalation id, user) -> ref


@dataclass(frozen=True)
class EscalationRef:
    id: int
    reference: str
    title: str


_people: list[PeopleOf] = []
_managers: list[ManagersOf] = []
_actor_links: list[ActorLink] = []
_escalation_of: list[EscalationOf] = []


def register(
    *,
    people_of: PeopleOf | None = None,
    managers_of: ManagersOf | None = None,
    actor_link: ActorLink | None = None,
    escalation_of: EscalationOf | None = None,
) -> None:
    for fn, registry in (
        (people_of, _people),
        (managers_of, _managers),
        (actor_link, _actor_links),
        (escalation_of, _escalation_of),
    ):
        if fn is not None and fn not in registry:
            registry.append(fn)


def people_of_escalation(escalation_id: int | None) -> set[int]:
    if not escalation_id:
        return set()
    return set().union(*(fn(escalation_id) for fn in _people)) if _people else set()


def managers_of(user_ids: set[int]) -> set[int]:
    return set().union(*(fn(set(user_ids)) for fn in _managers)) if _managers and user_ids else set()


def actor_links(escalation_id: int | None, actor_id: int | None) -> list[str]:
    if not escalation_id or not actor_id:
        return []
    return [link for fn in _actor_links for link in fn(escalation_id, actor_id)]


def escalation_for(escalation_id: int, user) -> EscalationRef | None:
    """The escalation, when ``user`` raised it (the only person who may link a report to it
    from its page); None otherwise."""
    for fn in _escalation_of:
        found = fn(escalation_id, user)
        if found is not None:
            return found
    return None
