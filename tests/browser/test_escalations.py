"""The escalation lifecycle in a real browser: a staff member raises one through the guided form,
the on-call owner acknowledges and escalates it from the page (htmx, no reload), the raiser
follows it on the same timeline with live clocks; a bad form and a stale action change nothing
and say why; no page on the way logs an error or trips the CSP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from apps.contacts.models import Person, Rotation, RotationOverride
from apps.escalations.models import Escalation, Status, TimelineEvent
from apps.escalations.services import escalation_escalate, escalation_raise
from apps.policies.models import Service
from tests.browser.conftest import allow_refusal
from tests.browser.conftest import log_out as menu_log_out
from tests.browser.htmx import act_and_settle, select_and_settle

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"^ESC-\d{4}-\d{5}$")
CONCERN = {
    "title": "Card payments failing for premium customers",
    "nature_of_risk": "Payment authorisations time out under load.",
    "who_is_impacted": "Premium merchants in the EU.",
    "impact": "Lost revenue and contractual penalties.",
    "situation": "Error rate at 12% and climbing.",
    "background": "Started after the 14:00 deploy.",
    "assessment": "Connection pool exhaustion in the gateway.",
    "recommendation": "Roll back the deploy; page the gateway owner.",
}
RAISED = "Raised by Sam Patel under “Production outage”"
LEVEL_1_REACHED = "Level 1 (Platform on-call) reached: Tomás Herrera owns it"
ACKNOWLEDGED = "Acknowledged by Tomás Herrera at level 1."
ESCALATE_REASON = "The rollback did not help; the gateway needs a decision from management."
ESCALATED = f"Escalated from level 1 to level 2 (Engineering manager) by Tomás Herrera: {ESCALATE_REASON}"
LEVEL_2_REACHED = "Level 2 (Engineering manager) reached: Grace Lindqvist must acknowledge by"


@pytest.fixture
def tomas_on_call(demo_org) -> Person:
    """Level 1 is whoever the Platform rotation has on call this week: pin it to Tomás Herrera
    (login ``responder``) so the owner does not depend on the date the tests run."""
    tomas = Person.objects.get(email="tomas.herrera@example.com")
    now = timezone.now()
    RotationOverride.objects.create(
        rotation=Rotation.objects.get(team__slug="platform-ops", is_primary=True),
        person=tomas,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        reason="Browser tests: a known owner for level 1",
    )
    return tomas


@pytest.fixture
def raised(tomas_on_call) -> Escalation:
    """A SEV1 production outage on the Payments API, raised by Sam Patel (``staff``), owned by
    Tomás. Raised through the service: the form has its own test."""
    return escalation_raise(
        actor=get_user_model().objects.get(username="staff"),
        service=Service.objects.get(name="Payments API"),
        category="operational",
        severity="sev1",
        fields={
            **CONCERN,
            "criticality": "mission_critical",
            "impact_expected_at": datetime.now(UTC).replace(second=0, microsecond=0),
        },
    )


def watch(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of a page the test opens itself (a second tab)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def assert_clean(page: Page, errors: list[str], *, refused: int | None = None) -> None:
    """Nothing on the page shown now tripped the CSP, and nothing so far logged an error.

    Chromium logs every 4xx response as "Failed to load resource"; a test that provokes a
    refusal on purpose expects that one line, for that status, and nothing else. (Call it before
    a screenshot: Playwright's screenshots set inline styles, which the CSP rightly refuses.)"""
    assert page.evaluate("window.__cspViolations") == [], page.url
    if refused:
        allow_refusal(page, refused)
    status = f"{refused} ({HTTPStatus(refused).phrase})" if refused else ""
    expected = [f"console: Failed to load resource: the server responded with a status of {status}"]
    assert errors == (expected if refused else []), page.url


def log_out(page: Page) -> None:
    menu_log_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def timeline(page: Page) -> Locator:
    return page.get_by_role("region", name="Timeline")


def status_badge(page: Page) -> Locator:
    # A badge has no role of its own; the panel gives it an id.
    return page.locator("#escalation-panel #status")


def choose_payments_outage(page: Page) -> None:
    """Service, then kind of risk. Each choice re-renders the form (htmx, pushing the URL):
    wait for the first before making the second, as a person would see the form change."""
    select_and_settle(page, page.get_by_label("Service"), label="Payments API")
    expect(page).to_have_url(re.compile(r"[?&]service=\d+"))
    select_and_settle(page, page.get_by_label("Kind of risk"), label="Operational")
    expect(page).to_have_url(re.compile(r"[?&]category=operational"))
    guide = page.get_by_role("region", name=re.compile("^The policy that applies"))
    expect(guide).to_contain_text("Production outage")
    expect(guide.get_by_role("listitem")).to_have_text(
        [
            "Platform on-call",
            "Engineering manager",
            "Director of Platform Operations",
            re.compile(r"^Chief Technology Officer\s+manager approval first$"),
        ]
    )


def fill_the_concern(page: Page, *, title: str, expected_at: str) -> None:
    # Labels end in an aria-hidden " *", hence the anchored patterns rather than exact=True.
    page.get_by_label(re.compile("^Title")).fill(title)
    page.get_by_label(re.compile("^Severity")).select_option(label="SEV1 — critical")
    page.get_by_label(re.compile("^Criticality of the workload")).select_option(label="Mission-critical")
    page.get_by_label(re.compile("^Nature of the risk")).fill(CONCERN["nature_of_risk"])
    page.get_by_label(re.compile("^Who is impacted")).fill(CONCERN["who_is_impacted"])
    page.get_by_label(re.compile("^The impact")).fill(CONCERN["impact"])
    page.get_by_label(re.compile("^When the impact is expected")).fill(expected_at)
    for name in ("Situation", "Background", "Assessment", "Recommendation"):
        page.get_by_label(re.compile(f"^{name}")).fill(CONCERN[name.lower()])


def now_for_datetime_local() -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M}"


