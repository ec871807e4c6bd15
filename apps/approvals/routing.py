"""Who may decide an approval request: the rules that keep a conflicted approver out.

The first approver is the requester's manager, climbing the reporting line past anyone who may
not decide: the requester, anyone named in the escalation (its owners, past and present, and
the executive the level would reach), anyone who already decided on it, and anyone without the
authority (the decide capability) or a way to be told. When the line runs out, the policy
owner's line, then the executives, most senior first: a request always has someone to go to.
When everyone has been asked and stayed silent, a new round starts: a request is never left
with nobody, and silence never lets an executive hear of an escalation without an approval.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.accounts.roles import Cap, Role
from apps.contacts.models import Person
from apps.contacts.selectors import backup_for
from apps.escalations import chain as ch
from apps.escalations.chain import FrozenLevel
from apps.escalations.models import Escalation
from apps.escalations.services import stakeholders


def may_decide(person: Person | None) -> bool:
    user = getattr(person, "user", None)
    return bool(user and user.is_active and user.has_perm(Cap.DECIDE_APPROVAL.perm) and ch.reachable(person))


def excluded_for_escalation(esc: Escalation, level: FrozenLevel) -> set[int]:
    named = {p.pk for p in stakeholders(esc)}
    if esc.raiser_person_id:
        named.add(esc.raiser_person_id)
    if level.target_person:
        named.add(level.target_person)
    target = ch.level_contact(level, timezone.now())
    if target is not None:
        named.add(target.pk)
    return named


def first_eligible(people, excluded: set[int]) -> Person | None:
    return next((p for p in people if p is not None and p.pk not in excluded and may_decide(p)), None)


def first_approver(
    requester: Person | None, *, fallback_owner: Person | None, excluded: set[int]
) -> Person | None:
    line = requester.management_chain() if requester else []
    owner_line = [fallback_owner, *fallback_owner.management_chain()] if fallback_owner else []
    return first_eligible([*line, *owner_line, *_executives()], excluded)


def appeal_hearer(rejecter: Person, excluded: set[int]) -> Person | None:
    """Who hears an appeal against ``rejecter``: up their line, then the other executives."""
    return first_eligible([*rejecter.management_chain(), *_executives()], excluded | {rejecter.pk})


def next_approver(
    chain_start: Person, asked: set[int], excluded: set[int], at: datetime, *, skip_backup: bool = False
) -> tuple[Person, str] | None:
    """After ``chain_start`` (the first approver) was silent: their backup, then up their line,
    then the other executives; when everyone has been asked, a new round from the start."""
    blocked = excluded | asked
    if not skip_backup:
        backup = backup_for(chain_start, at)
        if backup is not None and backup.pk not in blocked and may_decide(backup):
            return backup, f"backup of {chain_start.full_name}"
    previous = chain_start
    for boss in chain_start.management_chain():
        if boss.pk not in blocked and may_decide(boss):
            return boss, f"manager of {previous.full_name}"
        previous = boss
    executive = first_eligible(_executives(), blocked)
    if executive is not None:
        return executive, "next available executive"
    # Everyone able to decide was asked and stayed silent: a new round, from the start. The
    # request never sits with nobody, and silence never lets an executive hear of it unapproved.
    again = first_eligible([chain_start, *chain_start.management_chain(), *_executives()], excluded)
    return (again, "asked again: nobody decided in the first round") if again is not None else None


def _executives():
    return Person.objects.filter(user__groups__name=Role.EXECUTIVE.value, user__is_active=True).order_by(
        "-authority_rank", "full_name"
    )
