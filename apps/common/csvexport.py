"""Every CSV the portal sends goes through here: streamed, and safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by spreadsheet programs ("CSV injection": an escalation titled
``=HYPERLINK("https://evil", "click")`` becomes a live link in an auditor's Excel). Such cells
get a leading apostrophe, which spreadsheets show as text and ``uncell`` strips on import.

A download that is cut off must never look complete (issue 13): a proxy's or gunicorn's timeout
ends the body under a 200, and a CSV has no length of its own. So every export ends with a
trailer line, ``# end of export: N rows``, written only after the last row has left; a file
without it is incomplete. The trailer is a line of its own, not a CSV row: spreadsheets show it
as one cell, and the portal's own import (``is_trailer``) skips it.

Rows are read in keyset chunks (``keyset_chunks``): each chunk is one short query ordered by the
list's sort plus id, starting after the last row of the one before. Unlike ``.iterator()`` in
autocommit, PostgreSQL never materialises the whole result in a ``WITH HOLD`` cursor first
(2.5 GiB of temporary files for a million decisions), and a job can commit its progress
between chunks. A streamed download reads its chunks inside one read-only REPEATABLE READ
transaction on PostgreSQL, so they are one consistent snapshot; on SQLite (whose transactions
take the write lock at BEGIN here) each chunk is its own read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def uncell(text: str) -> str:
    """The inverse of ``cell``, for files the portal exported and reads back."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose ``write`` returns the line, so ``csv.writer`` can feed a stream."""

    def write(self, value: str) -> str:
        return value


TRAILER_PREFIX = "# end of export: "


def trailer(count: int) -> str:
    return f"{TRAILER_PREFIX}{count} {'row' if count == 1 else 'rows'}\r\n"


def is_trailer(values: Sequence[str]) -> bool:
    """Whether a parsed CSV row is an export's trailer line (a file read back skips it)."""
    return bool(values) and values[0].startswith(TRAILER_PREFIX) and not any(v.strip() for v in values[1:])


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The BOM, the header, every row, then the trailer with the number of rows: the trailer is
    only reached when every row has been read and written."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff"  # a BOM, so spreadsheet programs read names like "Tomás" right
    yield writer.writerow([cell(h) for h in header])
    count = 0
    for row in rows:
        yield writer.writerow([cell(value) for value in row])
        count += 1
    yield trailer(count)


def keyset_chunks(
    queryset: QuerySet, order: Sequence[str], *, size: int = 2000, start: Sequence | None = None
) -> Iterator[list]:
    """The queryset's rows in ``order`` (the list's sort ending in a unique field, every field
    the same direction, e.g. ``("-at", "-id")``), as lists of at most ``size``. ``start`` is an
    inclusive first key (its values in ``order``'s order). Each chunk is a query of its own, so
    nothing is held open between them."""
    fields = [name.lstrip("-") for name in order]
    descending = order[0].startswith("-")
    if any(name.startswith("-") != descending for name in order):
        raise ValueError(f"keyset order {order!r} mixes directions")
    ordered = queryset.order_by(*order)
    after, inclusive = start, True
    while True:
        page = ordered.filter(_beyond(fields, after, descending, inclusive)) if after is not None else ordered
        chunk = list(page[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last = chunk[-1]
        after = [last[name] if isinstance(last, dict) else getattr(last, name) for name in fields]
        inclusive = False


def _beyond(fields: list[str], key: Sequence, descending: bool, inclusive: bool) -> Q:
    """Rows after ``key`` in the order: (a, b) < (x, y) spelt out as a < x OR (a = x AND b < y).
    The leading ``a <= x`` repeats the first term so PostgreSQL can start the index scan there
    rather than filter the index from its top on every chunk."""
    less, less_eq = ("lt", "lte") if descending else ("gt", "gte")
    either = Q()
    for i, name in enumerate(fields):
        last = i == len(fields) - 1
        term = Q(**{f"{f}": v for f, v in zip(fields[:i], key[:i], strict=True)})
        term &= Q(**{f"{name}__{less_eq if last and inclusive else less}": key[i]})
        either |= term
    return Q(**{f"{fields[0]}__{less_eq}": key[0]}) & either


def chunked_rows(
    queryset: QuerySet, order: Sequence[str], to_rows, *, size: int = 2000, start: Sequence | None = None
) -> Iterator[list]:
    """Every row of an export: ``to_rows`` turns each chunk of objects into CSV rows (so what a
    row prints is looked up once per chunk, never per row)."""
    for chunk in keyset_chunks(queryset, order, size=size, start=start):
        yield from to_rows(chunk)


STREAM_BLOCK = 32 * 1024


def _blocks(lines: Iterator[str], size: int = STREAM_BLOCK) -> Iterator[str]:
    """Lines joined into blocks of about ``size`` characters: gunicorn's sync worker sends each
    item of a stream with a system call of its own, and a line each ran at a third of the speed
    (bench/exports.py). The trailer is in the last block, after every row."""
    pending: list[str] = []
    length = 0
    for line in lines:
        pending.append(line)
        length += len(line)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


def _in_read_snapshot(lines: Iterator[str]) -> Iterator[str]:
    """On PostgreSQL, the whole stream reads one snapshot: a read-only REPEATABLE READ
    transaction around the generator. A client that goes away closes the generator, which
    ends the transaction (no trailer was sent)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from lines  # already inside a transaction (a test's): its snapshot is the one
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield from lines


def streamed_csv(*, name: str, header: Iterable[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A download named ``<name>-<UTC timestamp>.csv``, written as it is read: 100,000 rows
    never sit in memory, and it ends with the trailer only when every row was sent."""
    response = StreamingHttpResponse(
        _in_read_snapshot(_blocks(csv_lines(header, rows))), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response
