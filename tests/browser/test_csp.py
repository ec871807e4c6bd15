"""No in-place update trips the CSP (issue 12, item 10).

Anything that sets an element's style through the CSSOM (a person dragging a textarea's resize
handle, Bootstrap's collapse and dropdowns) leaves a ``style`` attribute in the DOM. htmx used to
copy such attributes onto the content it swapped in (``attributesToSettle``) and to restore its
history snapshots with them, both as markup, which a ``style-src 'self'`` policy refuses
("Applying inline style violates ..."). base.html now settles no styles and keeps no snapshots (a
snapshot of a concern being written would also sit in localStorage): Back reloads the page.
The page fixture fails the test on any violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.htmx import act_and_settle, select_and_settle
from tests.browser.test_escalations import raised, status_badge, tomas_on_call  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

RESIZE_BOXES = (
    "document.querySelectorAll('textarea, select').forEach((box) => { box.style.height = '9rem'; })"
)


def test_resized_boxes_survive_an_in_place_update(page, sign_in, raised):  # noqa: F811
    sign_in("responder")
    page.goto(f"/escalations/{raised.pk}/")
    page.evaluate(RESIZE_BOXES)
    page.get_by_label(re.compile("^Comment")).fill("Rolling back now.")
    act_and_settle(page, page.get_by_role("button", name="Post").click)
    page.evaluate(RESIZE_BOXES)
    act_and_settle(page, page.get_by_role("button", name="Acknowledge").click)
    expect(status_badge(page)).to_have_text("Acknowledged")


def test_back_and_forward_through_the_raise_form_choices(page, sign_in, tomas_on_call):  # noqa: F811
    sign_in("staff")
    page.goto("/escalations/raise/")
    page.evaluate(RESIZE_BOXES)
    select_and_settle(page, page.get_by_label("Service"), label="Payments API")
    page.evaluate(RESIZE_BOXES)
    select_and_settle(page, page.get_by_label("Kind of risk"), label="Compliance")
    page.evaluate(RESIZE_BOXES)
    page.go_back()
    expect(page).not_to_have_url(re.compile("category="))
    expect(page.get_by_label("Service")).to_have_value(re.compile(r"^\d+$"))
    page.go_forward()
    expect(page).to_have_url(re.compile("category=compliance"))
    expect(page.get_by_label("Kind of risk")).to_have_value("compliance")
