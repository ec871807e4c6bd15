"""Executive approvals in a real browser: a staff member escalates a compliance concern to the
CEO's level, which only the raiser's manager can let through; the manager approves it from her
inbox with an edited brief, the CEO reads that brief and acknowledges it, and an auditor finds
the decision in the log. A rejection needs a reason, sends the escalation back to its level and
offers the raiser an appeal. No page on the way logs an error or trips the CSP. Two bugs found
on the way are tested too: who the brief page says approved it, and an appeal the page offers
reaches someone who can hear it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from playwright.sync_api import Locator, Page, expect

from apps.approvals.models import ApprovalDecision, ApprovalRequest, BriefReceipt, RequestStatus
from apps.approvals.services import approval_decide
from apps.contacts.models import Person
from apps.escalations.models import Escalation, Status
from apps.escalations.services import escalation_escalate, escalation_raise
from apps.notifications.models import Notification
from apps.policies.models import Service
from tests.browser.conftest import allow_refusal, open_menu
from tests.browser.conftest import log_out as menu_log_out
from tests.browser.htmx import select_and_settle

pytestmark = pytest.mark.browser

CONCERN = {
    "title": "Card data kept past the retention limit",
    "nature_of_risk": "Full card numbers are kept in support tickets beyond 90 days.",
    "who_is_impacted": "Every EU cardholder who contacted support this year.",
    "impact": "A PCI DSS breach and a possible GDPR fine.",
    "situation": "An internal review found 4,200 tickets with full card numbers.",
    "background": "The redaction job has been failing silently since March.",
    "assessment": "The exposure is internal only, but it is reportable.",
    "recommendation": "Purge the tickets and decide whether to notify the regulator.",
}
ESCALATE_REASON = "A possible regulatory breach: only the CEO can decide whether we self-report."
CEO_LEVEL = "Level 3 — Chief Executive Officer (needs approval)"
REQUESTED = "Level 3 (Chief Executive Officer) is reached only with a manager's approval: requested from Grace Lindqvist"
NEW_ASK = "Decide by Friday whether we notify the ICO ourselves; legal recommends we do."
REJECT_REASON = "The COO has not seen it yet: take it to Priya before the CEO."
REFUSED = f"Approval for level 3 (Chief Executive Officer) refused by Grace Lindqvist: {REJECT_REASON}"


def assert_clean(page: Page, errors: list[str], *, refused: int | None = None) -> None:
    """Nothing on the page shown now tripped the CSP, and nothing so far logged an error; a
    refusal provoked on purpose logs chromium's one "Failed to load resource" line for its status.
    (As in test_escalations.py; call it before a screenshot, whose inline styles the CSP refuses.)"""
    assert page.evaluate("window.__cspViolations") == [], page.url
    if refused:
        allow_refusal(page, refused)
    status = f"{refused} ({HTTPStatus(refused).phrase})" if refused else ""
    expected = [f"console: Failed to load resource: the server responded with a status of {status}"]
    assert errors == (expected if refused else []), page.url


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def log_out(page: Page) -> None:
    menu_log_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def timeline(page: Page) -> Locator:
    return page.get_by_role("region", name="Timeline")


def status_badge(page: Page) -> Locator:
    return page.locator("#escalation-panel #status")


def person(email_local: str) -> Person:
    return Person.objects.get(email=f"{email_local}@example.com")


def told(who: Person) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_key=f"person:{who.pk}")


def escalated_by_sam(to_level: int) -> ApprovalRequest:
    """A compliance concern raised by Sam Patel (``staff``) and escalated by him to an executive
    level, waiting for an approval. Through the services: the first test does it in the browser."""
    sam = get_user_model().objects.get(username="staff")
    esc = escalation_raise(
        actor=sam,
        service=Service.objects.get(name="Payments API"),
        category="compliance",
        severity="sev2",
        fields={
            **CONCERN,
            "criticality": "business_critical",
            "impact_expected_at": datetime.now(UTC).replace(second=0, microsecond=0),
        },
    )
    escalation_escalate(escalation=esc, actor=sam, to_level=to_level, reason=ESCALATE_REASON)
    return ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.PENDING)


@pytest.fixture
def awaiting(demo_org) -> ApprovalRequest:
    """Level 3 (the CEO, Eleanor Vance) asked for: Grace Lindqvist, Sam's manager, decides."""
    return escalated_by_sam(3)


