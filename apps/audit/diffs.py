"""An object's history as readable, field-by-field diffs, for any history-tracked model.

``history_entries(Model.history.filter(...))`` turns historical records into entries a page
can show: when, who, why, and each changed field's old and new value, newest first. Every app
renders them with ``templates/includes/history.html``.

Cost is one query whatever the records hold (``entries_of``, for several sets at once: the
history feed's page of every kind of record): a ``UNION ALL`` of, per set, the records, their
predecessors (the previous record *of the same object*, which is not necessarily the next row
of the page: a queryset may mix several objects, e.g. every level of a policy), the
many-to-many values of both and, on each row, the name of every object its foreign keys point
at (``register_name``: what ``str()`` says, as SQL). Fields are compared on the loaded rows
(simple-history's ``diff_against`` per row costs more than the rest of a page).

Values are shown the way a person reads them: choices by label, foreign keys by the related
object's name (``#12 (deleted)`` when it no longer exists), durations as "4 h" or "15 min",
booleans as yes/no.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models
from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.text import capfirst
from simple_history.utils import get_m2m_reverse_field_name

TYPES = {"+": "created", "~": "changed", "-": "deleted"}
EMPTY = "—"
# Rows one service call writes land within this of each other; two people's saves do not.
CHANGE_SET_WINDOW = timedelta(seconds=5)


@dataclass
class Wanted:
    """Historical records to show as entries: ``ids`` (a list or a subquery of history ids) of
    the historical model ``historical``; the options are ``history_entries``'s. ``reads``: an
    expression over a historical row naming what showing it is a read of (NULL: nothing), kept
    on each entry as ``read_of``."""

    historical: type[models.Model]
    ids: Any
    limit: int = 50
    label: Callable[[Any], str] | None = None
    formatters: dict[str, Callable[[Any], str]] = dataclasses.field(default_factory=dict)
    exclude: Iterable[str] = ()
    show_created: bool = False
    include_empty: bool = False
    reads: Any = None


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
    newest = records.order_by("-history_date", "-history_id").values("history_id")[:limit]
    wanted = Wanted(
        records.model,
        newest,
        limit=limit,
        label=label,
        formatters=formatters or {},
        exclude=exclude,
        show_created=show_created,
        include_empty=include_empty,
    )
    return entries_of([wanted])[0]


def entries_of(wanted: list[Wanted]) -> list[list[dict]]:
    """``history_entries`` for several sets of records at once, in ONE query whatever they
    hold: the records, each one's predecessor (the same object's record just before it), the
    many-to-many values of both and the name of every object their foreign keys point at."""
    plans = [_Plan(w) for w in wanted]
    branches = [(plan, branch) for plan in plans for branch in plan.branches()]
    if not branches:
        return [[] for _ in wanted]
    for index, values in _union_rows([branch[1:] for _, branch in branches]):
        plan, (kind, *_) = branches[index]
        plan.take(kind, values)
    return [plan.entries() for plan in plans]


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

# Output fields of the query's own columns, made once (a field made per column costs CPU).
_BIGINT, _TEXT = models.BigIntegerField(), models.TextField()

# What an object another record points at is called, as an expression over its model (what
# ``str()`` gives, in SQL), so a page names them in its one query. Registered by the apps with
# their history sources (``HistorySource.name``); a model without one reads as "Kind #12".
_names: dict[type, Callable[[], Any]] = {}


def register_name(model: type[models.Model], expression: Callable[[], Any]) -> None:
    _names[model] = expression


def name_expression(model: type[models.Model]):
    if model in _names:
        return _names[model]()
    return Concat(Value(f"{capfirst(model._meta.verbose_name)} #"), Cast("pk", models.CharField()))


def choice_label(field_name: str, choices) -> Any:
    """``get_FOO_display()`` as an expression: a field's choice by its label."""
    return Case(
        *[When(**{field_name: value}, then=Value(str(label))) for value, label in choices],
        default=F(field_name),
        output_field=models.CharField(),
    )


# SQL fragments over a row aliased ``b`` (or ``w``), compiled once per model and column: a
# page reuses them instead of building and compiling Django expressions for every row kind.
_fragments: dict[tuple, tuple[str, tuple]] = {}
_REF = "__feed_ref__"


