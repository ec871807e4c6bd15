"""Whose an audit event is, and who may read it.

An audit event is seen by those who may see the record it concerns: a record someone cannot
open never shows up in the trail for them either (issue 8: the trail leaked confidential
escalations to every manager). The audit app knows no domain app, so each app says what its
records belong to, and the top of the house says who may read what:

- at write time, ``record`` asks the scoper registered for the target's model for a
  ``Scope``: the escalation the record belongs to (an approval request belongs to its
  escalation) and the team whose record it is (a person's team, a policy owner's team). Both
  are stored on the event and covered by its hash;
- an event whose scope is ``confined_to`` an app (retaliation cases: "protection") never
  shows in the general trail, for anyone; that app shows its own events (``confined_events``)
  under its own need-to-know;
- at read time, ``reader_rule(user)`` is the condition on events that the registered reader
  rule decides (``apps.escalations.audit``): auditors everything, governance admins all but
  confidential escalations they take no part in, managers their teams' records, nobody else
  anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model, Q


@dataclass(frozen=True)
class Scope:
    escalation_id: int | None = None
    team_id: int | None = None
    # Kept out of the general trail entirely; only the named app shows these events.
    confined_to: str = ""


Scoper = Callable[[Model], Scope]
ReaderRule = Callable[[object], "Q | None"]

_scopers: dict[str, Scoper] = {}
_reader_rule: list[ReaderRule] = []


def register_scoper(model_label: str, scoper: Scoper) -> None:
    """``model_label`` as ``app_label.modelname`` (lower case), e.g. ``escalations.escalation``."""
    _scopers[model_label] = scoper


def scope_of(target: Model | None) -> Scope:
    if target is None:
        return Scope()
    scoper = _scopers.get(target._meta.label_lower)
    return scoper(target) if scoper else Scope()


def register_reader_rule(rule: ReaderRule) -> None:
    """The one rule deciding which events a user may read; registered once, at start-up."""
    _reader_rule[:] = [rule]


def reader_rule(user) -> Q | None:
    """The condition on ``AuditEvent`` rows the user may read; ``None`` when they may read none.
    Without a registered rule (the audit app alone, as in its own tests) nobody reads anything:
    failing closed."""
    if not user.is_authenticated or not _reader_rule:
        return None
    rule = _reader_rule[0](user)
    return None if rule is None else rule & Q(confined_to="")
