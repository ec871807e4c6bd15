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


def confidential_read_of(user, column: str):
    """As an expression over a row naming an escalation in ``column``: that escalation's id
    when showing the row is a read to record (it is confidential and ``user`` takes no part
    in it), else NULL. Decided in the feed page's own query."""
    from django.db.models import OuterRef, Subquery

    from apps.escalations.models import Escalation

    return Subquery(
        Escalation.objects.filter(pk=OuterRef(column), confidential=True)
        .exclude(pk__in=selectors.taking_part_ids(user))
        .values("pk")[:1]
    )


def _feed_reads(user, escalation_ids) -> None:
    confidential_reads(user, escalation_ids, page=FEED_PAGE)


def register_history() -> None:
    from django.db.models import F, Value
    from django.db.models.functions import Concat
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
            feed_read=lambda user: confidential_read_of(user, "id"),
            on_feed_read=_feed_reads,
            name=lambda: Concat(F("reference"), Value(" "), F("title")),
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
            # A hand-off's changes are a read of its escalation (recorded with the escalation's).
            feed_read=lambda user: confidential_read_of(user, "escalation_id"),
            on_feed_read=_feed_reads,
        )
    )