def _name_sql(model: type[models.Model], ref: str) -> tuple[str, tuple]:
    """``(SELECT <what the portal calls it> FROM <model> WHERE pk = <ref>)``: its name, NULL
    when it no longer exists."""
    key = ("name", connection.vendor, model)
    if key not in _fragments:
        qs = (
            model._default_manager.filter(pk=RawSQL(_REF, ()))
            .order_by()
            .values(_n=name_expression(model))[:1]
        )
        sql, params = qs.query.sql_with_params()
        _fragments[key] = (f"({sql})", tuple(params))
    sql, params = _fragments[key]
    return sql.replace(_REF, ref), params


def _previous_sql(historical, alias: str) -> str:
    """The history id of the same object's record just before the row ``alias``."""
    q = connection.ops.quote_name
    key = q(historical.instance_type._meta.pk.column)
    table = q(historical._meta.db_table)
    date, hid = q("history_date"), q("history_id")
    return (
        f"(SELECT p.{hid} FROM {table} p WHERE p.{key} = {alias}.{key} AND (p.{date} < {alias}.{date}"
        f" OR (p.{date} = {alias}.{date} AND p.{hid} < {alias}.{hid}))"
        f" ORDER BY p.{date} DESC, p.{hid} DESC LIMIT 1)"
    )


def _row_expression_sql(historical, expression, ref: str) -> tuple[str, tuple]:
    """An expression over a historical row (``HistorySource.feed_read``) as SQL over ``ref``."""
    qs = historical._default_manager.filter(history_id=RawSQL(_REF, ())).order_by().values(_r=expression)[:1]
    sql, params = qs.query.sql_with_params()
    return f"({sql})".replace(_REF, ref), tuple(params)


def _ids_sql(ids) -> tuple[str, tuple]:
    if isinstance(ids, QuerySet):
        sql, params = ids.query.sql_with_params()
        return sql, tuple(params)
    ids = list(ids)
    return ", ".join(["%s"] * len(ids)), tuple(ids)


