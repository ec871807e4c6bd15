"""A list too long to stream becomes a job: written for its requester, shown with its row count,
downloaded only by them (each download audited), removed after its day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from apps.exports.models import ExportJob, JobStatus
from apps.exports.services import LOST_ACCESS, WORKER_LOST, export_job_run, export_jobs_purge
from tests.csvfiles import TRAILER
from tests.exports.conftest import events
from tests.factories import UserFactory

TRAIL = {"target": "thing"}


@pytest.fixture
def long_lists(settings, export_dir):
    settings.EXPORT_STREAM_MAX_ROWS = 3
    return export_dir


def ask(client, user, params=TRAIL) -> ExportJob:
    client.force_login(user)
    response = client.get(reverse("audit:export"), params)
    job = ExportJob.objects.get(requester=user)
    assert response.status_code == 302 and response["Location"] == reverse("exports:job", args=[job.pk])
    return job


def download_text(client, job) -> str:
    response = client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_a_long_list_is_written_by_a_job_and_downloaded_with_every_row(client, auditor, long_lists):
    events(7)
    job = ask(client, auditor)
    assert job.status == JobStatus.QUEUED and job.params == {"target": ["thing"]}
    asked = AuditEvent.objects.get(action="audit.exported")
    assert asked.data["export_job"] == job.pk and asked.actor_id == auditor.pk
    page = client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 2s"' in page

    export_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.rows_written == 7 and job.rows_total == 7
    page = client.get(reverse("exports:job_status", args=[job.pk])).content.decode()
    assert "7 rows" in page and "hx-trigger" not in page  # done: the page stops polling
    text = download_text(client, job)
    assert text.count(",thing ") == 7 and TRAILER.search(text).group(1) == "7"
    downloaded = AuditEvent.objects.get(action="exports.downloaded")
    assert downloaded.actor_id == auditor.pk and downloaded.data["export_job"] == job.pk
    download_text(client, job)
    assert AuditEvent.objects.filter(action="exports.downloaded").count() == 2  # every download


def test_the_job_holds_the_rows_there_were_when_it_was_asked_for(client, auditor, long_lists):
    events(5)
    job = ask(client, auditor)
    events(2, start=100)  # arrive while the job waits for a worker
    export_job_run(job_id=job.pk)
    text = download_text(client, job)
    assert "thing 100" not in text and TRAILER.search(text).group(1) == "5"


def test_someone_elses_export_is_not_found(client, auditor, long_lists):
    events(5)
    job = ask(client, auditor)
    export_job_run(job_id=job.pk)
    other = UserFactory(username="other_auditor", roles=[Role.AUDITOR])
    client.force_login(other)
    for name in ("exports:job", "exports:job_status", "exports:download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="exports.downloaded").exists()
    assert reverse("exports:job", args=[job.pk]) not in client.get(reverse("exports:mine")).content.decode()


def test_a_requester_who_lost_the_right_gets_no_file(client, auditor, long_lists):
    events(5)
    job = ask(client, auditor)
    auditor.groups.clear()
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.failure == LOST_ACCESS and not job.file_name
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404


def test_a_second_delivery_of_the_task_writes_nothing(client, auditor, long_lists):
    events(5)
    job = ask(client, auditor)
    assert export_job_run(job_id=job.pk).status == JobStatus.DONE
    assert export_job_run(job_id=job.pk) is None
    assert len(list(long_lists.iterdir())) == 1


def test_expired_files_are_removed_and_the_page_says_so(client, auditor, long_lists):
    events(5)
    job = ask(client, auditor)
    job = export_job_run(job_id=job.pk)
    path = long_lists / job.file_name
    assert path.exists()
    assert export_jobs_purge(now=job.expires_at - timedelta(minutes=1))["removed"] == 0
    assert export_jobs_purge(now=job.expires_at)["removed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.EXPIRED and not path.exists() and not job.file_name
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
    assert "removed a day after" in client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert AuditEvent.objects.get(action="exports.files_removed").data == {"files": 1}


def test_a_job_whose_worker_died_is_marked_as_not_finished(client, auditor, long_lists, settings):
    events(5)
    job = ask(client, auditor)
    stale = timezone.now() - timedelta(minutes=settings.EXPORT_STALE_MINUTES + 1)
    ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=stale)
    assert export_jobs_purge()["lost"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.failure == WORKER_LOST


def test_a_short_list_still_streams(client, auditor, long_lists):
    events(3)
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), TRAIL)
    assert response.streaming and not ExportJob.objects.exists()


def test_a_bad_filter_is_refused_before_any_job(client, auditor, long_lists):
    events(5)
    client.force_login(auditor)
    assert client.get(reverse("audit:export"), {"since": "not a date"}).status_code == 400
    assert not ExportJob.objects.exists()
