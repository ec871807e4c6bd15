"""The chain's health: tampering by raw SQL found by verification, on demand and nightly;
compliance told of a break, naming the first bad row."""

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit import chain as chain_services
from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.services import record, verify_chain
from apps.notifications.models import Notification
from tests.tampering import as_a_dba

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    return [record(action=f"test.event_{i}", data={"i": i}) for i in range(6)]


def change(sql, event):
    sql("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"i": 99}', event.pk])


def delete(sql, event):
    sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])


def insert(sql, event):
    head = AuditEvent.objects.order_by("-seq").first()
    sql(
        "INSERT INTO audit_auditevent (seq, occurred_at, actor_id, actor_username, action, target_type, target_id,"
        " target_repr, data, escalation_id, team_id, confined_to, prev_hash, hash)"
        " VALUES (%s, %s, NULL, 'mallory', 'test.forged', '', '', '', '{}', NULL, NULL, '', %s, %s)",
        [head.seq + 1, timezone.now(), head.hash, "f" * 64],
    )
    return head.seq + 1


TAMPERING = {
    "change": (change, "row altered"),
    "delete": (delete, "row removed"),
    "insert": (insert, "row altered"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_by_raw_sql_is_found_by_verification(events, how):
    tamper, reason = TAMPERING[how]
    with as_a_dba() as sql:
        bad = tamper(sql, events[3]) or events[3].seq
    report = verify_chain()
    assert not report.ok and report.broken_seq == (events[4].seq if how == "delete" else bad)
    assert reason in report.reason


@pytest.mark.parametrize("how", list(TAMPERING))
def test_the_nightly_task_finds_it_and_tells_compliance(events, how, auditor, hr_officer, raiser):
    from apps.audit.tasks import verify_chain_nightly

    tamper, _ = TAMPERING[how]
    with as_a_dba() as sql:
        tamper(sql, events[3])
    assert verify_chain_nightly() == "broken"
    verification = ChainVerification.objects.get()
    assert verification.trigger == "nightly" and verification.broken_seq is not None
    told = Notification.objects.filter(template="audit_chain_broken")
    assert {n.recipient_key for n in told} == {f"user:{auditor.pk}", f"user:{hr_officer.pk}"}
    assert f"broken at event {verification.broken_seq}" in told.first().subject
    broken = AuditEvent.objects.get(action="audit.chain_broken")
    assert broken.data["seq"] == verification.broken_seq


def test_an_intact_chain_is_recorded_and_nobody_is_told(events, auditor):
    from apps.audit.tasks import verify_chain_nightly

    assert verify_chain_nightly() == "intact"
    verification = ChainVerification.objects.get()
    assert verification.checked == events[-1].seq and verification.finished_at is not None
    assert not Notification.objects.filter(template="audit_chain_broken").exists()
    assert AuditEvent.objects.filter(action="audit.chain_verified").exists()


def test_a_verification_runs_once_however_often_its_task_is_delivered(events):
    verification = ChainVerification.objects.create(trigger="on_demand", requested_at=timezone.now())
    assert chain_services.chain_verification_run(verification_id=verification.pk).status == "intact"
    assert chain_services.chain_verification_run(verification_id=verification.pk) is None
    assert AuditEvent.objects.filter(action="audit.chain_verified").count() == 1


def test_progress_is_saved_as_it_goes(events, monkeypatch):
    seen = []
    report = verify_chain(chunk_size=2, progress=seen.append)
    assert report.ok and seen == list(range(2, events[-1].seq + 1, 2))


def test_governance_admins_verify_on_demand_and_see_progress(
    client, gov_admin, events, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("apps.audit.tasks.run_verification.delay", queued.append)
    client.force_login(gov_admin)
    assert client.get(reverse("audit:chain_verify")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("audit:chain_verify"))
    assert response.status_code == 302
    verification = ChainVerification.objects.get()
    assert queued == [verification.pk]
    progress = client.get(reverse("audit:chain_progress")).content.decode()
    assert "hx-trigger" in progress and f"of about {verification.total} events" in progress
    client.post(reverse("audit:chain_verify"))  # a second ask while one waits adds none
    assert ChainVerification.objects.count() == 1
    chain_services.chain_verification_run(verification_id=verification.pk)
    page = client.get(reverse("audit:chain")).content.decode()
    assert "Intact" in page and "hx-trigger" not in page


def test_auditors_read_the_health_but_cannot_start_a_verification(client, auditor, manager, raiser):
    client.force_login(auditor)
    assert client.get(reverse("audit:chain")).status_code == 200
    assert client.post(reverse("audit:chain_verify")).status_code == 403
    assert not ChainVerification.objects.exists()
    client.force_login(raiser)
    assert client.get(reverse("audit:chain")).status_code == 403