class _Plan:
    """The rows one ``Wanted`` needs, as branches of the one query, and its entries from them."""

    def __init__(self, wanted: Wanted) -> None:
        self.w = wanted
        self.historical = historical = wanted.historical
        self.tracked = historical.instance_type
        self.object_key = self.tracked._meta.pk.attname
        m2m = list(getattr(historical, "_history_m2m_fields", []))
        self.excluded = set(wanted.exclude) | {f.name for f in m2m}
        self.m2m_shown = [f for f in m2m if f.name not in set(wanted.exclude)]
        self.fields = list(historical._meta.concrete_fields)
        # Foreign keys of the tracked model a diff may name (the history's own columns aside).
        self.relations = [
            f for f in self.fields if f.is_relation and f.name in {t.name for t in self.tracked._meta.fields}
        ]
        self.rows: dict[int, Any] = {}
        self.wanted_ids: set[int] = set()
        self.held: dict[str, dict[int, list]] = {f.name: {} for f in self.m2m_shown}
        self.names: dict[tuple[type, Any], str] = {}

    def branches(self):
        """[(kind, model, columns, FROM ... WHERE sql, its params)]; a column is (name, a field
        read as that field reads it, or (sql, params, output field))."""
        q = connection.ops.quote_name
        historical = self.historical
        table, hid = q(historical._meta.db_table), q("history_id")
        ids, ids_params = _ids_sql(self.w.ids)
        names = [
            (f"_name:{f.name}", (*_name_sql(f.related_model, f"b.{q(f.column)}"), _TEXT))
            for f in self.relations
        ]
        plain = [(f.attname, f) for f in self.fields]
        nothing = (f"CAST(NULL AS {_BIGINT.cast_db_type(connection)})", (), _BIGINT)
        reads = (
            (*_row_expression_sql(historical, self.w.reads, f"b.{hid}"), _BIGINT)
            if self.w.reads is not None
            else nothing
        )
        # The predecessors by primary key, apart from the rows (an OR of both would not use it).
        predecessors = f"SELECT {_previous_sql(historical, 'w')} FROM {table} w WHERE w.{hid} IN ({ids})"
        found = [
            (
                "rows",
                historical,
                [
                    *plain,
                    ("_previous_id", (_previous_sql(historical, "b"), (), _BIGINT)),
                    *names,
                    ("_read_of", reads),
                ],
                f"{table} b WHERE b.{hid} IN ({ids})",
                ids_params,
            ),
            (
                "previous",
                historical,
                [*plain, ("_previous_id", nothing), *names, ("_read_of", nothing)],
                f"{table} b WHERE b.{hid} IN ({predecessors})",
                ids_params,
            ),
        ]
        for f in self.m2m_shown:
            through = _m2m_history_model(historical, f)
            if through is None:
                continue
            other = through._meta.get_field(get_m2m_reverse_field_name(f))
            found.append(
                (
                    ("m2m", f.name),
                    through,
                    [
                        ("history_id", through._meta.get_field("history")),
                        ("related", other),
                        ("name", (*_name_sql(f.related_model, f"b.{q(other.column)}"), _TEXT)),
                    ],
                    f"{q(through._meta.db_table)} b WHERE b.{hid} IN ({ids}) OR b.{hid} IN ({predecessors})",
                    ids_params * 2,
                )
            )
        return found

    def take(self, kind, values: dict) -> None:
        if kind in ("rows", "previous"):
            if kind == "previous" and values["history_id"] in self.rows:
                return  # on the page too: that copy knows its own predecessor
            row = self.historical.from_db(
                None, [f.attname for f in self.fields], [values[f.attname] for f in self.fields]
            )
            row._previous_id = values["_previous_id"]
            row._read_of = values["_read_of"]
            self.rows[row.history_id] = row
            if kind == "rows":
                self.wanted_ids.add(row.history_id)
            for f in self.relations:
                if values[f"_name:{f.name}"] is not None:
                    self.names[(f.related_model, values[f.attname])] = values[f"_name:{f.name}"]
        else:
            f = next(m for m in self.m2m_shown if m.name == kind[1])
            self.held[f.name].setdefault(values["history_id"], []).append(values["related"])
            if values["name"] is not None:
                self.names[(f.related_model, values["related"])] = values["name"]

    def entries(self) -> list[dict]:
        w, tracked = self.w, self.tracked
        rows = sorted(
            (self.rows[i] for i in self.wanted_ids),
            key=lambda r: (r.history_date, r.history_id),
            reverse=True,
        )[: w.limit]
        compared = sorted(
            f.name
            for f in (rows[0].tracked_fields if rows else [])
            if f.editable and f.name not in self.excluded
        )
        compared_fields = [tracked._meta.get_field(name) for name in compared]
        result = []
        for row in rows:
            changes: list[tuple[str, Any, Any]] = []
            previous = self.rows.get(row._previous_id)
            if row.history_type == "~" and previous is not None:
                for f in compared_fields:
                    old, new = getattr(previous, f.attname), getattr(row, f.attname)
                    if old != new:
                        changes.append((f.name, old, new))
                for f in self.m2m_shown:
                    old = self.held[f.name].get(previous.history_id, [])
                    new = self.held[f.name].get(row.history_id, [])
                    if sorted(old) != sorted(new):
                        changes.append((f.name, old, new))
            elif w.show_created and (row.history_type == "+" or row._previous_id is None):
                # A first record written as a change (an object created, then saved once more
                # in the same transaction, keeps only its last row) reads as the values it began with.
                changes = _initial_values(row, tracked, self.excluded)
            if row.history_type == "~" and not changes and not w.include_empty:
                continue
            result.append(
                {
                    "history_id": row.history_id,
                    "object_id": getattr(row, self.object_key),
                    "date": row.history_date,
                    "user": getattr(row, "history_user_username", "") or "",
                    "reason": row.history_change_reason or "",
                    "type": TYPES.get(row.history_type, row.history_type),
                    "subject": w.label(row) if w.label else "",
                    "changes": [
                        _shown(tracked, name, old, new, self.names, w.formatters)
                        for name, old, new in changes
                    ],
                    "continues": False,
                    "read_of": row._read_of,
                }
            )
        return result


_slot_keys: dict[tuple, tuple] = {}


