"""One feed of every change across the portal, and each object's own history.

The audit app knows no domain model, so each app registers its tracked models as history
sources (``register_history_source``) in its ``AppConfig.ready``: a key for URLs ("person"),
a label ("Person"), the model, and ``scope(user) -> Q | None``, the condition on the model's
historical rows the user may read (``None``: none at all). The owning app decides the scope
because it knows whose record each row is (a manager reads their teams' records only).

The feed is keyset-paginated across sources: the cursor is (date, source key, history id),
each source gives at most one page of keys after the cursor (a bounded index scan, ordered by
its ``(history_date, history_id)`` index), all in one ``UNION ALL`` that is merged and cut in
the database; then one query reads the page's rows with everything their diffs need
(``diffs.entries_of``). A page costs the same two queries whatever it holds, its depth, its
filters and the tables' size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import IntegerField, Model, Q, Value
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.diffs import Wanted, entries_of, register_name
from apps.common.moments import start_of_day

PAGE_SIZE = 50


@dataclass(frozen=True)
class HistorySource:
    key: str
    label: str
    model: type[Model]
    scope: Callable[[object], Q | None]
    url: Callable[[int], str] | None = None
    # What the row is about, from the historical row's own fields (no query per row).
    describe: Callable[[Model], str] | None = None
    in_feed: bool = True  # False: only on the object's own history page (briefs: each read audited)
    on_read: Callable[[object, Model], None] | None = None  # records a read of the object's history
    # What showing one of its rows on the feed is a read of, decided in the page's query:
    # ``feed_read(user)`` is an expression over the historical row, the id of what was read
    # or NULL; ``on_feed_read(user, ids)`` records those reads (a confidential escalation's
    # changes are a read of it, wherever they are shown), once a page for all sources sharing it.
    feed_read: Callable[[object], Any] | None = None
    on_feed_read: Callable[[object, list[int]], None] | None = None
    # What the portal calls one of these objects (its ``str()``), as an expression over the
    # model, for diffs of other records pointing at it (``diffs.register_name``).
    name: Callable[[], Any] | None = None


_sources: dict[str, HistorySource] = {}


def register_history_source(source: HistorySource) -> None:
    _sources[source.key] = source
    if source.name is not None:
        register_name(source.model, source.name)


def sources() -> list[HistorySource]:
    return sorted(_sources.values(), key=lambda s: s.label.lower())


def source(key: str) -> HistorySource | None:
    return _sources.get(key)


def source_for(model: type[Model]) -> HistorySource | None:
    return next((s for s in _sources.values() if s.model is model), None)


@dataclass(frozen=True)
class FeedQuery:
    kinds: tuple[str, ...] = ()  # source keys; empty: all
    user_ids: tuple[int, ...] | None = None
    since: date | None = None
    until: date | None = None
    object_id: int | None = None  # with one kind: that object's history


@dataclass(frozen=True)
class Cursor:
    at: datetime
    key: str
    history_id: int

    def __str__(self) -> str:
        return f"{self.at.isoformat()}~{self.key}~{self.history_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        parts = text.split("~")
        if len(parts) != 3 or not parts[2].isdigit() or len(parts[2]) > 18:
            return None
        try:
            at = parse_datetime(parts[0])
        except ValueError:
            return None
        return cls(at, parts[1], int(parts[2])) if at and timezone.is_aware(at) else None


def _rows(src: HistorySource, user, query: FeedQuery, cursor: Cursor | None):
    rule = src.scope(user)
    if rule is None:
        return None
    qs = src.model.history.filter(rule)
    if query.user_ids is not None:
        qs = qs.filter(history_user_id__in=query.user_ids)
    if query.since:
        qs = qs.filter(history_date__gte=start_of_day(query.since))
    if query.until:
        qs = qs.filter(history_date__lt=start_of_day(query.until + timedelta(days=1)))
    if query.object_id is not None:
        qs = qs.filter(**{src.model._meta.pk.attname: query.object_id})
    if cursor is not None:
        same_moment = Q(history_date=cursor.at)
        if src.key == cursor.key:
            same_moment &= Q(history_id__lt=cursor.history_id)
        elif src.key > cursor.key:  # sources are ordered by key, descending, at one moment
            same_moment = Q(pk__in=[])
        # The first condition alone is an index range (history_date); the OR then only
        # decides the rows of that one moment (a row comparison would not use the index).
        qs = qs.filter(history_date__lte=cursor.at).filter(Q(history_date__lt=cursor.at) | same_moment)
    return qs


def feed_page(
    user,
    query: FeedQuery = FeedQuery(),
    *,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
    reads: bool = True,
):
    """The newest ``size`` changes after ``cursor`` the user may read, newest first, each with
    its diff, and the cursor of the next page (or None). ``reads``: record the reads the page
    makes (each source's ``on_feed_read``), in the caller's transaction.

    Two queries whatever the page holds, its depth, the filters and the table's size: the
    page's keys (one ``UNION ALL`` of every source's newest ``size + 1`` after the cursor, one
    narrow index scan each), then every row of the page with what its diff needs
    (``diffs.entries_of``). Recording reads adds writes only when there are reads to record."""
    chosen = sorted(
        (s for s in sources() if (s.key in query.kinds if query.kinds else s.in_feed)), key=lambda s: s.key
    )
    branches = []
    for rank, src in enumerate(chosen):  # rank: the sources' order by key, at one moment
        qs = _rows(src, user, query, cursor)
        if qs is None:
            continue
        newest = qs.order_by("-history_date", "-history_id")
        if connection.features.supports_slicing_ordering_in_compound:  # PostgreSQL
            # Each branch its own index scan, stopped after size + 1 rows.
            branch = newest.annotate(feed_rank=Value(rank, output_field=IntegerField())).values_list(
                "history_date", "feed_rank", "history_id"
            )[: size + 1]
        else:  # SQLite allows no LIMIT in a compound's branch: the same rows through a subquery
            branch = (
                src.model.history.model._default_manager.filter(
                    history_id__in=newest.values("history_id")[: size + 1]
                )
                .order_by()
                .annotate(feed_rank=Value(rank, output_field=IntegerField()))
                .values_list("history_date", "feed_rank", "history_id")
            )
        branches.append(branch)
    if not branches:
        return [], None
    first, *rest = branches
    if rest:
        union = first.union(*rest, all=True).order_by("-history_date", "-feed_rank", "-history_id")
        keys = list(union[: size + 1])
    elif connection.features.supports_slicing_ordering_in_compound:
        keys = list(first)  # one source: its branch is ordered and cut already
    else:
        keys = list(first.order_by("-history_date", "-history_id")[: size + 1])
    on_page: dict[int, list[int]] = {}
    for _, rank, history_id in keys[:size]:
        on_page.setdefault(rank, []).append(history_id)
    shown = [chosen[rank] for rank in sorted(on_page)]
    found = entries_of(
        [
            Wanted(
                src.model.history.model,
                on_page[chosen.index(src)],
                limit=size,
                label=_label(src),
                show_created=True,
                reads=src.feed_read(user) if reads and src.feed_read is not None else None,
            )
            for src in shown
        ]
    )
    page = []
    for src, entries in zip(shown, found, strict=True):
        for entry in entries:
            entry["source"] = src
            page.append(entry)
    page.sort(key=lambda e: (e["date"], e["source"].key, e["history_id"]), reverse=True)
    if reads:
        _record_reads(user, page)
    # The next page starts after the page's last row, shown or not (a change that changed
    # nothing is not shown, and a page of only those must still lead on).
    if len(keys) > size:
        at, rank, history_id = keys[size - 1]
        return page, Cursor(at, chosen[rank].key, history_id)
    return page, None


def _record_reads(user, page: list[dict]) -> None:
    """What the page's rows are reads of (``read_of``, decided in the page's query), recorded
    once per recorder: one call for every source that shares it (escalations and hand-offs)."""
    wanted: dict[Callable, list[int]] = {}
    for entry in page:
        record = entry["source"].on_feed_read
        if (
            record is not None
            and entry["read_of"] is not None
            and entry["read_of"] not in wanted.get(record, [])
        ):
            wanted.setdefault(record, []).append(entry["read_of"])
    for record, ids in wanted.items():
        record(user, ids)


def _label(src: HistorySource):
    def label(record) -> str:
        if src.describe is not None:
            return src.describe(record)
        return f"{src.label} #{getattr(record, src.model._meta.pk.attname)}"

    return label


def readable_object(src: HistorySource, user, pk: int) -> bool:
    """Whether the user may read this object's history (it exists in their scope)."""
    rule = src.scope(user)
    if rule is None:
        return False
    return src.model.history.filter(rule).filter(**{src.model._meta.pk.attname: pk}).exists()
