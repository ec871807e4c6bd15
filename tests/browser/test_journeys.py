"""Each role's journey through the portal, end to end, as its people walk it (issue 12's done-when).

A staff member raises a compliance concern that needs the CEO; his manager approves it from her
inbox; the CEO reads the brief from her desk and names an owner; the previous owner still updates
the stakeholders and resolves it; a rejected raiser appeals from the escalation page; the auditor
filters the decision log and exports it. Each journey runs on a desktop and on a phone; every
page on the way passes ``checks.check_page`` (an h1, nothing logged, no CSP violation, no sideways
scroll on the phone, no serious or critical axe-core violation) and the key ones are
photographed to ``var/screenshots/<journey>/<size>-<step>.png``.

Each journey starts where the one before it ends, set up through the services: the browser walks
only the journey's own steps, so the whole file stays within a few minutes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Locator, Page, expect

from apps.approvals.models import ApprovalRequest, RequestStatus
from apps.approvals.services import approval_decide
from apps.contacts.models import Person
from apps.escalations.models import Escalation, Status
from apps.escalations.services import escalation_escalate, escalation_hand_off, escalation_raise
from apps.policies.models import Service
from tests.browser.checks import SIZES, Shot, check_page
from tests.browser.conftest import log_out
from tests.browser.htmx import act_and_settle, select_and_settle

pytestmark = pytest.mark.browser

CONCERN = {
    "title": "Customer card numbers kept in support tickets",
    "nature_of_risk": "Full card numbers sit in support tickets for longer than the 90 days allowed.",
    "who_is_impacted": "Every EU cardholder who contacted support this year.",
    "impact": "A PCI DSS breach and a possible GDPR fine.",
    "situation": "An internal review found 4,200 tickets with full card numbers.",
    "background": "The redaction job has been failing silently since March.",
    "assessment": "The exposure is internal only, but it is reportable.",
    "recommendation": "Purge the tickets and decide whether we notify the regulator.",
}
TO_THE_CEO = "Whether we self-report to the regulator is the CEO's decision."
CEO_LEVEL = re.compile(r"^Level 3 — Chief Executive Officer")
REJECTION = "Take it to the COO first: she owns the payments budget."
APPEAL = "The regulator's deadline is Friday and the COO is away until Monday."
HAND_OVER = "Omar, please run the purge with IT and draft the notice to the regulator."
UPDATE = "The purge is running; the regulator will be told on Thursday."
RESOLUTION = "Tickets purged, redaction job fixed, regulator notified on Thursday."

SIZE_IDS = list(SIZES)


@pytest.fixture(params=SIZE_IDS)
def size(request, page) -> str:
    page.set_viewport_size(SIZES[request.param])
    return request.param


def shot(request, size: str) -> Shot:
    journey = request.node.originalname.removeprefix("test_")
    return Shot(journey, size)


# --- the world each journey starts from, through the services ---------------------------------


def user(username: str):
    return get_user_model().objects.get(username=username)


def person(email_local: str) -> Person:
    return Person.objects.get(email=f"{email_local}@example.com")


def raised_by_sam() -> Escalation:
    return escalation_raise(
        actor=user("staff"),
        service=Service.objects.get(name="Payments API"),
        category="compliance",
        severity="sev2",
        fields={
            **CONCERN,
            "criticality": "business_critical",
            "impact_expected_at": datetime.now(UTC).replace(second=0, microsecond=0),
        },
    )


def waiting_for_grace() -> ApprovalRequest:
    esc = raised_by_sam()
    escalation_escalate(escalation=esc, actor=user("staff"), to_level=3, reason=TO_THE_CEO)
    return ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.PENDING)


def approved_for_the_ceo() -> Escalation:
    ask = waiting_for_grace()
    approval_decide(approval=ask, actor=user("manager"), approve=True)
    return Escalation.objects.get(pk=ask.escalation_id)


def delegated_to_omar() -> Escalation:
    esc = approved_for_the_ceo()
    return escalation_hand_off(
        escalation=esc, actor=user("executive"), to_person=person("omar.haddad"), context_summary=HAND_OVER
    )


def rejected_by_grace() -> Escalation:
    ask = waiting_for_grace()
    approval_decide(approval=ask, actor=user("manager"), approve=False, reason=REJECTION)
    return Escalation.objects.get(pk=ask.escalation_id)


# --- what a person does in the browser ---------------------------------------------------------


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def open_nav(page: Page) -> None:
    """On a phone the navigation folds behind its toggle: open it first, as a person would."""
    toggle = nav(page).get_by_role("button", name="Toggle navigation")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(nav(page).locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))


def follow_nav(page: Page, link: str, *, menu: str = "") -> None:
    open_nav(page)
    if menu:
        nav(page).get_by_role("button", name=menu).click()
    nav(page).get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state()


def sign_out(page: Page) -> None:
    open_nav(page)
    log_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def status_badge(page: Page) -> Locator:
    return page.locator("#escalation-panel #status")


def timeline(page: Page) -> Locator:
    return page.get_by_role("region", name="Timeline")


def fill_date_time(field: Locator, moment: datetime) -> None:
    """A date-time box in whichever format it asks for (the browser's picker or typed text)."""
    kind = field.get_attribute("type")
    field.fill(f"{moment:%Y-%m-%dT%H:%M}" if kind == "datetime-local" else f"{moment:%Y-%m-%d %H:%M}")


# --- the journeys ------------------------------------------------------------------------------


def test_staff_raises_a_compliance_concern_for_the_ceo(page, sign_in, size, request):
    photo = shot(request, size)
    page.goto("/login/")
    check_page(page, size=size, shot=photo, step="0-sign-in")  # the same page for every journey
    sign_in("staff")
    check_page(page, size=size, shot=photo, step="1-home")
    page.get_by_role("link", name="Raise an escalation").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raise an escalation")
    check_page(page, size=size)

    select_and_settle(page, page.get_by_label("Service"), label="Payments API")
    select_and_settle(page, page.get_by_label("Kind of risk"), label="Compliance")
    expect(page.get_by_role("region", name=re.compile("^The policy that applies"))).to_contain_text(
        "Compliance concern"
    )
    page.get_by_label(re.compile("^Title")).fill(CONCERN["title"])
    page.get_by_label(re.compile("^Severity")).select_option(value="sev2")
    page.get_by_label(re.compile("^Criticality of the workload")).select_option(value="business_critical")
    page.get_by_label(re.compile("^Nature of the risk")).fill(CONCERN["nature_of_risk"])
    page.get_by_label(re.compile("^Who is impacted")).fill(CONCERN["who_is_impacted"])
    page.get_by_label(re.compile("^The impact")).fill(CONCERN["impact"])
    fill_date_time(page.get_by_label(re.compile("^When the impact is expected")), datetime.now(UTC))
    for name in ("Situation", "Background", "Assessment", "Recommendation"):
        page.get_by_label(re.compile(f"^{name}")).fill(CONCERN[name.lower()])
    check_page(page, size=size, shot=photo, step="2-raise-form")
    page.get_by_role("button", name="Raise the escalation").click()

    expect(page).to_have_url(re.compile(r"/escalations/\d+/$"))
    esc = Escalation.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONCERN["title"])
    expect(page.locator("#owner")).to_contain_text("Hannah Schmidt")
    check_page(page, size=size, shot=photo, step="3-raised")

    escalate = page.get_by_role("group", name="Escalate")
    escalate.get_by_label("To level").select_option(
        label=_option(escalate.get_by_label("To level"), CEO_LEVEL)
    )
    escalate.get_by_label(re.compile("^Reason")).fill(TO_THE_CEO)
    act_and_settle(page, escalate.get_by_role("button", name="Escalate").click)
    expect(status_badge(page)).to_have_text("Awaiting approval")
    expect(page.locator("#waiting-for-approval")).to_contain_text("Grace Lindqvist")
    expect(page.get_by_text("Asked for Grace Lindqvist's approval.")).to_have_count(1)
    expect(page.get_by_text(re.compile("approval, due"))).to_have_count(1)  # said once, in the banner
    check_page(page, size=size, shot=photo, step="4-waiting-for-approval")
    esc.refresh_from_db()
    assert (esc.status, esc.pending_level) == (Status.AWAITING_APPROVAL, 3)
    sign_out(page)


