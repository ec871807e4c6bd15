"""Waiting for htmx the way a person would: after the page has visibly changed.

htmx pushes the URL and swaps new content in at once, but wires up the new elements only when
it settles (20 ms later): a choice or a click made in between fires no htmx request (CI saw a
second choice on the raise form lost that way), and no person is that fast. Pages opened
through the ``page`` fixture count htmx's ``afterSettle`` events (conftest)."""

from __future__ import annotations

from collections.abc import Callable


def act_and_settle(page, act: Callable[[], object]) -> None:
    """Do something that makes htmx swap content, then wait until the new content is live."""
    before = page.evaluate("() => window.__htmxSettled")
    act()
    page.wait_for_function("(n) => window.__htmxSettled > n", arg=before)


def select_and_settle(page, select, **option) -> None:
    """Choose in a select that re-renders its form through htmx."""
    act_and_settle(page, lambda: select.select_option(**option))
