"""Retaliation protection in a real browser (issue 10): an employee reports anonymously from a
signed-out browser and later reads the reviewer's reply with the receipt key (and nothing in
the database or the logs holds their address, user agent or key); an HR officer takes a
confidential case, acknowledges it and asks for the identity, a second officer approves, and
the first sends feedback; every protection entry of the home page leads somewhere."""

from __future__ import annotations

import logging

import pytest
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.protection import services
from apps.protection.models import Mode, ProtectionReport
from apps.protection.services.intake import LOOKUP_LEN, normalise_key
from tests.browser.conftest import log_out
from tests.protection.scan import database_hits

pytestmark = pytest.mark.browser
AGENT = "Mozilla/5.0 (X11; Linux x86_64) ReporterMarker/7.3"
REPLY = "Thank you for telling us. We have spoken to the rota planner; can you tell us the dates?"


def assert_clean(page: Page, errors: list[str]) -> None:
    assert page.evaluate("window.__cspViolations") == [], page.url
    assert errors == [], page.url


def test_an_anonymous_report_is_followed_with_its_key_and_leaves_no_trace(
    browser, live_server, demo_org, caplog
):
    caplog.set_level(logging.DEBUG)
    context = browser.new_context(base_url=live_server.url, user_agent=AGENT)
    context.add_init_script(
        "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective));"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    before = set(ProtectionReport.objects.values_list("pk", flat=True))

    page.goto("/protection/report/")
    expect(page.get_by_role("heading", level=1)).to_have_text("File a protection report")
    expect(page.get_by_role("note")).to_contain_text("work laptop")
    page.get_by_label("What happened?").fill(
        "Since my escalation about the billing outage I only get night shifts."
    )
    page.get_by_role("button", name="Send the report").click()
    shown = page.get_by_test_id("receipt-key").inner_text().strip()
    key = normalise_key(shown)
    assert len(key) >= 16
    assert_clean(page, errors)

    report = ProtectionReport.objects.exclude(pk__in=before).get()
    assert report.mode == Mode.ANONYMOUS and report.reporter is None
    hr = User.objects.get(username="hr")
    services.reviewer_assign(report=report, reviewer=hr, actor=hr)
    services.report_acknowledge(report=report, actor=hr, text="We have your report.")
    services.message_to_reporter(report=report, actor=hr, text=REPLY)

    page.goto("/protection/follow/")
    page.get_by_label("Receipt key").fill(shown)
    page.get_by_role("button", name="Open my report").click()
    expect(page.get_by_text(REPLY)).to_be_visible()
    page.get_by_label("Your message").fill("It started on 3 November.")
    page.get_by_role("button", name="Send to the reviewers").click()
    expect(page.get_by_text("It started on 3 November.")).to_be_visible()
    assert_clean(page, errors)
    context.close()

    needles = [AGENT, "ReporterMarker", key, key[LOOKUP_LEN:], shown]
    assert database_hits(needles) == []
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert [n for n in needles if n in logged] == []


def _act(page: Page, action: str, label: str, value: str, button: str) -> None:
    form = page.locator(f"form:has(input[name='action'][value='{action}'])")
    form.get_by_label(label).fill(value)
    form.get_by_role("button", name=button).click()


def test_hr_acknowledges_asks_for_the_identity_a_second_officer_approves_and_feedback_is_sent(
    page: Page, sign_in, console_errors
):
    staff = User.objects.get(username="staff")
    report, _ = services.report_file(
        mode=Mode.CONFIDENTIAL, what_happened="My manager cut my hours after I escalated.", reporter=staff
    )
    sign_in("hr")
    page.goto("/protection/desk/")
    page.locator("li", has_text=report.reference).get_by_role("button", name="Take it").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(report.reference)
    expect(page.get_by_test_id("identity")).not_to_contain_text("Sam Patel")
    _act(
        page,
        "acknowledge",
        "Text",
        "We have your report and will look into it this week.",
        "Send the acknowledgement",
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("acknowledged")
    _act(
        page,
        "identity",
        "Text",
        "We need to interview the reporter about the rota change.",
        "Ask for the identity",
    )
    expect(page.get_by_text("Waiting for a second officer")).to_be_visible()
    log_out(page)

    sign_in("compliance")
    page.goto("/protection/desk/")
    page.get_by_role("link", name=f"{report.reference}: asked by Hannah Schmidt").click()
    page.get_by_label("Decision").select_option("yes")
    page.get_by_label("Reason").fill("An interview is needed to investigate; the reporter is told.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Decision recorded.")).to_be_visible()
    log_out(page)

    sign_in("hr")
    page.goto(f"/protection/cases/{report.pk}/")
    expect(page.get_by_test_id("identity")).to_have_text("Sam Patel")
    _act(page, "feedback", "Text", "The rota change was reversed and the manager spoken to.", "Send feedback")
    expect(page.get_by_text("Feedback sent.")).to_be_visible()
    report.refresh_from_db()
    assert report.feedback_at is not None
    assert page.evaluate("window.__cspViolations") == [] and console_errors == []


@pytest.mark.parametrize("username", ["staff", "hr", "auditor"])
def test_every_protection_entry_of_the_home_page_leads_somewhere(
    page: Page, sign_in, console_errors, username
):
    sign_in(username)
    page.goto("/")
    links = page.get_by_test_id("protection-entries").get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/protection/report/" in hrefs and "/protection/follow/" in hrefs
    for href in hrefs:
        response = page.goto(href)
        assert response.status == 200, href
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert page.evaluate("window.__cspViolations") == [] and console_errors == []