def _option(select: Locator, pattern: re.Pattern) -> str:
    labels = select.locator("option").all_inner_texts()
    matching = [label.strip() for label in labels if pattern.search(label.strip())]
    assert matching, labels
    return matching[0]


def test_the_manager_approves_from_her_inbox(page, sign_in, size, request):
    photo = shot(request, size)
    ask = waiting_for_grace()
    esc = ask.escalation
    sign_in("manager")
    check_page(page, size=size, shot=photo, step="1-home")
    follow_nav(page, "Approvals")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals waiting for you")
    inbox = page.locator("#inbox")
    expect(inbox).to_contain_text(CONCERN["title"])
    expect(inbox).to_contain_text("Sam Patel")
    check_page(page, size=size, shot=photo, step="2-inbox")

    inbox.get_by_role("link", name=re.compile(f"^{esc.reference}")).click()
    expect(page).to_have_url(re.compile(rf"/approvals/{ask.pk}/$"))
    expect(page.get_by_label("What is asked of the executive")).to_have_value(CONCERN["recommendation"])
    check_page(page, size=size, shot=photo, step="3-request")
    page.get_by_role("button", name="Approve and send the brief").click()

    expect(page).to_have_url(re.compile(r"/approvals/$"))
    expect(page.get_by_role("status")).to_contain_text("Approved: Eleanor Vance has the brief.")
    expect(page.locator("#inbox")).to_have_text("Nothing waits for your decision.")
    check_page(page, size=size, shot=photo, step="4-approved")
    ask.refresh_from_db()
    assert ask.status == RequestStatus.APPROVED
    sign_out(page)


