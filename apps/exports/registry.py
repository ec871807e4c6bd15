"""What an export is, learnt from the domain apps at start-up (the pattern of
``apps.protection.links``): the exports app imports no domain app.

A kind's ``queryset(user, params)`` is the list the user sees with the request's filters
(``InvalidParameter`` for a bad one); the worker calls it again for the requester, so a job's
rows are the requester's, never the worker's. ``allowed(user)`` is asked again when the job
runs: someone who lost the right in between gets no file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import QueryDict


@dataclass(frozen=True)
class ExportKind:
    key: str  # in file names and URLs: "decision-log"
    label: str  # on pages: "Decision log"
    header: Sequence[str]
    queryset: Callable[[object, QueryDict], QuerySet]
    order: Sequence[str]  # keyset order: the list's sort plus a unique field, one direction
    rows: Callable[[list], Iterable[list]]  # a chunk of objects -> CSV rows
    allowed: Callable[[object], bool]
    list_url: str  # the URL name of the page the export came from
    chunk_size: int = 2000


_kinds: dict[str, ExportKind] = {}


def register(kind: ExportKind) -> None:
    _kinds[kind.key] = kind


def kind(key: str) -> ExportKind | None:
    return _kinds.get(key)
