"""An auditor in a real browser: finds who changed a policy's threshold last month, opens the
diff, and downloads an escalation's evidence pack, which verifies offline. No page logs an
error or trips the CSP."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from apps.escalations.models import Escalation
from apps.escalations.services import escalation_raise, escalation_withdraw
from apps.policies.models import ResponseThreshold, Service
from tests.browser.conftest import open_menu

pytestmark = pytest.mark.browser
SCRIPT_DIR = Path(__file__).resolve().parents[2] / "scripts"


def change_a_threshold_last_month() -> tuple[ResponseThreshold, timezone.datetime]:
    """Leo Martins (govadmin) tightened a threshold a month ago."""
    admin = get_user_model().objects.get(username="govadmin")
    threshold = ResponseThreshold.objects.order_by("pk").first()
    when = timezone.now() - timedelta(days=30)
    with time_machine.travel(when, tick=False):
        threshold.acknowledge_within = threshold.acknowledge_within + timedelta(minutes=45)
        threshold._history_user, threshold._change_reason = (
            admin,
            "Customers asked for a longer first response",
        )
        threshold.save()
    return threshold, when


def a_withdrawn_escalation() -> Escalation:
    """Raised by Sam Patel (staff) and withdrawn: a finished record with a timeline."""
    from tests.browser.test_approvals import CONCERN

    sam = get_user_model().objects.get(username="staff")
    esc = escalation_raise(
        actor=sam,
        service=Service.objects.get(name="Payments API"),
        category="compliance",
        severity="sev2",
        fields={**CONCERN, "criticality": "business_critical", "impact_expected_at": timezone.now()},
    )
    return escalation_withdraw(escalation=esc, actor=sam, reason="Raised against the wrong service.")


def test_an_auditor_finds_a_threshold_change_and_downloads_an_evidence_pack(
    page, sign_in, console_errors, tmp_path
):
    threshold, when = change_a_threshold_last_month()
    sign_in("auditor")
    open_menu(page, "Records")
    page.get_by_role("link", name="Change history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("History of changes")

    page.get_by_label("Person").fill("Leo Martins")
    page.get_by_label("Kind of record").select_option(label="Response threshold")
    page.get_by_label("From", exact=True).fill((when - timedelta(days=2)).date().isoformat())
    page.get_by_label("To", exact=True).fill((when + timedelta(days=2)).date().isoformat())
    page.get_by_role("button", name="Filter").click()

    change = page.locator(".history-list li").filter(has_text="Customers asked for a longer first response")
    expect(change).to_have_count(1)
    expect(change).to_contain_text("govadmin")
    expect(change.get_by_role("row", name="Acknowledge within")).to_be_visible()

    change.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("History of")
    expect(page.get_by_text("Customers asked for a longer first response")).to_be_visible()
    expect(page.locator("del").first).to_be_visible()

    esc = a_withdrawn_escalation()
    page.goto(f"/escalations/{esc.pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the evidence pack").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"{esc.reference}-evidence.jsonl"
    sys.path.insert(0, str(SCRIPT_DIR))
    from verify_evidence_pack import verify

    assert verify(path.read_bytes())["escalation"]["reference"] == esc.reference
    assert page.evaluate("window.__cspViolations") == []
    assert console_errors == []