def test_staff_raise_an_escalation_through_the_guided_form(page, sign_in, console_errors, tomas_on_call):
    sign_in("staff")
    page.goto("/escalations/")
    assert_clean(page, console_errors)
    page.get_by_role("link", name="Raise an escalation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Raise an escalation")

    choose_payments_outage(page)
    assert_clean(page, console_errors)
    fill_the_concern(page, title=CONCERN["title"], expected_at=now_for_datetime_local())
    page.get_by_role("button", name="Raise the escalation").click()

    expect(page).to_have_url(re.compile(r"/escalations/\d+/$"))
    esc = Escalation.objects.get()
    assert page.url.endswith(f"/escalations/{esc.pk}/")
    assert REFERENCE.match(esc.reference) and esc.reference.startswith(f"ESC-{timezone.now():%Y}-")
    assert (esc.severity, esc.criticality, esc.owner, esc.status, esc.current_level) == (
        "sev1",
        "mission_critical",
        tomas_on_call,
        Status.OPEN,
        1,
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(CONCERN["title"])
    expect(page.locator("#escalation-panel").get_by_text(REFERENCE)).to_have_text(esc.reference)
    expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text(esc.reference)
    expect(page.get_by_role("status")).to_contain_text(f"{esc.reference} raised. Tomás Herrera has been told")
    expect(status_badge(page)).to_have_text("Open")
    expect(timeline(page)).to_contain_text(RAISED)
    expect(timeline(page)).to_contain_text(LEVEL_1_REACHED)
    assert_clean(page, console_errors)


def test_the_owner_acknowledges_and_escalates_and_the_raiser_follows(page, sign_in, console_errors, raised):
    sign_in("responder")
    page.goto("/escalations/")
    assert_clean(page, console_errors)
    page.get_by_role("region", name="What I own").get_by_role("link", name=raised.reference).click()
    expect(page).to_have_url(re.compile(rf"/escalations/{raised.pk}/$"))
    expect(status_badge(page)).to_have_text("Open")

    # htmx swaps the panel in place: a full reload would drop this marker.
    page.evaluate("window.__samePage = true")
    act_and_settle(page, page.get_by_role("button", name="Acknowledge").click)
    expect(status_badge(page)).to_have_text("Acknowledged")
    expect(page.get_by_role("status")).to_contain_text("Acknowledged: you own it.")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert page.evaluate("window.__samePage") is True

    escalate = page.get_by_role("group", name="Escalate")
    escalate.get_by_label("To level").select_option(label="Level 2 — Engineering manager")
    escalate.get_by_label(re.compile("^Reason")).fill(ESCALATE_REASON)
    escalate.get_by_role("button", name="Escalate").click()
    expect(timeline(page)).to_contain_text(ESCALATED)
    expect(timeline(page)).to_contain_text(LEVEL_2_REACHED)
    expect(status_badge(page)).to_have_text("Open")  # Grace acknowledges in her turn
    assert page.evaluate("window.__samePage") is True
    assert page.url.endswith(f"/escalations/{raised.pk}/")
    raised.refresh_from_db()
    # Grace's authority is engaged; Tomás keeps working on it (issue 12).
    assert (raised.status, raised.current_level, raised.engaged.full_name, raised.owner.full_name) == (
        Status.OPEN,
        2,
        "Grace Lindqvist",
        "Tomás Herrera",
    )
    assert_clean(page, console_errors)

    # The raiser follows it: the same timeline, and the clocks live.
    log_out(page)
    sign_in("staff")
    page.goto("/escalations/")
    page.get_by_role("region", name="What I raised").get_by_role("link", name=raised.reference).click()
    for text in (RAISED, LEVEL_1_REACHED, ACKNOWLEDGED, ESCALATED, LEVEL_2_REACHED):
        expect(timeline(page)).to_contain_text(text)
    expect(page.locator("[data-countdown]")).to_have_count(2)  # level 2's acknowledge, and resolve
    acknowledge_in = page.locator("#ack-countdown")
    expect(acknowledge_in).to_have_text(re.compile(r"^in 1[45]m \d{1,2}s$"))
    shown = acknowledge_in.inner_text()
    expect(acknowledge_in).not_to_have_text(shown, timeout=5_000)
    expect(page.locator("#resolve-countdown")).to_have_text(re.compile(r"^in (3h 5\dm|4h 0m)$"))
    assert_clean(page, console_errors)


def submit_without_a_title(page: Page, sign_in) -> tuple[int, str]:
    sign_in("staff")
    page.goto("/escalations/raise/")
    choose_payments_outage(page)
    expected_at = now_for_datetime_local()
    fill_the_concern(page, title="", expected_at=expected_at)
    allow_refusal(page, 400)  # refused on purpose
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Raise the escalation").click()
    page.wait_for_load_state()
    return posted.value.status, expected_at


def test_a_raise_without_a_title_shows_the_error_and_saves_nothing(
    page, sign_in, console_errors, tomas_on_call
):
    status, expected_at = submit_without_a_title(page, sign_in)

    assert status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was saved: please correct the problems marked below."
    )
    title = page.get_by_label(re.compile("^Title"))
    expect(title).to_have_attribute("aria-invalid", "true")
    beside = title.locator("xpath=following-sibling::div[contains(@class, 'invalid-feedback')][1]")
    expect(beside).to_have_text(re.compile("^Title is required"))
    expect(page.locator(".invalid-feedback")).to_have_count(1)  # nothing else was wrong
    # Everything typed is still there, under the same policy.
    expect(page.get_by_role("region", name=re.compile("^The policy that applies"))).to_contain_text(
        "Production outage"
    )
    expect(page.get_by_label(re.compile("^Nature of the risk"))).to_have_value(CONCERN["nature_of_risk"])
    expect(page.get_by_label(re.compile("^When the impact is expected"))).to_have_value(expected_at)
    expect(page.get_by_label(re.compile("^Severity"))).to_have_value("sev1")
    assert Escalation.objects.count() == 0
    assert TimelineEvent.objects.count() == 0
    assert_clean(page, console_errors, refused=400)


