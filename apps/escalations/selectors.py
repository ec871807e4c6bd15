"""Reads about escalations that views, the API and the benchmarks share.

Visibility is decided here, once, in SQL, and every list, feed, export, inbox and report that
shows escalations (or records about one: approval requests, decisions, briefs, audit events)
filters by ``visible_escalations``:
- people who may see every escalation that is not confidential (responders, managers,
  executives, auditors, governance admins) see those;
- everybody sees the escalations they take part in, through guardian's direct foreign-key
  permission rows (raiser, owners, backups, approvers);
- auditors see confidential escalations too (the reason an auditor exists), read-only, and
  each time one opens a confidential escalation they take no part in, it is an audit event.
To anyone else a confidential escalation does not exist (404, not 403).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from apps.accounts.roles import Cap, Role
from apps.audit.services import record
from apps.common.csvexport import chunked_rows
from apps.common.keyset import Keyset, KeysetPage, requested_page
from apps.common.params import InvalidParameter
from apps.contacts.models import Person
from apps.contacts.selectors import person_of
from apps.escalations.chain import FrozenLevel
from apps.escalations.gate import GateStatus, approval_gate
from apps.escalations.models import ACTIVE, Escalation, EscalationUserObjectPermission, HandOff, TimelineEvent
from apps.notifications.selectors import notifications_for_subject
from apps.policies.models import BusinessCalendar


def _view_permission_id() -> int:
    # Looked up per call, not cached: ids differ between databases (and between test flushes).
    return (
        Permission.objects.only("pk")
        .get(content_type__app_label="escalations", codename="view_escalation")
        .pk
    )


def _participates(user) -> Exists:
    # By permission id, not by codename: a join to auth_permission inside the correlated EXISTS
    # keeps SQLite from using guardian's (user, permission, object) index (17 s for page 50 of a
    # staff member's list at 100,000 rows; 52 ms by id).
    return Exists(
        EscalationUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"), user=user, permission_id=_view_permission_id()
        )
    )


def taking_part_ids(user):
    """The ids of the escalations ``user`` takes part in, as a subquery. The permission's id is
    a subquery too (evaluated once by the database), so building this costs no query: the
    history feed decides confidential reads in its page's one query whatever the page holds."""
    view_permission = Permission.objects.filter(
        content_type__app_label="escalations", codename="view_escalation"
    ).values("pk")[:1]
    return EscalationUserObjectPermission.objects.filter(
        user_id=user.pk, permission_id=Subquery(view_permission)
    ).values("content_object_id")


def is_participant(user, esc: Escalation) -> bool:
    """Whether the user takes part in the escalation (raiser, owner, past owners, the people of
    levels reached, backups, approvers): every such step grants a guardian row
    (``grant_participant``), so the row is the one answer."""
    if user is None or not user.is_authenticated:
        return False
    return EscalationUserObjectPermission.objects.filter(
        content_object_id=esc.pk,
        user_id=user.pk,
        permission__codename="view_escalation",
        permission__content_type__app_label="escalations",
    ).exists()


def may_trigger(actor, level: FrozenLevel) -> bool:
    """Whether the actor's role may escalate to this level by hand (the level's trigger roles;
    executives may trigger any level)."""
    if not actor.has_perm(Cap.TRIGGER_LEVEL.perm):
        return False
    roles = {str(r) for r in actor.roles}
    return Role.EXECUTIVE.value in roles or bool(roles & set(level.trigger_roles))


def visible_escalations(user) -> QuerySet[Escalation]:
    if not user.is_authenticated:
        return Escalation.objects.none()
    if user.has_perm(Cap.READ_CONFIDENTIAL.perm):
        return Escalation.objects.all()
    participates = _participates(user)
    if user.has_perm(Cap.SEE_ESCALATIONS.perm):
        return Escalation.objects.filter(Q(confidential=False) | participates)
    return Escalation.objects.filter(participates)


