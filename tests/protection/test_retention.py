"""Protection cases join retention (issue 11, item 6 / issue 10): five years after closure by
default, removed with their messages, files, disclosures and history, unless the escalation they
concern is on legal hold; the tombstone names the record type and the chain still verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.retention import legal_hold_place, purge_expired, record_type
from apps.audit.services import verify_chain
from apps.protection.models import CaseAttachment, CaseEntry, ProtectionReport
from tests.protection.conftest import file_report

pytestmark = pytest.mark.django_db

YEARS = timedelta(days=365.25)


def closed(report) -> ProtectionReport:
    report.closed_at = timezone.now()
    report.save()
    return report


def test_protection_cases_have_their_own_rule():
    rt = record_type("protection_cases")
    assert (rt.default_years, rt.minimum_years, rt.basis) == (5, 2, "after closure")


def test_a_closed_case_past_its_period_is_removed_with_everything_it_holds(reporter):
    report, _ = file_report(reporter, attachment=SimpleUploadedFile("rota.pdf", b"%PDF rota"))
    closed(report)
    young, _ = file_report(reporter, text="Still within its period.")
    closed(young)
    ProtectionReport.objects.filter(pk=young.pk).update(closed_at=timezone.now() + 3 * YEARS)

    data = purge_expired(now=timezone.now() + 5 * YEARS + timedelta(days=2))

    assert not ProtectionReport.objects.filter(pk=report.pk).exists()
    assert not CaseEntry.objects.filter(report_id=report.pk).exists() and not CaseAttachment.objects.exists()
    assert not ProtectionReport.history.filter(id=report.pk).exists()
    assert not CaseEntry.history.filter(report_id=report.pk).exists()
    assert ProtectionReport.objects.filter(pk=young.pk).exists()
    assert [r["type"] for r in data["removed"]] == ["protection_cases"]
    assert AuditEvent.objects.filter(action="audit.records_purged").count() == 1
    assert verify_chain().ok


def test_a_case_about_an_escalation_on_legal_hold_is_kept(reporter, gov_admin):
    from tests.escalations.conftest import build_world, raise_one

    world = build_world()
    esc = raise_one(world)
    report, _ = file_report(world.raiser, escalation_id=esc.pk)
    closed(report)
    legal_hold_place(
        target_type="escalation",
        target_id=str(esc.pk),
        target_repr=esc.reference,
        actor=gov_admin,
        reason="Employment tribunal claim.",
    )
    data = purge_expired(now=timezone.now() + 6 * YEARS)
    assert ProtectionReport.objects.filter(pk=report.pk).exists()
    assert data["held"] >= 1