def test_a_field_error_is_announced_with_its_field(page, sign_in, tomas_on_call):
    submit_without_a_title(page, sign_in)

    expect(page.get_by_label(re.compile("^Title"))).to_have_accessible_description(
        re.compile("Title is required")
    )


def test_a_stale_acknowledge_is_refused_plainly(page, sign_in, console_errors, raised):
    sign_in("responder")
    first = page
    first.goto(f"/escalations/{raised.pk}/")
    second = page.context.new_page()  # a second tab, same session
    second_errors = watch(second)
    second.goto(f"/escalations/{raised.pk}/")
    expect(status_badge(second)).to_have_text("Open")

    first.get_by_role("button", name="Acknowledge").click()
    expect(status_badge(first)).to_have_text("Acknowledged")

    with second.expect_response(lambda r: r.request.method == "POST") as posted:
        second.get_by_role("button", name="Acknowledge").click()
    assert posted.value.status == 409
    refusal = second.get_by_role("alert")
    expect(refusal).to_contain_text("Nothing was changed.")
    expect(refusal).to_contain_text(f"{raised.reference} changed while you were looking at it")
    expect(status_badge(second)).to_have_text("Acknowledged")  # the panel now shows it as it is
    expect(second.get_by_role("button", name="Acknowledge")).to_have_count(0)

    raised.refresh_from_db()
    assert raised.status == Status.ACKNOWLEDGED
    assert TimelineEvent.objects.filter(escalation=raised, kind="acknowledged").count() == 1
    assert_clean(first, console_errors)
    assert_clean(second, second_errors, refused=409)


def test_each_action_form_labels_its_own_controls(page, sign_in, console_errors, raised):
    escalation_escalate(
        escalation=raised,
        actor=get_user_model().objects.get(username="responder"),
        to_level=2,
        reason=ESCALATE_REASON,
    )
    sign_in("manager")  # Grace owns level 2: she may escalate and de-escalate
    page.goto(f"/escalations/{raised.pk}/")

    de_escalate = page.get_by_role("group", name="De-escalate")
    expect(de_escalate.get_by_label("To level")).to_have_count(1)
    expect(de_escalate.get_by_label(re.compile("^Reason"))).to_have_count(1)
