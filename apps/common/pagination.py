"""Every django-tables2 list paginates through ``paginate``.

django-tables2 reads ``page`` and ``per_page`` from the query string and hands them to the
paginator unchecked: a page past 2**63 overflows the database's OFFSET (SQLite raises
OverflowError, so did every lazily paginated list), a negative ``per_page`` makes Django's
paginator fail on its own fallback page, and ``abc`` silently showed page 1. ``paginate``
checks both first and answers a bad one with a 400 naming the parameter and its rule; a
filter form that does not validate is refused the same way instead of being ignored (an
unfiltered list that looks filtered is worse than an error).

A page past the last one is not an error: the list shows its last page (or, lazily paginated,
its first), as lists change between two clicks.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_tables2 import LazyPaginator, RequestConfig, Table

from apps.common.params import InvalidParameter, int_param

MAX_PAGE = 1_000_000  # 50 million rows at 50 a page; keeps OFFSET far inside 64 bits
MAX_PER_PAGE = 200
MAX_ECHO = 200  # characters of a refused filter value shown back in its field


def paginate(request: HttpRequest, table: Table, *, per_page: int, lazy: bool = False, filters=None) -> Table:
    """Configure ``table`` from the request (sorting, page, page size) like ``RequestConfig``.

    ``lazy`` uses django-tables2's ``LazyPaginator`` (no COUNT over a large table);
    ``filters`` is the django-filter FilterSet the table's rows came from."""
    if filters is not None:
        require_valid_filters(filters)
    int_param(request, table.prefixed_page_field, default=1, minimum=1, maximum=MAX_PAGE)
    int_param(request, table.prefixed_per_page_field, default=per_page, minimum=1, maximum=MAX_PER_PAGE)
    options: dict = {"per_page": per_page}
    if lazy:
        options["paginator_class"] = LazyPaginator
    RequestConfig(request, paginate=options).configure(table)
    return table


def require_valid_filters(filters) -> None:
    """A bound django-filter FilterSet whose form does not validate is an ``InvalidParameter``
    naming its first bad field. django-filter itself drops an invalid value and filters on the
    rest, which widens the result without saying so (a CSV export included)."""
    if filters.is_bound and not filters.is_valid():
        name, errors = next(iter(filters.errors.items()))
        raise InvalidParameter(name, "is not a valid filter: " + " ".join(errors))


def refused_filters(request: HttpRequest, filters) -> bool:
    """Whether a bound FilterSet's form fails to validate; if so its bad fields are marked for the
    page to show each message beside its field (the list then shows no rows, with a 400), and
    the rest of the form keeps what was typed. A refused value is sent back cut to ``MAX_ECHO``
    characters, in the field and in the page's links (sorting, export), which read ``request.GET``."""
    if filters is None or not filters.is_bound or filters.is_valid():
        return False
    form = filters.form
    data = form.data.copy()
    for name in form.errors:
        if len(data.get(name) or "") > MAX_ECHO:
            data[name] = data[name][:MAX_ECHO]  # a megabyte typed is not a megabyte sent back
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{form[name].auto_id}_error"
    form.data = data
    if request.GET is filters.data:
        request.GET = data
    return True
