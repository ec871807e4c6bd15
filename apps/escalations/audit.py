"""What the audit trail needs to know about escalations (``apps.audit.scopes``): an event about
an escalation belongs to it, and who may read the trail at all.

The reader rule lives here because this is the lowest app that knows both halves of it: whom
a person oversees (contacts) and which escalations they may open (escalations).
"""

from __future__ import annotations

from django.db.models import Q

from apps.audit.scopes import Scope, register_reader_rule, register_scoper
from apps.audit.services import record
from apps.contacts.selectors import oversight_of
from apps.escalations import selectors


def audit_reader_rule(user) -> Q | None:
    """Auditors read every event; governance admins every event but those about confidential
    escalations they take no part in; managers the events about their teams' people, teams,
    rotations and policies and about their teams' escalations they may open; nobody else any."""
    oversight = oversight_of(user)
    if not oversight.any:
        return None
    escalations = selectors.visible_by_id(user, "escalation_id")
    if oversight.everything:
        return Q(escalation_id__isnull=True) | escalations if escalations else Q()
    teams = oversight.team_ids
    theirs = selectors.of_teams(selectors.visible_escalations(user), teams).values("pk")
    return Q(escalation_id__isnull=True, team_id__in=teams) | Q(escalation_id__in=theirs)


def register() -> None:
    register_scoper("escalations.escalation", lambda esc: Scope(escalation_id=esc.pk))
    register_reader_rule(audit_reader_rule)
    register_history()


def overseen_escalations(user):
    """The escalations whose history and audit the user may browse (a queryset of pks), or
    ``None``: auditors all, governance admins all they may open, managers their teams' ones."""
    oversight = oversight_of(user)
    if not oversight.any:
        return None
    visible = selectors.visible_escalations(user)
    if not oversight.everything:
        visible = selectors.of_teams(visible, oversight.team_ids)
    return visible.values("pk")


def overseen_condition(user, column: str) -> Q | None:
    """``overseen_escalations`` as a condition on an escalation id ``column``: no condition at
    all (``Q()``) for those who see every escalation, the few confidential ones they take no
    part in left out for those who see all others, their teams' ones for managers, ``None``
    for nobody. An auditor's feed no longer tests every row against all 100,000 escalations
    (63-190 ms a source at a million history rows, bench/lists.py)."""
    oversight = oversight_of(user)
    if not oversight.any:
        return None
    if oversight.everything:
        return selectors.visible_by_id(user, column)
    return Q(**{f"{column}__in": overseen_escalations(user)})


def escalation_rule(column: str):
    def rule(user) -> Q | None:
        return overseen_condition(user, column)

    return rule


FEED_PAGE = "History of changes"


def confidential_reads(user, escalation_ids, *, page: str) -> None:
    """An audit event for each confidential escalation among ``escalation_ids`` whose changes
    ``user`` was shown without taking part in it (as opening it would be): two queries, then
    one event per such escalation."""
    from apps.escalations.models import Escalation

    for esc in (
        Escalation.objects.filter(pk__in=escalation_ids, confidential=True)
        .exclude(pk__in=selectors.taking_part_ids(user))
        .only("id", "reference", "title")
    ):
        record(
            action="escalations.confidential_read",
            actor=user,
            target=esc,
            data={"reference": esc.reference, "page": page},
        )


def register_history() -> None:
    from django.urls import reverse

    from apps.audit.feed import HistorySource, register_history_source
    from apps.escalations.models import Escalation, HandOff

    register_history_source(
        HistorySource(
            "escalation",
            "Escalation",
            Escalation,
            escalation_rule("id"),
            url=lambda pk: reverse("escalations:detail", args=[pk]),
            describe=lambda r: f"{r.reference} {r.title}",
            # Opening a confidential escalation's history one takes no part in is a read of it.
            on_read=lambda user, esc: selectors.get_escalation_for_user(
                user, esc.pk, page="Escalation history"
            ),
            on_feed_read=lambda user, ids: confidential_reads(user, ids, page=FEED_PAGE),
        )
    )
    register_history_source(
        HistorySource(
            "handoff",
            "Hand-off",
            HandOff,
            escalation_rule("escalation_id"),
            url=None,
            describe=lambda r: f"Hand-off of escalation #{r.escalation_id}",
            on_feed_read=lambda user, ids: confidential_reads(
                user, HandOff.objects.filter(pk__in=ids).values("escalation_id"), page=FEED_PAGE
            ),
        )
    )
