"""What every page a browser test visits must be, checked in one call (issue 12's done-when).

``check_page(page, size=..., shot=..., step=...)`` fails when the page shown now has no h1 (or
more than one), when anything so far logged a console error or tripped the CSP (the page
fixture's ``BrowserLog``), when a phone must scroll sideways to read it, when the navigation
wraps on a desktop, or when axe-core finds a serious or critical accessibility violation; given
a ``shot`` and a ``step``, it then writes a full-page screenshot to
``var/screenshots/<journey>/<size>-<step>.png`` (var/ is not committed) for a reviewer.

Sizes are named viewports: ``desktop`` (1366x900, the navigation must fit one line) and ``phone``
(390x844).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import browser_log

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")
NAV_ONE_LINE = 80  # px: one line of Bootstrap's navbar is 56; a second line would make it ~100

_axe = Axe()


@dataclass(frozen=True)
class Shot:
    """Where a page's screenshot goes: ``var/screenshots/<journey>/<size>-<step>.png``."""

    journey: str
    size: str

    def path(self, step: str) -> Path:
        return SCREENSHOTS / self.journey / f"{self.size}-{step}.png"


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as shown now, one line each."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe.axe_script)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:5])}"
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def horizontal_overflow(page: Page) -> str:
    """Empty when nothing is wider than the viewport, else the widest offenders."""
    return page.evaluate(
        """() => {
          const width = window.innerWidth;
          if (document.documentElement.scrollWidth <= width) return "";
          const wide = [...document.querySelectorAll("body *")]
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")}`);
          return `scrollWidth ${document.documentElement.scrollWidth} > ${width}: ${wide.join(", ")}`;
        }"""
    )


def check_page(page: Page, *, size: str, shot: Shot | None = None, step: str = "") -> None:
    """Fail on anything a person (or their screen reader) would trip over on this page."""
    page.wait_for_load_state()
    where = page.url
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    log = browser_log(page)
    assert not log.unexpected(), f"{where}: the browser logged {log.unexpected()}"
    if size == "phone":
        overflow = horizontal_overflow(page)
        assert not overflow, f"{where} scrolls sideways on a phone: {overflow}"
    else:
        nav_height = page.get_by_role("navigation", name="Main").bounding_box()["height"]
        assert nav_height < NAV_ONE_LINE, f"{where}: the navigation wraps ({nav_height}px high)"
    violations = accessibility_violations(page)
    assert not violations, f"{where}: accessibility violations:\n" + "\n".join(violations)
    if shot and step:
        path = shot.path(step)
        path.parent.mkdir(parents=True, exist_ok=True)
        # caret="initial": hiding the caret would inject a <style>, which the CSP rightly refuses.
        page.screenshot(path=str(path), full_page=True, caret="initial", animations="allow")


def step_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
