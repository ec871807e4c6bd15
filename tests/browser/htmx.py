"""Waiting for htmx the way a person would: after the page has visibly changed.

Pages opened through the ``page`` fixture count htmx's ``afterSettle`` events (conftest)."""

from __future__ import annotations


def select_and_settle(page, select, **option) -> None:
    """Choose in a select that re-renders its form through htmx, then wait until htmx has
    settled the new form. htmx pushes the URL when it swaps, but wires up the new elements
    only when it settles (20 ms later): a choice made in between fires no request (CI saw a
    second choice lost that way), and no person is that fast."""
    before = page.evaluate("() => window.__htmxSettled")
    select.select_option(**option)
    page.wait_for_function("(n) => window.__htmxSettled > n", arg=before)
