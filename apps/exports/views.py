"""The requester's export pages: one job (progress, then the file), and their recent jobs.
Anyone else gets a 404: an export is a copy of what its requester could see."""

from __future__ import annotations

from datetime import timedelta

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from apps.accounts.access import authenticated
from apps.exports import registry
from apps.exports.models import ExportJob, JobStatus
from apps.exports.services import export_download

RECENT = timedelta(days=7)


def _own_job(request, pk: int) -> ExportJob:
    job = ExportJob.objects.filter(pk=pk, requester=request.user).first()
    if job is None:
        raise Http404("No such export.")
    return job


def _context(job: ExportJob) -> dict:
    kind = registry.kind(job.kind)
    return {"job": job, "label": kind.label if kind else "Export", "list_url": kind.list_url if kind else ""}


@require_safe
@authenticated
def job(request, pk: int):
    return render(request, "exports/job.html", _context(_own_job(request, pk)))


@require_safe
@authenticated
def job_status(request, pk: int):
    """The status card alone, which the job page polls (htmx) while the file is written."""
    return render(request, "exports/_job_status.html", _context(_own_job(request, pk)))


@require_safe
@authenticated
def download(request, pk: int):
    job = _own_job(request, pk)
    if job.status != JobStatus.DONE or not job.file_name:
        raise Http404("This export has no file (it is not ready, or it was removed).")
    try:
        handle = export_download(job=job, actor=request.user)
    except FileNotFoundError:
        raise Http404("This export's file was removed.") from None
    name = f"{job.kind}-{job.created_at:%Y%m%d-%H%M}.csv"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="text/csv; charset=utf-8")


@require_safe
@authenticated
def mine(request):
    jobs = ExportJob.objects.filter(requester=request.user, created_at__gte=timezone.now() - RECENT)[:50]
    rows = [(job, _context(job)["label"]) for job in jobs]
    return render(request, "exports/mine.html", {"jobs": rows})