def _slot_key(field) -> tuple:
    """Columns of one slot share a type and how it is read (fields live as long as the process)."""
    cache = (connection.vendor, id(field))
    if cache not in _slot_keys:
        _slot_keys[cache] = (type(field).__name__, field.get_internal_type(), field.cast_db_type(connection))
    return _slot_keys[cache]


def _union_rows(branches: list[tuple]):
    """Rows of several tables in one ``UNION ALL``: each yields (index of its branch, {column
    name: value}). A branch is (model, columns, ``FROM ... WHERE`` sql over alias ``b``, its
    params); a column is a field of the model or (sql, params, output field). Columns take
    typed slots; a slot another branch fills is a typed NULL there, so every branch has the
    same columns, and each value is converted the way its field reads it. Written here from
    compiled fragments: a Django expression per slot and branch cost more than the page."""
    q = connection.ops.quote_name
    representatives: dict[tuple, list] = {}
    layouts = []
    for _, columns, _, _ in branches:
        used: dict[tuple, int] = {}
        layout = []
        for name, column in columns:
            if isinstance(column, tuple):
                sql, params, out = column
            else:
                sql, params, out = f"b.{q(column.column)}", (), column
            key = _slot_key(out)
            n = used.get(key, 0)
            used[key] = n + 1
            reps = representatives.setdefault(key, [])
            if n == len(reps):
                reps.append(out)
            layout.append((name, (key, n), sql, params))
        layouts.append(layout)
    slots = [(key, n) for key, reps in representatives.items() for n in range(len(reps))]
    position = {slot: i + 1 for i, slot in enumerate(slots)}
    nulls = {
        slot: f"CAST(NULL AS {representatives[slot[0]][slot[1]].cast_db_type(connection)})" for slot in slots
    }
    parts, params = [], []
    for index, ((_, _, where, where_params), layout) in enumerate(zip(branches, layouts, strict=True)):
        own = {slot: (sql, p) for _, slot, sql, p in layout}
        select = [str(index)]
        for slot in slots:
            sql, p = own.get(slot, (nulls[slot], ()))
            select.append(sql)
            params += p
        parts.append(f"SELECT {', '.join(select)} FROM {where}")
        params += where_params
    converters = [_converters(representatives[key][n]) for key, n in slots]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    for values in rows:
        index = values[0]
        found = {}
        for name, slot, _, _ in layouts[index]:
            i = position[slot]
            value = values[i]
            for convert, expression in converters[i - 1]:
                value = convert(value, expression, connection)
            found[name] = value
        yield index, found


def _converters(out) -> list:
    """How a value of this slot is read: what Django applies to a column of that field."""
    expression = (
        out.get_col(out.model._meta.db_table) if hasattr(out, "model") else Value(None, output_field=out)
    )
    found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
    return [(convert, expression) for convert in found]


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


def _shown(tracked, name: str, old, new, names: dict, formatters: dict) -> dict:
    field = tracked._meta.get_field(name)
    shown = {
        "field": _facts(field).label,
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
    facts = _facts(field)
    if facts.related_model is not None:
        ids = value if isinstance(value, list) else [value]
        model = facts.related_model
        shown = sorted(names[(model, i)] if (model, i) in names else f"#{i} (deleted)" for i in ids)
        return ", ".join(shown)
    if facts.labels:
        return str(facts.labels.get(value, value))
    return _plain(value)


@dataclass(frozen=True)
class _FieldFacts:
    label: str  # the verbose name
    related_model: type | None  # a relation's model
    labels: dict  # a field with choices: the label of each value


_field_facts: dict[int, _FieldFacts] = {}


def _facts(field) -> _FieldFacts:
    """What displaying a field's values needs, worked out once per field (fields live as long
    as the process): ``Field.flatchoices`` flattens the choices again on every access, and a
    verbose name is a lazy translation; a feed page displays a few hundred values."""
    facts = _field_facts.get(id(field))
    if facts is None:
        facts = _field_facts[id(field)] = _FieldFacts(
            label=str(field.verbose_name),
            related_model=field.related_model if field.is_relation else None,
            labels=dict(getattr(field, "flatchoices", None) or ()),
        )
    return facts


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
