"""An object's history as readable, field-by-field diffs, for any history-tracked model.

``history_entries(Model.history.filter(...))`` turns historical records into entries a page
can show: when, who, why, and each changed field's old and new value, newest first. Every app
renders them with ``templates/includes/history.html``.

Cost is fixed whatever the history's length: one query reads the newest ``limit`` records,
each annotated with its predecessor's id (the previous record *of the same object*, which is
not necessarily the next row of the page: a queryset may mix several objects, e.g. every level
of a policy); one more reads the predecessors that fell outside the page; then one query per
tracked many-to-many field and one per related model named in a diff. simple-history's
``prev_record`` and ``diff_against`` on many-to-many fields would each cost queries per row,
so ``diff_against`` is only asked about plain fields and the rest is compared here.

Values are shown the way a person reads them: choices by label, foreign keys by the related
object's name (``#12 (deleted)`` when it no longer exists), durations as "4 h" or "15 min",
booleans as yes/no.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from simple_history.utils import get_m2m_reverse_field_name

TYPES = {"+": "created", "~": "changed", "-": "deleted"}
EMPTY = "—"
# Rows one service call writes land within this of each other; two people's saves do not.
CHANGE_SET_WINDOW = timedelta(seconds=5)


def history_entries(
    records: QuerySet,
    limit: int = 50,
    *,
    label: Callable[[Any], str] | None = None,
    formatters: dict[str, Callable[[Any], str]] | None = None,
    exclude: Iterable[str] = (),
    show_created: bool = False,
    include_empty: bool = False,
) -> list[dict]:
    """The newest ``limit`` records of ``records`` (a queryset of historical records), newest
    first, as dicts: ``date``, ``user`` (username text, "" for the system), ``reason``, ``type``
    (created/changed/deleted), ``changes`` ([{field, old, new}]), ``subject`` (``label(record)``
    or ""), ``history_id``.

    ``show_created`` lists a created object's non-empty values as changes from nothing, for
    rows whose creation says more than "created" (a level added to a chain). A "changed"
    record that changes nothing (simple-history writes one for every ``save()`` and for a
    many-to-many change made from the other side) is left out unless ``include_empty``.
    """
    historical = records.model
    tracked = historical.instance_type
    object_key = tracked._meta.pk.attname
    m2m_fields = list(getattr(historical, "_history_m2m_fields", []))
    formatters = formatters or {}
    m2m_shown = [f for f in m2m_fields if f.name not in set(exclude)]
    excluded = set(exclude) | {f.name for f in m2m_fields}

    rows = list(
        _with_predecessor(records, historical, object_key).order_by("-history_date", "-history_id")[:limit]
    )
    by_id = {row.history_id: row for row in rows}
    missing = {row._previous_id for row in rows if row.history_type == "~" and row._previous_id not in by_id}
    missing.discard(None)
    if missing:
        by_id.update(historical._default_manager.in_bulk(missing, field_name="history_id"))
    m2m_values = _m2m_values(historical, m2m_shown, by_id.keys())

    pending = []
    for row in rows:
        changes: list[tuple[str, Any, Any]] = []
        previous = by_id.get(row._previous_id)
        if row.history_type == "~" and previous is not None:
            delta = row.diff_against(previous, excluded_fields=excluded)
            changes = [(c.field, c.old, c.new) for c in delta.changes]
            for field in m2m_shown:
                old, new = (
                    m2m_values[field.name].get(previous.history_id, []),
                    m2m_values[field.name].get(row.history_id, []),
                )
                if sorted(old) != sorted(new):
                    changes.append((field.name, old, new))
        elif show_created and (row.history_type == "+" or row._previous_id is None):
            # A first record written as a change (an object created, then saved once more in
            # the same transaction, keeps only its last row) reads as the values it began with.
            changes = _initial_values(row, tracked, excluded)
        if row.history_type == "~" and not changes and not include_empty:
            continue
        pending.append((row, changes))

    names = _related_names(tracked, [c for _, changes in pending for c in changes])
    return [
        {
            "history_id": row.history_id,
            "object_id": getattr(row, object_key),
            "date": row.history_date,
            "user": getattr(row, "history_user_username", "") or "",
            "reason": row.history_change_reason or "",
            "type": TYPES.get(row.history_type, row.history_type),
            "subject": label(row) if label else "",
            "changes": [_shown(tracked, name, old, new, names, formatters) for name, old, new in changes],
            "continues": False,
        }
        for row, changes in pending
    ]


def merge_entries(*lists: list[dict], limit: int = 50) -> list[dict]:
    """Several objects' entries as one history, newest first (e.g. a policy with its levels).

    Entries written by one save (same user and reason, moments apart: a policy with its
    levels and thresholds) form one change: all but the first are marked ``continues`` and,
    inside it, they read in the order they were written (the policy, then level 1, 2...)."""
    merged = [entry for entries in lists for entry in entries]
    merged.sort(key=lambda e: (e["date"], e["history_id"]), reverse=True)
    groups: list[list[dict]] = []
    for entry in merged[:limit]:
        newer = groups[-1][-1] if groups else None
        same_change = (
            newer is not None
            and (newer["user"], newer["reason"]) == (entry["user"], entry["reason"])
            and newer["date"] - entry["date"] <= CHANGE_SET_WINDOW
        )
        if same_change:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    result = []
    for group in groups:
        for position, entry in enumerate(reversed(group)):
            entry["continues"] = position > 0
            result.append(entry)
    return result


def format_duration(value: timedelta) -> str:
    """Durations as "15 min", "4 h", "1 h 30 min", "5 d 8 h": how thresholds and timeouts are spoken of.

    Up to four days a clock reads in hours ("72 h"), as response targets are usually agreed.
    """
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    days = 0
    if hours >= 96:
        days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)


# --- internals ------------------------------------------------------------------------------


def _with_predecessor(records: QuerySet, historical, object_key: str) -> QuerySet:
    """Annotate each record with the id of the same object's record just before it."""
    earlier = historical._default_manager.filter(**{object_key: OuterRef(object_key)}).filter(
        Q(history_date__lt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
    )
    return records.annotate(
        _previous_id=Subquery(earlier.order_by("-history_date", "-history_id").values("history_id")[:1])
    )


def _m2m_values(historical, m2m_fields, history_ids) -> dict[str, dict[int, list]]:
    """For each tracked many-to-many field: history id -> the related ids it held."""
    values: dict[str, dict[int, list]] = {}
    for field in m2m_fields:
        through_history = _m2m_history_model(historical, field)
        other = get_m2m_reverse_field_name(field)
        held: dict[int, list] = {}
        if through_history is not None and history_ids:
            pairs = through_history._default_manager.filter(history_id__in=list(history_ids)).values_list(
                "history_id", f"{other}_id"
            )
            for history_id, related_id in pairs:
                held.setdefault(history_id, []).append(related_id)
        values[field.name] = held
    return values


def _m2m_history_model(historical, field):
    through = field.remote_field.through
    for rel in historical._meta.related_objects:
        if getattr(rel.related_model, "instance_type", None) is through:
            return rel.related_model
    return None


def _initial_values(row, tracked, excluded: set[str]) -> list[tuple[str, Any, Any]]:
    changes = []
    for field in row.tracked_fields:
        if not field.editable or field.name in excluded or field.primary_key:
            continue
        value = getattr(row, field.attname)
        if value not in (None, "", [], {}, False):
            changes.append((field.name, None, value))
    return changes


def _related_names(tracked, changes: list[tuple[str, Any, Any]]) -> dict[type, dict]:
    """Every related object named in the diffs, one query per related model."""
    wanted: dict[type, set] = {}
    for name, old, new in changes:
        field = tracked._meta.get_field(name)
        if not field.is_relation:
            continue
        for value in (old, new):
            ids = value if isinstance(value, list) else [value]
            wanted.setdefault(field.related_model, set()).update(i for i in ids if i is not None)
    return {model: model._default_manager.in_bulk(ids) for model, ids in wanted.items() if ids}


def _shown(tracked, name: str, old, new, names: dict, formatters: dict) -> dict:
    field = tracked._meta.get_field(name)
    shown = {
        "field": str(field.verbose_name),
        "name": name,
        "old": _display(field, old, names, formatters.get(name)),
        "new": _display(field, new, names, formatters.get(name)),
        "words": [],
    }
    if isinstance(old, str) and isinstance(new, str) and max(len(old.split()), len(new.split())) >= WORDY:
        shown["words"] = word_diff(old, new)
    return shown


# Text of at least this many words is shown as a word diff (what an approver changed in a
# brief's paragraph), not as two paragraphs to compare by eye.
WORDY = 8


def word_diff(old: str, new: str) -> list[dict]:
    """``[{"op": "same" | "del" | "ins", "text": ...}]``: ``new`` against ``old``, word by word."""
    a, b = old.split(), new.split()
    parts: list[dict] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append({"op": "same", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            parts.append({"op": "del", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            parts.append({"op": "ins", "text": " ".join(b[j1:j2])})
    return parts


def _display(field, value, names: dict, formatter: Callable | None) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if formatter is not None:
        return formatter(value)
    if field.is_relation:
        found = names.get(field.related_model, {})
        ids = value if isinstance(value, list) else [value]
        shown = sorted(str(found[i]) if i in found else f"#{i} (deleted)" for i in ids)
        return ", ".join(shown)
    if getattr(field, "flatchoices", None):
        return str(dict(field.flatchoices).get(value, value))
    return _plain(value)


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
            if timezone.is_aware(value)
            else value.strftime("%Y-%m-%d %H:%M")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, list | tuple):
        return "; ".join(_plain(v) for v in value) or EMPTY
    if isinstance(value, models.Model):
        return str(value)
    return str(value)