def test_the_ceo_reads_the_brief_from_her_desk_and_names_an_owner(page, sign_in, size, request):
    photo = shot(request, size)
    esc = approved_for_the_ceo()
    sign_in("executive")
    expect(page.locator("#briefs-tile")).to_contain_text("1")
    check_page(page, size=size, shot=photo, step="1-home")
    follow_nav(page, "Briefs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Briefs for you")
    desk = page.locator("#desk")
    expect(desk).to_contain_text("Unread")
    expect(desk).to_contain_text("owner now: Hannah Schmidt")
    expect(desk).to_contain_text(re.compile(r"acknowledge in \d+[dhms]"))  # the clock, live
    check_page(page, size=size, shot=photo, step="2-desk")

    desk.get_by_role("link", name=f"{esc.reference}: {CONCERN['title']}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONCERN["title"])
    expect(page.locator("#brief")).to_contain_text(CONCERN["recommendation"])
    check_page(page, size=size, shot=photo, step="3-brief")
    page.get_by_role("button", name="I have read it").click()
    expect(page.locator("#acknowledged")).to_contain_text("You acknowledged it")
    check_page(page, size=size)

    page.locator("#owner-now").get_by_role("link", name="open the escalation").click()
    expect(page).to_have_url(re.compile(rf"/escalations/{esc.pk}/$"))
    name_owner = page.get_by_role("group", name="Name an owner")
    expect(page.get_by_role("group", name="Resolve")).to_have_count(0)  # a decision view, not a responder's
    check_page(page, size=size, shot=photo, step="4-decision-view")
    name_owner.get_by_label(re.compile("^New owner")).select_option(label="Omar Haddad (Compliance Officer)")
    name_owner.get_by_label(re.compile("^Context for the next owner")).fill(HAND_OVER)
    act_and_settle(page, name_owner.get_by_role("button", name="Name the owner").click)
    expect(page.locator("#owner")).to_contain_text("Omar Haddad")
    check_page(page, size=size, shot=photo, step="5-owner-named")
    esc.refresh_from_db()
    assert (esc.owner, esc.engaged) == (person("omar.haddad"), person("eleanor.vance"))
    sign_out(page)


def test_the_previous_owner_updates_the_stakeholders_and_resolves(page, sign_in, size, request):
    photo = shot(request, size)
    esc = delegated_to_omar()
    sign_in("hr")
    check_page(page, size=size, shot=photo, step="1-home")
    follow_nav(page, "Escalations")
    check_page(page, size=size, shot=photo, step="2-escalations")
    page.get_by_role("region", name="What I own or work on").get_by_role("link", name=esc.reference).click()
    expect(page.locator("#owner")).to_contain_text("Omar Haddad")
    check_page(page, size=size, shot=photo, step="3-escalation")

    page.get_by_label(re.compile("^Comment")).fill(UPDATE)
    page.get_by_label(re.compile("^Send as a stakeholder update")).check()
    act_and_settle(page, page.get_by_role("button", name="Post").click)
    expect(timeline(page)).to_contain_text(UPDATE)
    check_page(page, size=size, shot=photo, step="4-updated")

    resolve = page.get_by_role("group", name="Resolve")
    resolve.get_by_label(re.compile("^Resolution summary")).fill(RESOLUTION)
    for box in resolve.get_by_role("checkbox").all():
        box.check()
    act_and_settle(page, resolve.get_by_role("button", name="Resolve").click)
    expect(status_badge(page)).to_have_text("Resolved")
    check_page(page, size=size, shot=photo, step="5-resolved")
    esc.refresh_from_db()
    assert (esc.status, esc.resolution_summary) == (Status.RESOLVED, RESOLUTION)
    sign_out(page)


def test_a_rejected_raiser_appeals_from_the_escalation_page(page, sign_in, size, request):
    photo = shot(request, size)
    esc = rejected_by_grace()
    sign_in("staff")
    check_page(page, size=size)
    follow_nav(page, "Escalations")
    check_page(page, size=size)
    page.get_by_role("region", name="What I raised").get_by_role("link", name=esc.reference).click()
    banner = page.locator("#approval-refused")
    expect(banner).to_contain_text(REJECTION)
    check_page(page, size=size, shot=photo, step="1-refused")

    banner.get_by_label(re.compile("^Why the refusal is wrong")).fill(APPEAL)
    banner.get_by_role("button", name=re.compile("^Appeal to Daniel Okafor")).click()
    expect(page.get_by_role("status")).to_contain_text("Appealed:")
    check_page(page, size=size, shot=photo, step="2-appealed")
    appeal = ApprovalRequest.objects.get(appeal_of__escalation=esc)
    assert (appeal.status, appeal.approver) == (RequestStatus.PENDING, person("daniel.okafor"))
    sign_out(page)


def test_the_auditor_filters_and_exports_the_decision_log(page, sign_in, size, request):
    photo = shot(request, size)
    approved, rejected = approved_for_the_ceo(), rejected_by_grace()
    sign_in("auditor")
    check_page(page, size=size)
    follow_nav(page, "Decision log", menu="Records")
    expect(page.get_by_role("heading", level=1)).to_have_text("Decision log")
    check_page(page, size=size, shot=photo, step="1-log")

    filters = page.get_by_role("button", name="Filter", exact=True).first
    if size == "phone":
        page.wait_for_load_state()  # Bootstrap's script (deferred) is what opens the fold
        filters.click()  # folded away below tablet width
        # Opened, not opening: a click during Bootstrap's collapse transition can land where the
        # button was a frame before (seen once in CI on a loaded machine).
        expect(page.locator("#filters")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    page.get_by_label("Outcome").select_option(label="Approved")
    page.locator("#filters").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]outcome=approved"))
    rows = page.get_by_role("row")
    expect(rows.filter(has_text=approved.reference)).to_have_count(1)
    expect(rows.filter(has_text=rejected.reference)).to_have_count(0)
    check_page(page, size=size, shot=photo, step="2-filtered")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    body = open(download.value.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(body)))
    # The header, the one approval the filter kept, and the trailer that says the file is whole.
    assert len(table) == 3 and table[-1] == ["# end of export: 1 row"], table
    assert approved.reference in table[1] and rejected.reference not in body
    sign_out(page)
