"""A long export written by a real Celery worker (not eager mode): the web request queues the
job, the worker process writes the file into the directory both share, and the requester
downloads every row and the trailer.

Default pass: SQLite + the embedded broker; ``TEST_DATABASE=postgres``: PostgreSQL + Redis.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.exports.models import ExportJob, JobStatus
from tests.csvfiles import complete_body
from tests.exports.conftest import events
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]


def test_a_real_worker_writes_every_row_and_the_trailer(celery_cluster, client, auditor, settings, tmp_path):
    shared = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": shared}},
    }
    settings.EXPORT_STREAM_MAX_ROWS = 100
    events(1500)  # two of the trail's keyset chunks (1,000 rows each)
    cluster = celery_cluster()
    cluster.env["EXPORT_DIR"] = str(shared)
    cluster.start(workers=1, beat=False)

    client.force_login(auditor)
    response = client.get(reverse("audit:export"), {"target": "thing"})
    job = ExportJob.objects.get(requester=auditor)
    assert response.status_code == 302

    wait_until(
        lambda: ExportJob.objects.get(pk=job.pk).status not in (JobStatus.QUEUED, JobStatus.RUNNING),
        timeout=120,
        what="the worker to finish the export",
    )
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.failure
    assert job.rows_written == job.rows_total == 1500
    body = complete_body(client.get(reverse("exports:download", args=[job.pk])))
    assert body.count(",thing ") == 1500
    assert "exports.run" in cluster.tails(200)