def visible_through(user, relation: str) -> Q:
    """The same rule as ``visible_escalations``, for records that hang off an escalation
    (``relation`` is the path to it, e.g. ``"escalation"`` or ``"request__escalation"``).
    A record with no escalation at all is not restricted by this rule: callers decide."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.has_perm(Cap.READ_CONFIDENTIAL.perm):
        return Q()
    taking_part = Q(**{f"{relation}__in": taking_part_ids(user)})
    if user.has_perm(Cap.SEE_ESCALATIONS.perm):
        return Q(**{f"{relation}__confidential": False}) | taking_part
    return taking_part


def visible_by_id(user, column: str) -> Q:
    """The same rule again, for a plain id column that names an escalation (an audit event's
    ``escalation_id``). Those who see everything not confidential are kept from the few
    confidential escalations they take no part in, rather than joined to every escalation."""
    if user.has_perm(Cap.READ_CONFIDENTIAL.perm):
        return Q()
    taking_part = taking_part_ids(user)
    if user.has_perm(Cap.SEE_ESCALATIONS.perm):
        hidden = Escalation.objects.filter(confidential=True).exclude(pk__in=taking_part).values("pk")
        return ~Q(**{f"{column}__in": hidden})
    return Q(**{f"{column}__in": taking_part})


def of_teams(escalations: QuerySet[Escalation], team_ids) -> QuerySet[Escalation]:
    """A team's escalations: raised by one of its people, owned by one, or on a service it owns."""
    return escalations.filter(
        Q(raiser_person__team_id__in=team_ids)
        | Q(owner__team_id__in=team_ids)
        | Q(service__owner_team_id__in=team_ids)
    )


# What a row of the list or the dashboard prints; the wide columns (the frozen chain, the
# SBAR texts) stay in the database, so sorting a page of a large result stays in memory.
LIST_FIELDS = (
    "reference",
    "title",
    "status",
    "severity",
    "customer_tier",
    "category",
    "confidential",
    "current_level",
    "raised_at",
    "next_due_at",
    "service__name",
    "owner__full_name",
    "owner__user_id",
    "raiser_id",
    "policy_id",
    "service_id",
    "owner_id",
    "version",
)


# The orders the list offers, each paged by keyset on (value, id) with an index matching it:
# raised, both ways (esc_raised, read backwards for oldest first), and next deadline, both ways
# with the escalations that have no clock running last (esc_next_due_soonest, esc_next_due_latest).
# Sorting by reference, title, severity, status, owner, service or level is not offered: each would
# need an index of its own per direction (owner and service one on another table, which no index
# of this one can serve), and severity, status and service are filters already, whose result
# pages newest first.
LIST_ORDERS = {
    "-raised_at": Keyset("raised_at"),
    "raised_at": Keyset("raised_at", descending=False),
    "next_due_at": Keyset("next_due_at", descending=False, nulls_last=True),
    "-next_due_at": Keyset("next_due_at", nulls_last=True),
}
LIST_ORDER = "-raised_at"


def list_order(raw: str) -> str:
    """The list's ``sort`` parameter: one of ``LIST_ORDERS``, newest raised first when empty."""
    chosen = raw.strip() or LIST_ORDER
    if chosen not in LIST_ORDERS:
        raise InvalidParameter(
            "sort", "must be raised_at or next_due_at, with a minus sign before it for the other way", raw
        )
    return chosen


def list_page(escalations: QuerySet[Escalation], params, *, sort: str, size: int) -> KeysetPage:
    """The page of the (filtered) list that ``params`` points at, in the order ``sort`` names:
    two index range scans at most, at any depth."""
    return requested_page(params, escalations, size=size, order=LIST_ORDERS[sort])


def for_list(user) -> QuerySet[Escalation]:
    """What the list and the dashboard show, with what they print, in one query per page."""
    return visible_escalations(user).select_related("service", "owner").only(*LIST_FIELDS)


def for_export(user) -> QuerySet[Escalation]:
    return visible_escalations(user).select_related("service", "owner", "raiser", "policy")


CSV_COLUMNS = [
    "reference",
    "title",
    "status",
    "severity",
    "customer_tier",
    "category",
    "service",
    "policy",
    "policy_version",
    "current_level",
    "owner",
    "raiser",
    "raised_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "ack_due_at",
    "resolve_due_at",
    "confidential",
]
_TIMES = ("raised_at", "acknowledged_at", "resolved_at", "closed_at", "ack_due_at", "resolve_due_at")


EXPORT_ORDER = ("-raised_at", "-id")  # the list's default sort plus id (index esc_raised)


# What the export prints and nothing else (no model instances: a tenth of the Python per row).
EXPORT_FIELDS = (
    "id",
    "reference",
    "title",
    "status",
    "severity",
    "customer_tier",
    "category",
    "service__name",
    "policy__name",
    "policy_version",
    "current_level",
    "owner__full_name",
    "raiser__username",
    "confidential",
    *_TIMES,
)


def export_values(escalations: QuerySet[Escalation]) -> QuerySet:
    """The escalations narrowed to ``EXPORT_FIELDS`` (dicts): what ``escalation_rows`` reads."""
    return escalations.values(*EXPORT_FIELDS)


