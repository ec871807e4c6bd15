"""Browser tests: Playwright's sync API driving Debian's chromium against ``live_server``.

Playwright cannot download a browser here, so it launches the system one. Its sync API runs an
asyncio event loop in the test thread, and Django refuses ORM calls from a thread with a
running loop; the loop only talks to the browser, so telling Django it is safe is true.

Every browser test fails at teardown on any console error, uncaught exception or
Content-Security-Policy violation in any tab of its context, on any page it went through (issue
12): a test need not remember to look. A test that provokes a refusal on purpose says so with
``allow_refusal(page, 400)``: chromium logs one "Failed to load resource" line per 4xx response.
"""

from __future__ import annotations

import io
import os
import re
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

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
  const text = `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(text);
  // To the test's BrowserLog too, which outlives the page's navigations.
  if (window.__reportCspViolation) { window.__reportCspViolation(text); }
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


REFUSED_RESOURCE = re.compile(
    r"^console: Failed to load resource: the server responded with a status of (\d{3})\b"
)


@dataclass
class BrowserLog:
    """What the browser complained about during one test, in every tab of its context."""

    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def watch(self, page) -> None:
        page.on(
            "console", lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def unexpected(self) -> list[str]:
        """Errors and violations, less chromium's line for each refusal the test provoked."""
        errors = [
            e
            for e in self.errors
            if not ((m := REFUSED_RESOURCE.match(e)) and int(m.group(1)) in self.allowed_statuses)
        ]
        return errors + [f"CSP: {v}" for v in self.csp]


_LOGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def browser_log(page) -> BrowserLog:
    return _LOGS[page.context]


def allow_refusal(page, status: int) -> None:
    """The test provokes a ``status`` response on purpose: chromium's console line for it is expected."""
    browser_log(page).allowed_statuses.add(status)


def new_context(browser, base_url: str, *, width: int = 1280, height: int = 900):
    """A fresh context (no cookies) whose every page records CSP violations and console errors."""
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height})
    log = BrowserLog()
    _LOGS[context] = log
    context.expose_function("__reportCspViolation", lambda text: log.csp.append(text))
    context.add_init_script(CSP_RECORDER)
    context.on("page", log.watch)
    return context


def assert_nothing_logged(context) -> None:
    """Let events still queued in each open tab arrive, then fail on anything unexpected."""
    for open_page in context.pages:
        if not open_page.is_closed():
            open_page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
    unexpected = _LOGS[context].unexpected()
    assert not unexpected, "the browser logged:\n" + "\n".join(unexpected)


@pytest.fixture
def page(browser, live_server, demo_org) -> Iterator:
    """A fresh browser context (no cookies) per test, pointed at the live server. The test fails
    if anything in it logs a console error or trips the CSP (see the module's docstring)."""
    context = new_context(browser, live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    try:
        assert_nothing_logged(context)
    finally:
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
