"""Retention: rules with a legal minimum, legal holds, the purge and its tombstone."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.approvals.models import ApprovalRequest
from apps.audit import retention
from apps.audit.models import AuditEvent, LegalHold, RetentionRule
from apps.audit.services import verify_chain
from apps.escalations.models import Escalation, TimelineEvent
from tests.audit.conftest import finished
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db
YEARS = timedelta(days=365.25)


def escalations_type():
    return retention.record_type("escalations")


def test_defaults_follow_the_design():
    assert retention.years_for(escalations_type()) == 7
    assert retention.years_for(retention.record_type("audit_events")) == 10


def test_a_rule_shorter_than_the_legal_minimum_is_refused(gov_admin):
    with pytest.raises(ValidationError) as refused:
        retention.retention_rule_set(
            record_type_key="escalations", years=5, actor=gov_admin, reason="Save space"
        )
    assert "at least 7 years" in str(refused.value)
    with pytest.raises(ValidationError):
        retention.retention_rule_set(
            record_type_key="audit_events", years=9, actor=gov_admin, reason="Save space"
        )
    assert not RetentionRule.objects.exists()


def test_a_rule_change_keeps_its_history_and_is_audited(gov_admin):
    rule = retention.retention_rule_set(
        record_type_key="escalations", years=10, actor=gov_admin, reason="Litigation risk"
    )
    retention.retention_rule_set(
        record_type_key="escalations", years=8, actor=gov_admin, reason="Back to policy"
    )
    assert [h.years for h in rule.history.order_by("history_date")] == [10, 8]
    event = AuditEvent.objects.filter(action="audit.retention_rule_changed").latest("seq")
    assert event.data == {"record_type": "escalations", "before": 10, "after": 8, "reason": "Back to policy"}


def test_the_purge_removes_expired_records_with_their_history_and_keeps_held_ones(world, gov_admin):
    expired, held_whole, held_record = finished(world), finished(world), finished(world)
    still_open = raise_one(world)
    retention.legal_hold_place(
        target_type="escalation",
        target_id=str(held_whole.pk),
        target_repr=held_whole.reference,
        actor=gov_admin,
        reason="Tribunal claim",
    )
    retention.legal_hold_place(
        target_type="escalations",
        target_id=str(held_record.pk),
        target_repr=held_record.reference,
        actor=gov_admin,
        reason="Regulator asked",
    )
    later = expired.closed_at + 7 * YEARS + timedelta(days=2)
    plan = retention.purge_plan(later)
    assert [obj.pk for _, obj in plan.due] == [expired.pk]
    assert {obj.pk for _, obj in plan.held} == {held_whole.pk, held_record.pk}
    assert Escalation.objects.filter(pk=expired.pk).exists()  # a dry run changes nothing

    result = retention.purge_expired(now=later)

    assert not Escalation.objects.filter(pk=expired.pk).exists()
    assert not Escalation.history.filter(id=expired.pk).exists()
    assert not TimelineEvent.objects.filter(escalation_id=expired.pk).exists()
    assert set(Escalation.objects.values_list("pk", flat=True)) == {
        held_whole.pk,
        held_record.pk,
        still_open.pk,
    }
    assert Escalation.history.filter(id=held_whole.pk).exists()
    tombstone = AuditEvent.objects.get(action="audit.records_purged")
    assert tombstone.data["records"] == 1 and tombstone.data["held"] == 2
    assert tombstone.data["counts"]["escalations.Escalation"] == 1
    assert tombstone.data["counts"]["escalations.HistoricalEscalation"] >= 1
    assert len(tombstone.data["removed"][0]["sha256"]) == 64 and result["sha256"] == tombstone.data["sha256"]
    assert verify_chain().ok  # the chain verifies across the purge: a tombstone, not a gap


def test_an_escalations_approvals_go_with_it(world):
    from tests.approvals.conftest import ask_for_the_cto

    esc = raise_one(world)
    from apps.escalations import services as esc_services

    esc_services.escalation_escalate(escalation=esc, actor=world.raiser, reason="Level 1 is not answering.")
    esc.refresh_from_db()
    esc = esc_services.escalation_withdraw(
        escalation=esc, actor=world.raiser, reason="Raised against the wrong service."
    )
    request_ids = list(ApprovalRequest.objects.filter(escalation=esc).values_list("pk", flat=True))
    retention.purge_expired(now=esc.closed_at + 8 * YEARS)
    assert not ApprovalRequest.objects.filter(pk__in=request_ids).exists()
    assert not ApprovalRequest.history.filter(id__in=request_ids).exists()
    assert ask_for_the_cto  # the import stays honest: approvals are part of the escalation record


def test_a_purge_of_a_held_record_is_refused(world, gov_admin):
    esc = finished(world)
    retention.legal_hold_place(
        target_type="escalation",
        target_id=str(esc.pk),
        target_repr=esc.reference,
        actor=gov_admin,
        reason="Tribunal claim",
    )
    with pytest.raises(retention.Held):
        retention.record_purge(rt=escalations_type(), obj=esc)
    assert Escalation.objects.filter(pk=esc.pk).exists()


def test_a_released_hold_lets_the_purge_through_and_both_are_audited(world, gov_admin):
    esc = finished(world)
    hold = retention.legal_hold_place(
        target_type="escalation",
        target_id=str(esc.pk),
        target_repr=esc.reference,
        actor=gov_admin,
        reason="Tribunal claim",
    )
    retention.legal_hold_release(hold=hold, actor=gov_admin, reason="Claim settled")
    with pytest.raises(ValidationError):
        retention.legal_hold_release(hold=hold, actor=gov_admin, reason="Twice over")
    actions = list(
        AuditEvent.objects.filter(action__startswith="audit.legal_hold").values_list("action", flat=True)
    )
    assert actions == ["audit.legal_hold_released", "audit.legal_hold_placed"]
    assert retention.purge_expired(now=esc.closed_at + 8 * YEARS)["records"] == 1


def test_the_daily_task_purges(world):
    from apps.audit.tasks import purge_expired

    finished(world)
    assert purge_expired() == {"records": 0, "held": 0}  # nothing expired today


def test_pages_for_governance_admins_and_auditors(client, world, gov_admin):
    esc = finished(world)
    client.force_login(gov_admin)
    assert client.get(reverse("audit:retention")).status_code == 200
    refused = client.post(
        reverse("audit:retention_rule", args=["escalations"]), {"years": 3, "reason": "Shorter"}
    )
    assert refused.status_code == 400 and "at least 7 years" in refused.content.decode()
    ok = client.post(
        reverse("audit:retention_rule", args=["escalations"]), {"years": 9, "reason": "Litigation"}
    )
    assert ok.status_code == 302 and RetentionRule.objects.get().years == 9
    unknown = client.post(
        reverse("audit:hold_new"),
        {"target_type": "escalation", "target_id": "ESC-1999-00001", "reason": "Tribunal claim"},
    )
    assert unknown.status_code == 400 and "No such record" in unknown.content.decode()
    placed = client.post(
        reverse("audit:hold_new"),
        {"target_type": "escalation", "target_id": esc.reference, "reason": "Tribunal claim"},
    )
    assert placed.status_code == 302
    hold = LegalHold.objects.get()
    assert (
        hold.target_id == str(esc.pk)
        and esc.reference in client.get(reverse("audit:retention")).content.decode()
    )
    assert client.post(reverse("audit:hold_release", args=[hold.pk]), {"reason": ""}).status_code == 400
    assert (
        client.post(reverse("audit:hold_release", args=[hold.pk]), {"reason": "Claim settled"}).status_code
        == 302
    )
    client.force_login(world.auditor)
    assert client.get(reverse("audit:retention")).status_code == 200
    assert (
        client.post(
            reverse("audit:hold_new"),
            {"target_type": "escalation", "target_id": esc.reference, "reason": "x" * 9},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("audit:retention_rule", args=["escalations"]), {"years": 9, "reason": "xxxxxx"}
        ).status_code
        == 403
    )
    client.force_login(world.eng_manager)
    assert client.get(reverse("audit:retention")).status_code == 403