def export_rows(escalations: QuerySet[Escalation]):
    """The export's rows, in ``CSV_COLUMNS`` order, read in keyset chunks."""
    return chunked_rows(export_values(escalations), EXPORT_ORDER, escalation_rows)


def escalation_rows(escalations: Iterable[dict]):
    """Escalations from ``export_values`` as export rows, in ``CSV_COLUMNS`` order."""
    for esc in escalations:
        yield [
            esc["reference"],
            esc["title"],
            esc["status"],
            esc["severity"],
            esc["customer_tier"],
            esc["category"],
            esc["service__name"] or "",
            esc["policy__name"],
            esc["policy_version"],
            esc["current_level"],
            esc["owner__full_name"] or "",
            esc["raiser__username"],
            *(value.isoformat() if (value := esc[name]) else "" for name in _TIMES),
            "yes" if esc["confidential"] else "no",
        ]


def get_escalation_for_user(user, pk: int, *, page: str = "") -> Escalation:
    """The escalation if the user may see it; 404 otherwise (existence may be confidential).

    Opening a confidential escalation one takes no part in (an auditor) is an audit event,
    written before the page is shown; ``page`` names where it was read from."""
    esc = (
        visible_escalations(user)
        .select_related("service", "owner__user", "engaged__user", "raiser", "raiser_person", "policy__owner")
        .filter(pk=pk)
        .first()
    )
    if esc is None:
        raise Http404("No such escalation.")
    if esc.confidential and page and not is_participant(user, esc):
        record(
            action="escalations.confidential_read",
            actor=user,
            target=esc,
            data={"reference": esc.reference, "page": page},
        )
    return esc


def get_escalation_by_reference(user, reference: str) -> Escalation:
    esc = visible_escalations(user).filter(reference__iexact=reference.strip()).first()
    if esc is None:
        raise Http404("No such escalation.")
    return esc


def require_writer(user) -> None:
    """Auditors browse read-only: they may see but never act (403)."""
    if not user.roles - {"auditor"}:
        raise PermissionDenied("Your role reads escalations; it does not act on them.")


@dataclass
class Dashboard:
    raised: list[Escalation]
    owned: list[Escalation]
    breaching: list[Escalation]
    now: datetime


def dashboard(user, *, limit: int = 10) -> Dashboard:
    """What I raised, what I work on, what breaches next: three queries whatever the data size."""
    base = for_list(user)
    person = person_of(user)
    # A raiser always takes part in what they raised: their own rows need no visibility test.
    raised = list(
        Escalation.objects.select_related("service", "owner")
        .only(*LIST_FIELDS)
        .filter(raiser=user)
        .order_by("-raised_at")[:limit]
    )
    # Mine to work on: what I own, what reached me, and what I owned before and still help with
    # as a responder (issue 12: escalating never takes the case away from the people on it).
    mine = Q(owner=person) | Q(engaged=person) | Q(responders=person)
    owned = (
        list(base.filter(mine, status__in=ACTIVE).distinct().order_by("next_due_at")[:limit])
        if person
        else []
    )
    breaching = list(
        base.filter(status__in=ACTIVE, next_due_at__isnull=False).order_by("next_due_at")[:limit]
    )
    return Dashboard(raised=raised, owned=owned, breaching=breaching, now=timezone.now())


@dataclass
class Actions:
    """What the user may do on an escalation now: the page shows only these.

    The owner works it; the person the level reached acknowledges, takes ownership or names
    an owner; everyone who has owned it stays on as a responder (stakeholder updates, comments,
    a proposed resolution). An executive the level reached gets the decision view: the brief,
    acknowledge, name an owner, comment; never the responder's forms."""

    acknowledge: bool = False
    take_ownership: bool = False
    hand_off: bool = False
    escalate_to: list[FrozenLevel] | None = None
    de_escalate_to: list[FrozenLevel] | None = None
    resolve: bool = False
    close: bool = False
    reopen: bool = False
    withdraw: bool = False
    comment: bool = False
    update: bool = False
    decision_view: bool = False

    @property
    def any(self) -> bool:
        return any(bool(v) for k, v in vars(self).items() if k != "decision_view")


