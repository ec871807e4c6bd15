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
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.utils import A, OrderBy, OrderByTuple


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


def _call(function, kwargs: dict):
    """``django_tables2.utils.call_with_appropriate`` with the signature cached per function
    (a bound method is looked up by its function; ``self`` is already bound)."""
    underlying = getattr(function, "__func__", None)
    names, catch_all = _wanted(underlying or function)
    if underlying is not None:
        names = names[1:]
    if catch_all:
        return function(**kwargs)
    if any(name not in kwargs for name in names):
        return None
    return function(**{name: kwargs[name] for name in names})


@dataclass
class _Plan:
    bound: object  # BoundColumn
    accessor: A
    td: str | None  # the <td>'s attributes, when the same for every cell
    choices: bool | None = None  # decided at the first record


class PortalTable(tables.Table):
    """The base of every portal table; ``includes/_table.html`` prints ``body_html``."""

    def sorted_as(self, alias: str) -> None:
        """Show ``alias`` as the order in the headers, for rows the database already sorted and
        paged (a keyset list): setting ``order_by`` would sort the page again in Python."""
        self._order_by = OrderByTuple([alias] if OrderBy(alias).bare in self.columns else [])

    def body_html(self) -> SafeString:
        plans = [self._plan(bound) for bound in self.columns]
        lines = []
        for row in self.paginated_rows:
            record = row.record
            cells = "".join(self._cell(plan, row, record) for plan in plans)
            lines.append(f"<tr {row.attrs.as_html()}>{cells}</tr>")  # even/odd, row_attrs: once a row
        return mark_safe("\n".join(lines))  # noqa: S308 - every part escaped above

    def _plan(self, bound) -> _Plan:
        bound.current_record = None  # attributes computed without a cell, as a header would be
        raw_td = {**dict(self.attrs), **dict(bound.column.attrs)}
        raw_td = raw_td.get("td", raw_td.get("cell", {}))
        td = None if any(callable(v) for v in raw_td.values()) else bound.attrs["td"].as_html()
        return _Plan(bound=bound, accessor=A(bound.accessor), td=td)

    def _cell(self, plan: _Plan, row, record) -> str:
        bound = plan.bound
        value = self._value(plan, record)
        if value is _UNRESOLVED:  # a link column with text and nothing to read (issue #257 upstream)
            content = _call(bound.render, self._kwargs(bound, row, record, None))
        elif value in bound.column.empty_values or (
            isinstance(bound.column, ManyToManyColumn) and not value.exists()
        ):
            content = bound.default
        else:
            kwargs = self._kwargs(bound, row, record, value)
            content = _call(bound.render, kwargs)
            if bound.link:
                content = bound.link(content, **kwargs)
        if plan.td is None:  # callable attributes: computed with this cell, as the library does
            bound.current_record, bound.current_value = record, content
            td = bound.attrs["td"].as_html()
        else:
            td = plan.td
        return f"<td {td}>{_shown(content, bound.localize)}</td>"

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
        if plan.choices and isinstance(penultimate, models.Model):
            return getattr(penultimate, f"get_{remainder}_display")()
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
        return conditional_escape(str(content))
    return conditional_escape(localize(content, use_l10n=localized))
