"""The one decision every export view makes: stream it now, or write it as a job.

A cheap estimate decides: a count that stops at ``EXPORT_STREAM_MAX_ROWS + 1`` rows (one
LIMIT-ed query, whatever the list's size). At or under the limit the CSV streams (it finishes
well inside the web timeout); over it, a job is queued and the requester is sent to its page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect

from apps.audit.services import record
from apps.common.csvexport import chunked_rows, streamed_csv
from apps.exports import registry
from apps.exports.services import export_job_request, first_key, params_of


def export_response(request, *, kind_key: str, audit_action: str, audit_data: dict):
    kind = registry.kind(kind_key)
    queryset = kind.queryset(request.user, request.GET)  # a bad filter is a 400 before anything is written
    limit = settings.EXPORT_STREAM_MAX_ROWS
    if queryset[: limit + 1].count() > limit:
        job = export_job_request(
            kind=kind,
            params=params_of(request.GET),
            start_key=first_key(queryset, kind.order),
            actor=request.user,
            audit_action=audit_action,
            audit_data=audit_data,
        )
        return redirect("exports:job", pk=job.pk)
    with transaction.atomic():
        record(action=audit_action, actor=request.user, data=audit_data)
    rows = chunked_rows(queryset, kind.order, kind.rows, size=kind.chunk_size)
    return streamed_csv(name=kind.key, header=kind.header, rows=rows)
