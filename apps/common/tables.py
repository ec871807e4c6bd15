"""``PortalTable``: django-tables2's tables with a body that costs microseconds per cell.

django-tables2 renders each cell through ``BoundRow``: per cell it recomputes the column's
attributes (``BoundColumn.attrs``: four dict copies and a set sort), calls ``inspect.signature``
on the ``render_*`` method to find which arguments it wants, and the Django template engine
resolves ``row.items``, ``column.attrs.td.as_html`` and ``column.localize`` by attribute lookups.
On the escalation list that was about 250 ms of CPU for a page of 50 rows, 78 % of the page
(issue 13). Here each column's plan is worked out once per page: its ``<td>`` attributes (when
they are plain values, which every portal table's are), the arguments its ``render`` wants, and
whether its value is a field with choices. Each cell is then one accessor lookup, one call and
one escape, producing the same HTML as django-tables2's template (tests/common/test_tables.py
renders both and compares them).

Columns keep every feature of django-tables2 (accessors, ``render_*``, ``linkify``, defaults,
ordering, pagination, headers); a column whose ``td`` attributes are callables is rendered the
library's way, cell by cell.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.encoding import force_str
from django.utils.formats import localize
from django.utils.hashable import make_hashable
from django.utils.safestring import SafeString, mark_safe
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.utils import A, OrderBy, OrderByTuple

from apps.common.html import escaped


@lru_cache(maxsize=512)
def _wanted(function) -> tuple[tuple[str, ...], bool]:
    """The argument names ``function`` takes, and whether it takes ``**kwargs``: once per
    function, not once per cell (django_tables2.utils.signature inspects every call)."""
    names, catch_all = [], False
    for param in inspect.signature(function).parameters.values():
        if param.kind == param.VAR_KEYWORD:
            catch_all = True
        elif param.kind != param.VAR_POSITIONAL:
            names.append(param.name)
    return tuple(names), catch_all


@dataclass
class _Plan:
    bound: object  # BoundColumn
    accessor: A
    td: str | None  # the <td>'s attributes, when the same for every cell
    render: object  # the column's render (the table's render_<name>, or the column's)
    wants: tuple[str, ...] | None  # the arguments it takes (None: all, it takes **kwargs)
    empty: tuple  # values printed as the default
    default: object
    link: object
    localize: bool | None
    many: bool  # a many-to-many column: empty when the relation has no rows
    choices: bool | None = None  # decided at the first record
    labels: dict | None = None  # value -> label, when ``choices``
    attname: str = ""


class PortalTable(tables.Table):
    """The base of every portal table; ``includes/_table.html`` prints ``body_html``."""

    def sorted_as(self, alias: str) -> None:
        """Show ``alias`` as the order in the headers, for rows the database already sorted and
        paged (a keyset list): setting ``order_by`` would sort the page again in Python."""
        self._order_by = OrderByTuple([alias] if OrderBy(alias).bare in self.columns else [])

    def body_html(self) -> SafeString:
        plans = [self._plan(bound) for bound in self.columns]
        # Without callables in row_attrs a row's attributes differ only by even/odd: two strings.
        static = not any(callable(v) for v in dict(self.row_attrs).values())
        seen: dict[int, str] = {}
        lines = []
        for row in self.paginated_rows:
            record = row.record
            cells = "".join([self._cell(plan, row, record) for plan in plans])
            if static:
                parity = row.row_counter % 2
                attrs = seen.get(parity) or seen.setdefault(parity, row.attrs.as_html())
            else:
                attrs = row.attrs.as_html()
            lines.append(f"<tr {attrs}>{cells}</tr>")
        return mark_safe("\n".join(lines))  # noqa: S308 - every part escaped above

    def _plan(self, bound) -> _Plan:
        bound.current_record = None  # attributes computed without a cell, as a header would be
        raw_td = {**dict(self.attrs), **dict(bound.column.attrs)}
        raw_td = raw_td.get("td", raw_td.get("cell", {}))
        td = None if any(callable(v) for v in raw_td.values()) else bound.attrs["td"].as_html()
        render = bound.render
        underlying = getattr(render, "__func__", None)
        names, catch_all = _wanted(underlying or render)
        return _Plan(
            bound=bound,
            accessor=A(bound.accessor),
            td=td,
            render=render,
            wants=None if catch_all else (names[1:] if underlying is not None else names),
            empty=tuple(bound.column.empty_values),
            default=bound.default,
            link=bound.link,
            localize=bound.localize,
            many=isinstance(bound.column, ManyToManyColumn),
        )

    def _cell(self, plan: _Plan, row, record) -> str:
        bound = plan.bound
        value = self._value(plan, record)
        if value is _UNRESOLVED:  # a link column with text and nothing to read (issue #257 upstream)
            content = self._render(plan, row, record, None)
        elif value in plan.empty or (plan.many and not value.exists()):
            content = plan.default
        else:
            content = self._render(plan, row, record, value)
            if plan.link:
                content = plan.link(content, **self._kwargs(bound, row, record, value))
        if plan.td is None:  # callable attributes: computed with this cell, as the library does
            bound.current_record, bound.current_value = record, content
            td = bound.attrs["td"].as_html()
        else:
            td = plan.td
        return f"<td {td}>{_shown(content, plan.localize)}</td>"

    def _render(self, plan: _Plan, row, record, value):
        """``django_tables2.utils.call_with_appropriate``, with the arguments worked out once a
        column: the usual ``render_<name>(self, value)`` or ``(self, record)`` costs one call."""
        wants = plan.wants
        if wants == ("value",):
            return plan.render(value=value)
        if wants == ("record",):
            return plan.render(record=record)
        kwargs = self._kwargs(plan.bound, row, record, value)
        if wants is None:
            return plan.render(**kwargs)
        if any(name not in kwargs for name in wants):
            return None
        return plan.render(**{name: kwargs[name] for name in wants})

    def _value(self, plan: _Plan, record):
        penultimate, remainder = plan.accessor.penultimate(record)
        if plan.choices is None:
            plan.choices = False
            if isinstance(penultimate, models.Model):
                try:
                    field = plan.accessor.get_field(record)
                except FieldDoesNotExist:
                    field = None
                plan.choices = bool(getattr(field, "choices", ())) and hasattr(
                    penultimate, f"get_{remainder}_display"
                )
                if plan.choices:  # what Model._get_FIELD_display does, its dict built once a page
                    plan.labels, plan.attname = dict(make_hashable(field.flatchoices)), field.attname
        if plan.choices and isinstance(penultimate, models.Model):
            value = getattr(penultimate, plan.attname)
            return force_str(plan.labels.get(make_hashable(value), value), strings_only=True)
        try:
            return plan.accessor.resolve(record)
        except Exception:
            if isinstance(plan.bound.column, BaseLinkColumn) and (plan.bound.column.text is not None):
                return _UNRESOLVED
            return None

    def _kwargs(self, bound, row, record, value) -> dict:
        return {
            "value": value,
            "record": record,
            "column": bound.column,
            "bound_column": bound,
            "bound_row": row,
            "table": self,
        }


_UNRESOLVED = object()


def _shown(content, localized: bool | None) -> str:
    """What ``{{ cell }}`` (or ``|localize``, ``|unlocalize``) prints in the library's template."""
    if localized is False:
        return escaped(str(content))
    return escaped(localize(content, use_l10n=localized))
