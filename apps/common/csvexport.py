"""Every CSV the portal sends goes through here: streamed, and safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by spreadsheet programs ("CSV injection": an escalation titled
``=HYPERLINK("https://evil", "click")`` becomes a live link in an auditor's Excel). Such cells
get a leading apostrophe, which spreadsheets show as text and ``uncell`` strips on import.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

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


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield "\ufeff"  # a BOM, so spreadsheet programs read names like "Tomás" right
    yield writer.writerow([cell(h) for h in header])
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def streamed_csv(*, name: str, header: Iterable[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A download named ``<name>-<UTC timestamp>.csv``, written as it is read: 100,000 rows
    never sit in memory."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response
