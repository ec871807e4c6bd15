"""Every change to an export job: asked for, run by a worker, downloaded, removed.

A job is claimed with a conditional update (queued -> running), so a message delivered twice
writes one file. Its progress is committed between keyset chunks (the read holds no
transaction open), which is what the requester's page polls.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from apps.audit.services import record
from apps.common.csvexport import chunked_rows, csv_lines
from apps.exports import registry
from apps.exports.models import ExportJob, JobStatus

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
LOST_ACCESS = "You no longer have access to this list, so nothing was written."
STOPPED = (
    "The export stopped before the end, so no file was kept. Export again; if it stops again, "
    "tell the portal's administrators."
)
WORKER_LOST = "The worker writing this export stopped before the end, so no file was kept. Export again."


def _storage():
    """``STORAGES["exports"]``: a directory the web processes and the workers share."""
    return storages["exports"]


def params_of(query: QueryDict, *, drop: Iterable[str] = ("export",)) -> dict[str, list[str]]:
    return {key: query.getlist(key) for key in query if key not in drop}


def query_of(params: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.items():
        query.setlist(key, list(values))
    query._mutable = False
    return query


def export_job_request(
    *, kind: registry.ExportKind, params: dict, start_key: list | None, actor, audit_action: str, audit_data: dict
) -> ExportJob:
    """The job, its audit event (what was asked for, as the streamed export records it), and
    its task queued when the transaction commits."""
    from apps.exports.tasks import run_export

    with transaction.atomic():
        job = ExportJob.objects.create(requester=actor, kind=kind.key, params=params, start_key=start_key)
        record(action=audit_action, actor=actor, data={**audit_data, "export_job": job.pk})
        transaction.on_commit(lambda: run_export.delay(job.pk))
    return job


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the job's file; None when another delivery took it first (or it is gone)."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if claimed != 1:
        return None
    job = ExportJob.objects.select_related("requester").get(pk=job_id)
    kind, user = registry.kind(job.kind), job.requester
    if kind is None or not user.is_active or not kind.allowed(user):
        return _finish(job, status=JobStatus.FAILED, failure=LOST_ACCESS)
    try:
        count, name, size = _write(job, kind)
    except Exception:
        logger.exception("export job %s stopped", job.pk)
        return _finish(job, status=JobStatus.FAILED, failure=STOPPED)
    keep = timedelta(hours=settings.EXPORT_KEEP_HOURS)
    return _finish(
        job, status=JobStatus.DONE, rows_written=count, file_name=name, file_size=size,
        expires_at=timezone.now() + keep,
    )


def _finish(job: ExportJob, **changes) -> ExportJob:
    changes["finished_at"] = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(**changes)
    job.refresh_from_db()
    return job


def _write(job: ExportJob, kind: registry.ExportKind) -> tuple[int, str, int]:
    """The CSV in a temporary file, then into the exports storage (which nothing serves
    directly: the download view checks the requester and records the read)."""
    queryset = kind.queryset(job.requester, query_of(job.params))
    ExportJob.objects.filter(pk=job.pk).update(rows_total=queryset.count())
    start = _decode_key(queryset.model, kind.order, job.start_key)
    rows = chunked_rows(queryset, kind.order, kind.rows, size=kind.chunk_size, start=start)
    counter = _Progress(job.pk)
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
        for line in csv_lines(kind.header, counter.counted(rows)):
            text.write(line)
        text.flush()
        size = raw.tell()
        raw.seek(0)
        name = _storage().save(f"{job.pk}-{kind.key}.csv", File(raw))
        text.detach()
    return counter.count, name, size


class _Progress:
    """Counts rows as they pass and commits the count about once a second."""

    def __init__(self, job_id: int):
        self.job_id, self.count, self.saved_at = job_id, 0, time.monotonic()

    def counted(self, rows: Iterable[list]) -> Iterator[list]:
        for row in rows:
            self.count += 1
            if time.monotonic() - self.saved_at >= PROGRESS_EVERY_SECONDS:
                self.saved_at = time.monotonic()
                ExportJob.objects.filter(pk=self.job_id).update(
                    rows_written=self.count, heartbeat_at=timezone.now()
                )
            yield row


def first_key(queryset, order) -> list | None:
    """The first row's key in ``order``, as JSON values (the job starts there)."""
    fields = [name.lstrip("-") for name in order]
    values = queryset.order_by(*order).values_list(*fields).first()
    if values is None:
        return None
    return [v.isoformat() if isinstance(v, datetime) else v for v in values]


def _decode_key(model, order, key: list | None) -> list | None:
    if key is None:
        return None
    fields = [model._meta.get_field(name.lstrip("-")) for name in order]
    return [field.to_python(value) for field, value in zip(fields, key, strict=True)]


def export_download(*, job: ExportJob, actor):
    """The file, opened; the download is an audit event, committed before the first byte."""
    handle = _storage().open(job.file_name, "rb")
    with transaction.atomic():
        record(
            action="exports.downloaded",
            actor=actor,
            data={"export_job": job.pk, "kind": job.kind, "rows": job.rows_written},
        )
    return handle


def export_jobs_purge(*, now: datetime | None = None) -> dict:
    """Files past their day removed (the row stays, marked removed, so the requester's page
    says so), and jobs whose worker died marked as not finished. One audit event when
    anything was removed."""
    now = now or timezone.now()
    removed = 0
    for job in ExportJob.objects.filter(status=JobStatus.DONE, expires_at__lte=now):
        if job.file_name:
            _storage().delete(job.file_name)
        removed += ExportJob.objects.filter(pk=job.pk, status=JobStatus.DONE).update(
            status=JobStatus.EXPIRED, file_name=""
        )
    stale = now - timedelta(minutes=settings.EXPORT_STALE_MINUTES)
    lost = ExportJob.objects.filter(
        Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale)
        | Q(status=JobStatus.QUEUED, created_at__lt=now - timedelta(hours=settings.EXPORT_KEEP_HOURS))
    ).update(status=JobStatus.FAILED, failure=WORKER_LOST, finished_at=now)
    if removed:
        with transaction.atomic():
            record(action="exports.files_removed", data={"files": removed})
    return {"removed": removed, "lost": lost}