def raise_a_compliance_concern(page: Page) -> Escalation:
    page.goto("/escalations/raise/")
    select_and_settle(page, page.get_by_label("Service"), label="Payments API")
    expect(page).to_have_url(re.compile(r"[?&]service=\d+"))
    select_and_settle(page, page.get_by_label("Kind of risk"), label="Compliance")
    expect(page).to_have_url(re.compile(r"[?&]category=compliance"))
    guide = page.get_by_role("region", name=re.compile("^The policy that applies"))
    expect(guide).to_contain_text("Compliance concern")
    expect(guide.get_by_role("listitem")).to_have_text(
        [
            "HR & Compliance Officer",
            re.compile(r"^Chief Operating Officer\s+manager approval first$"),
            re.compile(r"^Chief Executive Officer\s+manager approval first$"),
        ]
    )
    page.get_by_label(re.compile("^Title")).fill(CONCERN["title"])
    page.get_by_label(re.compile("^Severity")).select_option(value="sev2")
    page.get_by_label(re.compile("^Criticality of the workload")).select_option(value="business_critical")
    page.get_by_label(re.compile("^Nature of the risk")).fill(CONCERN["nature_of_risk"])
    page.get_by_label(re.compile("^Who is impacted")).fill(CONCERN["who_is_impacted"])
    page.get_by_label(re.compile("^The impact")).fill(CONCERN["impact"])
    page.get_by_label(re.compile("^When the impact is expected")).fill(f"{datetime.now(UTC):%Y-%m-%dT%H:%M}")
    for name in ("Situation", "Background", "Assessment", "Recommendation"):
        page.get_by_label(re.compile(f"^{name}")).fill(CONCERN[name.lower()])
    page.get_by_role("button", name="Raise the escalation").click()
    expect(page).to_have_url(re.compile(r"/escalations/\d+/$"))
    return Escalation.objects.get()


