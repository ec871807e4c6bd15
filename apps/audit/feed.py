"""One feed of every change across the portal, and each object's own history.

The audit app knows no domain model, so each app registers its tracked models as history
sources (``register_history_source``) in its ``AppConfig.ready``: a key for URLs ("person"),
a label ("Person"), the model, and ``scope(user) -> Q | None``, the condition on the model's
historical rows the user may read (``None``: none at all). The owning app decides the scope
because it knows whose record each row is (a manager reads their teams' records only).

The feed is keyset-paginated across sources: the cursor is (date, source key, history id),
each source is asked for at most one page of rows after the cursor (one bounded query each,
ordered by its ``(history_date, history_id)`` index), the pages are merged and cut. A page
therefore costs a fixed number of queries whatever the depth: a few per source for the rows
and their diffs (``diffs.history_entries``), none per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Model, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.diffs import history_entries

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
    # Records the reads a page of the feed makes (user, ids of this source's objects shown):
    # a confidential escalation's changes are a read of it, wherever they are shown.
    on_feed_read: Callable[[object, list[int]], None] | None = None


_sources: dict[str, HistorySource] = {}


def register_history_source(source: HistorySource) -> None:
    _sources[source.key] = source


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


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _rows(src: HistorySource, user, query: FeedQuery, cursor: Cursor | None):
    rule = src.scope(user)
    if rule is None:
        return None
    qs = src.model.history.filter(rule)
    if query.user_ids is not None:
        qs = qs.filter(history_user_id__in=query.user_ids)
    if query.since:
        qs = qs.filter(history_date__gte=_start_of(query.since))
    if query.until:
        qs = qs.filter(history_date__lt=_start_of(query.until + timedelta(days=1)))
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
    makes (each source's ``on_feed_read``), in the caller's transaction."""
    chosen = [s for s in sources() if (s.key in query.kinds if query.kinds else s.in_feed)]
    # First the page's keys: the newest size + 1 of each source (one narrow index scan each),
    # merged; then the diffs of only the rows that made the page, source by source.
    keys, queries = [], {}
    for src in chosen:
        qs = _rows(src, user, query, cursor)
        if qs is None:
            continue
        queries[src.key] = qs
        newest = qs.order_by("-history_date", "-history_id").values_list("history_date", "history_id")
        keys += [(at, src.key, history_id) for at, history_id in newest[: size + 1]]
    keys.sort(reverse=True)
    raw_more = len(keys) > size
    on_page: dict[str, list[int]] = {}
    for _, key, history_id in keys[:size]:
        on_page.setdefault(key, []).append(history_id)
    merged = []
    for src in chosen:
        if src.key not in on_page:
            continue
        rows = queries[src.key].filter(history_id__in=on_page[src.key])
        for entry in history_entries(rows, limit=size, label=_label(src), show_created=True):
            entry["source"] = src
            entry["object_url"] = src.url(entry["object_id"]) if src.url else ""
            merged.append(entry)
    merged.sort(key=lambda e: (e["date"], e["source"].key, e["history_id"]), reverse=True)
    page = merged[:size]
    for src in chosen:
        if (
            reads
            and src.on_feed_read is not None
            and (ids := [e["object_id"] for e in page if e["source"] is src])
        ):
            src.on_feed_read(user, ids)
    # The next page starts after the page's last row, shown or not (a change that changed
    # nothing is not shown, and a page of only those must still lead on).
    next_cursor = Cursor(*keys[size - 1]) if raw_more else None
    return page, next_cursor


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
