"""Thin Celery tasks over ``apps.exports.services``; idempotent (a claimed job runs once)."""

from __future__ import annotations

from celery import shared_task


# A million rows take minutes, longer than the portal's default five-minute task limit.
@shared_task(name="exports.run", acks_late=True, ignore_result=True, time_limit=3600, soft_time_limit=3540)
def run_export(job_id: int) -> str:
    from apps.exports.services import export_job_run

    job = export_job_run(job_id=job_id)
    return job.status if job else "taken"


@shared_task(name="exports.purge_expired", acks_late=True, ignore_result=True)
def purge_expired() -> dict:
    from apps.exports.services import export_jobs_purge

    return export_jobs_purge()