def test_an_executive_level_waits_for_the_manager_then_the_executive_reads_the_edited_brief(
    page, sign_in, console_errors
):
    grace, eleanor = person("grace.lindqvist"), person("eleanor.vance")

    # Sam raises a compliance concern; the HR & Compliance Officer owns level 1.
    sign_in("staff")
    esc = raise_a_compliance_concern(page)
    expect(status_badge(page)).to_have_text("Open")
    expect(page.locator("#owner")).to_contain_text("Hannah Schmidt")
    expect(page.locator("#level-reached")).to_contain_text("1 (")
    assert_clean(page, console_errors)

    # He asks for the CEO: the page says it waits for his manager, and the CEO hears nothing.
    escalate = page.get_by_role("group", name="Escalate")
    escalate.get_by_label("To level").select_option(label=CEO_LEVEL)
    escalate.get_by_label(re.compile("^Reason")).fill(ESCALATE_REASON)
    escalate.get_by_role("button", name="Escalate").click()
    expect(status_badge(page)).to_have_text("Awaiting approval")
    expect(timeline(page)).to_contain_text(REQUESTED)
    expect(page.locator("#owner")).to_contain_text("Hannah Schmidt")
    expect(page.locator("#level-reached")).to_contain_text("1 (")
    expect(page.get_by_role("group", name="Escalate")).to_have_count(0)  # nothing to escalate meanwhile
    assert_clean(page, console_errors)
    esc.refresh_from_db()
    assert (esc.status, esc.current_level, esc.pending_level) == (Status.AWAITING_APPROVAL, 1, 3)
    ask = ApprovalRequest.objects.get(escalation=esc)
    assert (ask.status, ask.approver, ask.level) == (RequestStatus.PENDING, grace, 3)
    assert told(grace).filter(template="approval_requested").count() == 1
    assert not told(eleanor).exists()
    log_out(page)

    # Grace finds it in her inbox and approves it, with what is asked of the CEO rewritten.
    sign_in("manager")
    nav(page).get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals waiting for you")
    inbox = page.locator("#inbox")
    expect(inbox.get_by_role("listitem")).to_have_count(1)
    expect(inbox).to_contain_text(CONCERN["title"])
    assert_clean(page, console_errors)
    inbox.get_by_role("link", name=f"{esc.reference}: level 3 (Chief Executive Officer)").click()
    expect(page).to_have_url(re.compile(rf"/approvals/{ask.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{esc.reference} to level 3: Chief Executive Officer"
    )
    expect(page.locator("#request-status")).to_have_text("Pending")
    asked = page.get_by_label("What is asked of the executive")
    expect(asked).to_have_value(CONCERN["recommendation"])  # drafted from the escalation
    expect(page.get_by_label("What is happening")).to_have_value(re.compile(re.escape(CONCERN["title"])))
    assert_clean(page, console_errors)
    asked.fill(NEW_ASK)
    page.get_by_role("button", name="Approve and send the brief").click()

    expect(page).to_have_url(re.compile(r"/approvals/$"))
    expect(page.get_by_role("status")).to_contain_text("Approved: Eleanor Vance has the brief.")
    expect(page.locator("#inbox")).to_have_text("Nothing waits for your decision.")
    assert_clean(page, console_errors)
    ask.refresh_from_db()
    esc.refresh_from_db()
    assert ask.status == RequestStatus.APPROVED
    assert (esc.status, esc.current_level, esc.engaged) == (Status.OPEN, 3, eleanor)
    assert esc.owner.full_name == "Hannah Schmidt"  # the CEO is engaged; Hannah keeps working on it
    assert (ask.brief.what_is_asked, ask.brief.edited_by.username) == (NEW_ASK, "manager")
    email = told(eleanor).get(template="executive_brief")
    assert NEW_ASK in email.body
    log_out(page)

    # Eleanor sees on the escalation that the brief was sent, and opens it from her email.
    sign_in("executive")
    page.goto(f"/escalations/{esc.pk}/")
    expect(timeline(page)).to_contain_text("Executive brief sent to Eleanor Vance.")
    assert_clean(page, console_errors)
    link = re.search(r"/approvals/briefs/\d+/", email.body)
    assert link, email.body
    page.goto(link.group())
    expect(page.get_by_role("heading", level=1)).to_have_text(CONCERN["title"])
    expect(page.get_by_text(re.compile("approved by Grace Lindqvist"))).to_be_visible()
    brief = page.locator("#brief")
    expect(brief.get_by_role("heading", name="What is asked of you")).to_be_visible()
    expect(brief).to_contain_text(NEW_ASK)
    expect(brief).not_to_contain_text(CONCERN["recommendation"])
    assert_clean(page, console_errors)
    page.get_by_role("button", name="I have read it").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you: your acknowledgement is recorded.")
    expect(page.locator("#acknowledged")).to_contain_text("You acknowledged it")
    expect(page.get_by_role("button", name="I have read it")).to_have_count(0)
    assert_clean(page, console_errors)
    assert BriefReceipt.objects.get(executive=eleanor).acknowledged_at is not None
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED  # she owns level 3: reading the brief acknowledges it
    log_out(page)

    # Ingrid, the auditor, finds Grace's decision in the log.
    sign_in("auditor")
    open_menu(page, "Records")
    nav(page).get_by_role("link", name="Decision log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Decision log")
    assert_clean(page, console_errors)
    page.get_by_label("Outcome").select_option(label="Approved")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]outcome=approved"))
    rows = page.get_by_role("row").filter(has_text=esc.reference)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("L3 Chief Executive Officer")
    expect(rows).to_contain_text("Approved")
    expect(rows.get_by_role("cell", name="Grace Lindqvist", exact=True)).to_have_count(
        2
    )  # decided by, asked of
    assert_clean(page, console_errors)


