"""The decision log, the list issue 13 measured at a million rows: its export reads keyset
chunks by (at, id), so decisions sharing a moment are neither lost nor repeated between chunks,
and a long log becomes a job whose file holds what the stream would have sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from apps.approvals.models import ApprovalDecision, Outcome
from apps.approvals.selectors import LOG_ORDER
from apps.common.csvexport import keyset_chunks
from apps.exports.models import ExportJob, JobStatus
from apps.exports.services import export_job_run
from tests.approvals.conftest import MONDAY_0900, ask_for_the_cto, build_org, to_level_two
from tests.csvfiles import complete_body


@pytest.fixture
def org(db):
    return build_org()


@pytest.fixture
def decisions(org):
    """25 decisions on one request: ten of them at the same moment."""
    approval = ask_for_the_cto(org, to_level_two(org))
    moments = [MONDAY_0900 + timedelta(hours=i) for i in range(15)] + [MONDAY_0900 + timedelta(days=2)] * 10
    ApprovalDecision.objects.bulk_create(
        ApprovalDecision(approval=approval, outcome=Outcome.REJECTED, at=at, reason=f"decision {i}")
        for i, at in enumerate(moments)
    )
    return ApprovalDecision.objects.all()


def test_keyset_chunks_keep_every_decision_once_in_log_order_across_ties(decisions):
    expected = list(decisions.order_by(*LOG_ORDER).values_list("pk", flat=True))
    chunks = list(keyset_chunks(decisions, LOG_ORDER, size=3))
    assert [d.pk for chunk in chunks for d in chunk] == expected and len(expected) == 25
    assert [len(c) for c in chunks] == [3] * 8 + [1]
    assert [d.pk for c in keyset_chunks(decisions, LOG_ORDER, size=25) for d in c] == expected  # exactly one chunk's worth


def test_a_long_decision_log_becomes_a_job_with_what_the_stream_sends(client, org, decisions, settings, export_dir):
    client.force_login(org.auditor)
    streamed = complete_body(client.get(reverse("approvals:log"), {"export": "csv"}))
    settings.EXPORT_STREAM_MAX_ROWS = 10
    response = client.get(reverse("approvals:log"), {"export": "csv"})
    job = ExportJob.objects.get(requester=org.auditor)
    assert response.status_code == 302 and job.kind == "decision-log"
    assert export_job_run(job_id=job.pk).status == JobStatus.DONE
    written = complete_body(client.get(reverse("exports:download", args=[job.pk])))
    assert written == streamed and written.count("decision ") == 25
    page = client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert "25 rows" in page and "# end of export: 25 rows" in page
