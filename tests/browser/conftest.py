"""Browser tests: Playwright's sync API driving Debian's chromium against ``live_server``.

Playwright cannot download a browser here, so it launches the system one. Its sync API runs an
asyncio event loop in the test thread, and Django refuses ORM calls from a thread with a
running loop; the loop only talks to the browser, so telling Django it is safe is true.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

import pytest
from django.core.management import call_command

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "escalportal-demo"

# Page-side record of Content-Security-Policy violations, in addition to the console: the
# event carries the directive that refused, which makes a failure easy to read.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
// Counted for tests.browser.htmx.select_and_settle.
window.__htmxSettled = 0;
document.addEventListener("htmx:afterSettle", () => { window.__htmxSettled += 1; });
"""


@pytest.fixture(scope="module")
def browser():
    """One chromium per module: launching it costs more than most tests."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_org(transactional_db) -> None:
    """The demo organisation of ``make run``: one login per role, password DEMO_PASSWORD."""
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def page(browser, live_server, demo_org) -> Iterator:
    """A fresh browser context (no cookies) per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_RECORDER)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """Every console error and uncaught exception on ``page`` (CSP violations are console errors)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


@pytest.fixture
def sign_in(page) -> Callable[[str, str], None]:
    """Sign in through the login form, the way a person does."""

    def sign_in(username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    return sign_in


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def open_menu(page, name: str) -> None:
    """Open one of the navigation's menus (Directory, Records, or the signed-in person's)."""
    main_nav(page).get_by_role("button", name=name).click()


def log_out(page) -> None:
    """Sign out from the signed-in person's menu, as a person would."""
    main_nav(page).locator("button.user-name").click()
    main_nav(page).get_by_role("button", name="Log out").click()
