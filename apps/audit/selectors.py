"""Reads of the audit trail. Pages never count the whole table: keyset pagination on seq.

Every read goes through ``visible_events``: what a person may read of the trail is decided
once (``apps.audit.scopes.reader_rule``), in SQL, for the page, the home page's recent events
and anything else that lists events. A page costs the same number of queries at any depth:
the rows, their actors' names (one query) and one query per kind of object linked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from apps.audit.labels import action_label, read_actions, summarise, target_urls, type_label
from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.scopes import reader_rule
from apps.common.csvexport import chunked_rows
from apps.common.moments import start_of_day

PAGE_SIZE = 50
MAX_PEOPLE = 200  # a name matching more accounts than this is too vague to filter by


def visible_events(user) -> QuerySet[AuditEvent]:
    rule = reader_rule(user)
    if rule is None:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(rule)


def confined_events(confined_to: str) -> QuerySet[AuditEvent]:
    """The events kept out of the general trail for ``confined_to`` (e.g. "protection"). The
    app they belong to decides who may see them before it calls this."""
    return AuditEvent.objects.filter(confined_to=confined_to)


def recent_events(user, *, limit: int = 20) -> list[AuditEvent]:
    return list(visible_events(user).order_by("-seq")[:limit])


@dataclass(frozen=True)
class EventQuery:
    """What a trail page is filtered by, already checked by the form."""

    actor_ids: tuple[int, ...] | None = None  # None: anyone; (): the name matched nobody
    actor_usernames: tuple[str, ...] = ()
    action: str = ""
    actions: tuple[str, ...] = ()  # several codes (the read access log)
    target_type: str = ""
    target: str = ""  # an object's name as the trail shows it, or its id
    since: date | None = None
    until: date | None = None


def people_named(name: str) -> tuple[list[int], list[str]]:
    """Accounts whose name or username contains every word of ``name`` ("Leo Martins",
    "martins", "govadmin"): their ids, and the usernames typed (for deleted accounts)."""
    words = name.split()
    if not words:
        return [], []
    condition = Q()
    for word in words:
        condition &= (
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(username__icontains=word)
        )
    ids = list(get_user_model().objects.filter(condition).values_list("pk", flat=True)[:MAX_PEOPLE])
    # A deleted account lives on only as the username its events kept.
    gone = len(words) == 1 and not ids and AuditEvent.objects.filter(actor_username=words[0]).exists()
    return ids, [words[0]] if gone else []


def filtered_events(user, query: EventQuery) -> QuerySet[AuditEvent]:
    qs = visible_events(user)
    if query.actor_ids is not None:
        qs = qs.filter(Q(actor_id__in=query.actor_ids) | Q(actor_username__in=query.actor_usernames))
    if query.action:
        qs = qs.filter(action=query.action)
    if query.actions:
        qs = qs.filter(action__in=query.actions)
    if query.target_type:
        qs = qs.filter(target_type=query.target_type)
    if query.target:
        # "ESC-2026-00042" names "ESC-2026-00042 Card payments failing" as people say it.
        named = Q(target_repr=query.target) | Q(target_repr__startswith=query.target + " ")
        qs = qs.filter(named | Q(target_id=query.target))
    if query.since:
        qs = qs.filter(occurred_at__gte=start_of_day(query.since))
    if query.until:
        qs = qs.filter(occurred_at__lt=start_of_day(query.until + timedelta(days=1)))
    return qs.order_by("-seq")


def events_page(
    user, query: EventQuery = EventQuery(), *, before_seq: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[dict], int | None]:
    """One page of readable rows, newest first, and the ``before`` cursor of the next page."""
    qs = filtered_events(user, query)
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    events = list(qs[: size + 1])
    next_cursor = events[size - 1].seq if len(events) > size else None
    return readable(events[:size]), next_cursor


def read_log_page(user, query: EventQuery, *, before_seq: int | None = None) -> tuple[list[dict], int | None]:
    """Reads of sensitive records (``labels.read_actions``): who read what, when, from where."""
    codes = tuple(read_actions())
    query = EventQuery(**{**query.__dict__, "actions": codes or ("-",)})
    return events_page(user, query, before_seq=before_seq)


def readable(events: list[AuditEvent]) -> list[dict]:
    """Each event with its actor's name, its label, its one-line summary and its object's URL."""
    names = actor_names({e.actor_id for e in events if e.actor_id})
    urls = target_urls(events)
    rows = []
    for event in events:
        actor = names.get(event.actor_id) or event.actor_username
        rows.append(
            {
                "event": event,
                "actor": actor,
                "label": action_label(event.action).label,
                "summary": summarise(event, actor),
                "url": urls.get((event.target_type, event.target_id), ""),
                "type_label": type_label(event.target_type),
                "page": (event.data or {}).get("page", ""),
            }
        )
    return rows


def actor_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    users = get_user_model().objects.filter(pk__in=ids).only("pk", "first_name", "last_name", "username")
    return {u.pk: (u.get_full_name() or u.get_username()) for u in users}


def export_rows(user, query: EventQuery):
    """Every matching event as CSV rows, streamed in chunks (names looked up per chunk)."""
    return chunked_rows(filtered_events(user, query), EXPORT_ORDER, event_rows, size=1000)


EXPORT_ORDER = ("-seq",)


EXPORT_HEADER = [
    "Sequence",
    "When (UTC)",
    "Who",
    "Username",
    "Action",
    "Summary",
    "Object type",
    "Object",
    "Object id",
    "Hash",
]


def event_rows(events: list[AuditEvent]):
    for row in readable(events) if events else []:
        e = row["event"]
        yield [
            e.seq,
            e.occurred_at.astimezone(UTC).isoformat(timespec="seconds"),
            row["actor"],
            e.actor_username,
            row["label"],
            row["summary"],
            row["type_label"],
            e.target_repr,
            e.target_id,
            e.hash,
        ]


def chain_health() -> dict:
    """The last few verifications, the last finished one and the one running, if any."""
    recent = list(ChainVerification.objects.order_by("-requested_at", "-id")[:10])
    return {
        "verifications": recent,
        "last": next((v for v in recent if v.status in ("intact", "broken")), None),
        "running": next((v for v in recent if not v.done), None),
    }
