"""Smoke test of the portal in a real browser: every demo role signs in, sees its home page and
the navigation its role allows, and signs out; nothing on the way trips the CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import allow_refusal, log_out, open_menu

pytestmark = pytest.mark.browser

# (demo username, role label shown on the home page, sees "Audit trail" in the navigation)
DEMO_USERS = [
    ("staff", "Staff", False),
    ("responder", "Responder", False),
    ("manager", "Manager", True),
    ("executive", "Executive", False),
    ("auditor", "Auditor", True),
    ("hr", "HR / Compliance", False),
    ("govadmin", "Governance admin", True),
]


def navbar(page):
    return page.get_by_role("navigation", name="Main")


@pytest.mark.parametrize(("username", "role_label", "sees_audit"), DEMO_USERS, ids=[u[0] for u in DEMO_USERS])
def test_each_role_signs_in_sees_its_home_and_signs_out(
    page, live_server, sign_in, username, role_label, sees_audit
):
    sign_in(username)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(
        page.locator(".role-badge").filter(has_text=re.compile(f"^{re.escape(role_label)}$"))
    ).to_have_count(1)
    if sees_audit:
        open_menu(page, "Records")
    audit_link = navbar(page).get_by_role("link", name="Audit trail", exact=True)
    expect(audit_link).to_have_count(1 if sees_audit else 0)
    expect(navbar(page).get_by_role("link", name="Home", exact=True)).to_have_attribute(
        "aria-current", "page"
    )

    log_out(page)

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(page, live_server, sign_in):
    sign_in("staff", "not-the-password")

    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("staff")
    expect(navbar(page).get_by_role("button", name="Log out")).to_have_count(0)


@pytest.mark.parametrize("path", ["/login/", "/", "/audit/", "/timers/"])
def test_pages_load_without_csp_violations_or_console_errors(page, sign_in, console_errors, path):
    if path != "/login/":
        sign_in("govadmin")  # the role that sees every one of these pages
    page.goto(path)
    page.wait_for_load_state("networkidle")

    assert page.evaluate("window.__cspViolations") == []
    assert console_errors == []
    # The vendored scripts ran: served from static/, not blocked.
    assert page.evaluate("typeof window.htmx === 'object' && typeof window.bootstrap === 'object'")
    # htmx was told not to inject its inline indicator style (the CSP would refuse it).
    assert page.locator("head style").count() == 0


def test_a_role_without_access_gets_a_friendly_403(page, sign_in):
    sign_in("staff")
    allow_refusal(page, 403)
    response = page.goto("/audit/")

    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to this page")
    expect(page.get_by_text("Your role does not allow")).to_be_visible()


def test_countdowns_tick_in_the_browser(page, sign_in):
    """app.js turns data-countdown timestamps into live "in 3m 12s" / "12s overdue" text."""
    sign_in("staff")
    page.evaluate(
        """() => {
          const soon = new Date(Date.now() + 90_500).toISOString();
          const past = new Date(Date.now() - 12_000).toISOString();
          document.querySelector("main").insertAdjacentHTML("beforeend",
            `<span id="soon" data-countdown="${soon}"></span><span id="past" data-countdown="${past}"></span>`);
          window.escalportal.updateCountdowns(document);
        }"""
    )
    expect(page.locator("#soon")).to_have_text(re.compile(r"^in 1m (29|30)s$"))
    expect(page.locator("#past")).to_have_text(re.compile(r"^1[2-4]s overdue$"))
    expect(page.locator("#past")).to_have_class(re.compile("countdown-overdue"))
    expect(page.locator("#past")).to_have_text(re.compile(r"^1[4-6]s overdue$"), timeout=5_000)