def test_a_rejection_needs_a_reason_and_the_raiser_may_appeal(page, sign_in, console_errors, awaiting):
    esc = awaiting.escalation
    sign_in("manager")
    page.goto("/approvals/")
    page.locator("#inbox").get_by_role("link", name=re.compile(f"^{esc.reference}")).click()
    expect(page).to_have_url(re.compile(rf"/approvals/{awaiting.pk}/$"))

    # No reason: refused, and said why beside the field.
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Reject").click()
    page.wait_for_load_state()
    assert posted.value.status == 400
    expect(page.locator("#form-errors")).to_contain_text("Nothing was saved")
    reason = page.get_by_label("Reason", exact=True)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#request-panel .invalid-feedback")).to_have_text(
        re.compile("^A rejection needs a reason")
    )
    expect(page.locator("#request-status")).to_have_text("Pending")
    awaiting.refresh_from_db()
    esc.refresh_from_db()
    assert (awaiting.status, awaiting.version) == (RequestStatus.PENDING, 1)
    assert not ApprovalDecision.objects.exists()
    assert esc.status == Status.AWAITING_APPROVAL
    assert_clean(page, console_errors, refused=400)

    # With a reason: rejected, back in the inbox.
    console_errors.clear()
    reason.fill(REJECT_REASON)
    page.get_by_role("button", name="Reject").click()
    expect(page).to_have_url(re.compile(r"/approvals/$"))
    expect(page.get_by_role("status")).to_contain_text(
        "Rejected: the raiser has your reason and may appeal once."
    )
    assert_clean(page, console_errors)
    awaiting.refresh_from_db()
    esc.refresh_from_db()
    assert awaiting.status == RequestStatus.REJECTED
    assert (esc.status, esc.current_level, esc.owner.full_name) == (Status.OPEN, 1, "Hannah Schmidt")
    assert not told(person("eleanor.vance")).exists()
    log_out(page)

    # Sam finds it back at level 1, with the reason, and may appeal from the request page.
    sign_in("staff")
    page.goto(f"/escalations/{esc.pk}/")
    expect(status_badge(page)).to_have_text("Open")
    expect(page.locator("#owner")).to_contain_text("Hannah Schmidt")
    expect(page.locator("#level-reached")).to_contain_text("1 (")
    expect(timeline(page)).to_contain_text(REFUSED)
    assert_clean(page, console_errors)
    timeline(page).get_by_role("link", name=f"Approval request #{awaiting.pk}").click()
    expect(page).to_have_url(re.compile(rf"/approvals/{awaiting.pk}/$"))
    expect(page.locator("#request-status")).to_have_text("Rejected")
    expect(page.get_by_role("heading", name="Your decision")).to_have_count(0)
    appeal = page.get_by_role("region", name="Appeal the rejection")
    expect(appeal).to_contain_text("You may appeal once")
    expect(appeal.get_by_label(re.compile("^Why"))).to_be_editable()
    expect(appeal.get_by_role("button", name="Appeal")).to_be_enabled()
    assert_clean(page, console_errors)


def test_an_executive_deciding_for_the_manager_is_the_one_named_on_the_brief(
    page, sign_in, console_errors, demo_org
):
    # Level 2 (the COO, Priya Natarajan): Eleanor is not named in it, so she may decide it.
    ask = escalated_by_sam(2)
    sign_in("executive")
    page.goto("/approvals/")
    others = page.get_by_role("region", name=re.compile("^Waiting on others"))
    others.get_by_role("link", name=re.compile(f"^{ask.escalation.reference}")).click()
    expect(page).to_have_url(re.compile(rf"/approvals/{ask.pk}/$"))
    page.get_by_role("button", name="Approve and send the brief").click()
    expect(page.get_by_role("status")).to_contain_text("Approved: Priya Natarajan has the brief.")
    assert ApprovalDecision.objects.get().decided_by_name == "Eleanor Vance"
    assert "approved by Eleanor Vance" in told(person("priya.natarajan")).get(template="executive_brief").body

    page.goto(f"/approvals/briefs/{ask.brief.pk}/")
    assert_clean(page, console_errors)
    expect(page.get_by_text(re.compile(r"^Sent .* UTC, approved by"))).to_contain_text(
        "approved by Eleanor Vance"
    )


def test_an_offered_appeal_reaches_someone(page, sign_in, console_errors, awaiting):
    approval_decide(
        approval=awaiting,
        actor=get_user_model().objects.get(username="manager"),
        approve=False,
        reason=REJECT_REASON,
    )
    sign_in("staff")
    page.goto(f"/approvals/{awaiting.pk}/")
    appeal = page.get_by_role("region", name="Appeal the rejection")
    appeal.get_by_label(re.compile("^Why")).fill(
        "Priya is away until Monday and the regulator's deadline is Friday."
    )
    appeal.get_by_role("button", name="Appeal").click()
    # Refused, it renders at .../appeal/; done, it redirects to the new request.
    page.wait_for_url(re.compile(r"/approvals/\d+/(appeal/)?$"))
    expect(page.get_by_role("status")).to_contain_text("Appealed:")
    assert ApprovalRequest.objects.filter(appeal_of=awaiting).exists()