def actions_for(user, esc: Escalation) -> Actions:
    """Only the people taking part act, and each only as their role allows; auditors read."""
    if not user.roles - {"auditor"} or not is_participant(user, esc):
        return Actions()
    responds = user.has_perm(Cap.RESPOND_ESCALATION.perm)
    owner = responds and esc.owner is not None and esc.owner.user_id == user.pk
    engaged = responds and esc.engaged is not None and esc.engaged.user_id == user.pk
    responder = responds and esc.responders.filter(user_id=user.pk).exists()
    executive = engaged and not owner and Role.EXECUTIVE in user.roles
    raiser = esc.raiser_id == user.pk
    working = esc.status in ("open", "acknowledged")
    up = (
        [lvl for lvl in esc.levels if lvl.order > esc.current_level and may_trigger(user, lvl)]
        if working
        else []
    )
    return Actions(
        acknowledge=engaged and esc.status == "open",
        take_ownership=engaged and not owner and not executive and working,
        hand_off=(owner or engaged) and working,
        escalate_to=up,
        de_escalate_to=(
            [lvl for lvl in esc.levels if lvl.order < esc.current_level]
            if working and (owner or engaged) and not executive
            else []
        ),
        resolve=responder and working and not executive,
        close=raiser and esc.status == "resolved",
        reopen=raiser and esc.status == "resolved",
        withdraw=raiser and esc.status in ACTIVE,
        comment=esc.status in (*ACTIVE, "resolved"),
        update=responder and esc.status in ACTIVE and not executive,
        decision_view=executive,
    )


def owner_candidates(esc: Escalation) -> QuerySet[Person]:
    """Who may be named the owner: people who can work it (a responder role and a way to be
    reached) from the teams and rotations of the levels reached so far, the backups of the owner
    and of the person reached, and those already working on it. Not every responder in the
    company (issue 12: the CEO was offered as a hand-off target)."""
    reached = [lvl for lvl in esc.levels if lvl.order <= esc.current_level]
    teams = {lvl.target_team for lvl in reached if lvl.target_team}
    people = {lvl.target_person for lvl in reached if lvl.target_person}
    rotations = {lvl.target_rotation for lvl in reached if lvl.target_rotation}
    teams |= set(Person.objects.filter(pk__in=people).exclude(team=None).values_list("team_id", flat=True))
    current = {p for p in (esc.owner_id, esc.engaged_id) if p}
    near = (
        Q(team_id__in=teams)
        | Q(rotation_memberships__rotation_id__in=rotations)
        | Q(backing_up__person_id__in=current)
        | Q(responding_to=esc)
    )
    return (
        Person.objects.filter(near, user__isnull=False, contact_methods__isnull=False)
        .filter(user__groups__permissions__codename=Cap.RESPOND_ESCALATION.codename)
        .exclude(user__groups__name=Role.EXECUTIVE.value)  # executives decide; they are not named to work it
        .exclude(pk=esc.owner_id)
        .distinct()
        .order_by("full_name")
    )


def gate_status(esc: Escalation, user) -> GateStatus:
    """The approval the escalation waits for, or its latest refusal and whether this user may
    appeal it (from the registered approval gate)."""
    return approval_gate().status(escalation=esc, user=user)


@dataclass
class TimelineEntry:
    event: TimelineEvent
    notifications: list


def timeline(esc: Escalation) -> list[TimelineEntry]:
    """The timeline with each event's notifications and their delivery state, in a fixed
    number of queries however long the escalation has run."""
    events = list(TimelineEvent.objects.filter(escalation=esc).select_related("actor").order_by("at", "id"))
    by_event: dict[str, list] = {}
    for note in notifications_for_subject("escalations.escalation", str(esc.pk)):
        by_event.setdefault(note.event_key, []).append(note)
    return [
        TimelineEntry(e, by_event.get(e.data.get("event_key") or f"escalation:{esc.pk}:event:{e.pk}", []))
        for e in events
    ]


def handoffs(esc: Escalation) -> list[HandOff]:
    return list(HandOff.objects.filter(escalation=esc).select_related("from_person", "to_person"))


@dataclass(frozen=True)
class ClockZone:
    """The zone an escalation's clocks are counted in, when it is not the reader's: its
    policy's business calendar, for clocks that run in business hours only."""

    calendar: str
    timezone: str


def clock_zone(esc: Escalation) -> ClockZone | None:
    """The business calendar whose hours the clocks count, if they count business hours and the
    calendar keeps another zone than the reader's (the page then shows both times)."""
    chain = esc.frozen
    if not chain.threshold.business_hours_only:
        return None
    calendar = BusinessCalendar.objects.filter(pk=chain.calendar_id).values("name", "timezone").first()
    if calendar is None or calendar["timezone"] == timezone.get_current_timezone_name():
        return None
    return ClockZone(calendar=calendar["name"], timezone=calendar["timezone"])
