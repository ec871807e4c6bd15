"""The decision log pages by keyset (issue 13): "Older" and "Newer" walk every decision exactly
once in order, ties in time included; "Go to date" lands on the newest decision at or before
it; a position or date that does not parse is a 400 naming it; and every page costs the same
queries whether it is the first, the hundredth or a jump."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.approvals.models import ApprovalDecision
from apps.common.keyset import Position, parse_day
from apps.common.params import InvalidParameter
from tests.approvals.test_pages import pending_request

pytestmark = pytest.mark.django_db

START = datetime(2025, 1, 1, 9, 0, tzinfo=timezone.get_fixed_timezone(0))


def seed_decisions(org, count: int) -> list[ApprovalDecision]:
    """``count`` decisions a day apart, every fifth sharing its time with the one before (ties
    broken by id). Fixture rows: the log only reads them."""
    ask = pending_request(org)
    rows = []
    for i in range(count):
        at = START + timedelta(days=i - (1 if i % 5 == 4 else 0))
        rows.append(
            ApprovalDecision(
                approval=ask, outcome="rejected", reason=f"reason-{i:04d}.", at=at, decided_by_name="Lee Lead"
            )
        )
    ApprovalDecision.objects.bulk_create(rows)
    return list(ApprovalDecision.objects.order_by("-at", "-id"))


def reasons(html: str) -> list[str]:
    return re.findall(r"reason-([0-9]{4})\.", html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return unescape(found[1]) if found else None


def test_older_and_newer_walk_every_decision_once_in_order(client, org):
    expected = [d.reason[7:11] for d in seed_decisions(org, 123)]
    client.force_login(org.auditor)
    url, seen, pages = reverse("approvals:log"), [], []
    while url:
        html = client.get(url).content.decode()
        pages.append(reasons(html))
        seen += pages[-1]
        nxt = link(html, "next")
        url = reverse("approvals:log") + nxt if nxt else None
    assert seen == expected and [len(p) for p in pages] == [50, 50, 23]
    # Back from the last page: the same pages, newest first within each.
    html = client.get(
        reverse("approvals:log") + link(client.get(reverse("approvals:log")).content.decode(), "next")
    ).content.decode()
    back = link(html, "prev")
    assert reasons(client.get(reverse("approvals:log") + back).content.decode()) == pages[0]
    assert (
        link(client.get(reverse("approvals:log")).content.decode(), "prev") is None
    )  # the newest has no newer


def test_go_to_a_date_shows_the_newest_decisions_at_or_before_it(client, org):
    decisions = seed_decisions(org, 120)
    client.force_login(org.auditor)
    html = client.get(reverse("approvals:log"), {"from": "2025-02"}).content.decode()
    first = [d for d in decisions if d.at.date() <= datetime(2025, 2, 28).date()][0]
    assert reasons(html)[0] == first.reason[7:11]
    assert "from 28 February 2025 back" in html
    assert link(html, "prev") is not None and link(html, "next") is not None
    html = client.get(
        reverse("approvals:log"), {"from": "2025-01-03", "outcome": "rejected"}
    ).content.decode()
    assert reasons(html) == ["0002", "0001", "0000"] and link(html, "next") is None


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("cursor", "abc", "is not a position in this list"),
        ("cursor", "9" * 40 + ".1", "is not a position in this list"),
        ("newer", "1.2.3", "is not a position in this list"),
        ("from", "2025-13", "must be a date written YYYY-MM-DD or a month written YYYY-MM"),
        ("from", "yesterday", "must be a date written YYYY-MM-DD or a month written YYYY-MM"),
        ("from", "2025-02-30", "must be a date written YYYY-MM-DD or a month written YYYY-MM"),
    ],
)
def test_a_position_or_date_that_does_not_parse_is_a_400_naming_it(client, org, name, value, rule):
    seed_decisions(org, 3)
    client.force_login(org.auditor)
    response = client.get(reverse("approvals:log"), {name: value})
    html = response.content.decode()
    assert response.status_code == 400
    said = f"Go to date {rule} (got {value!r})" if name == "from" else f"The “{name}” parameter {rule}"
    assert said in unescape(html)  # a typed date by its field's label, a link's position by name
    assert reasons(html) == []  # no rows rather than rows from somewhere else
    if name == "from":
        assert 'aria-describedby="log-refusal"' in html


def test_every_page_costs_the_same_queries(client, org):
    decisions = seed_decisions(org, 160)
    client.force_login(org.auditor)
    urls = [
        {},
        {"cursor": Position(decisions[49].at, decisions[49].id).token},
        {"cursor": Position(decisions[99].at, decisions[99].id).token},
        {"newer": Position(decisions[120].at, decisions[120].id).token},
        {"from": "2025-03-15"},
        {"from": "2025-03-15", "outcome": "rejected"},
    ]
    counts = []
    for params in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("approvals:log"), params).status_code == 200
        counts.append(len(ctx.captured_queries))
    # The newest page asks no "anything newer?" question; every other page asks it once.
    assert counts[0] + 1 == counts[1] == counts[2] == counts[4] == counts[5], counts
    assert counts[3] <= counts[1], counts


def test_positions_and_dates_round_trip():
    at = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=timezone.get_fixed_timezone(0))
    assert Position.parse("cursor", Position(at, 42).token) == Position(at, 42)
    assert parse_day("from", "2024-02").isoformat() == "2024-02-29"
    assert parse_day("from", "2024-12").isoformat() == "2024-12-31"
    with pytest.raises(InvalidParameter):
        parse_day("from", "2024-2")


def test_dates_at_the_ends_of_the_calendar_are_refused_not_a_500(client, org):
    client.force_login(org.auditor)
    for value in ("9999-12-31", "9999-12", "0001-01-01", "1899-12"):
        response = client.get(reverse("approvals:log"), {"from": value})
        assert response.status_code == 400, value
        assert "must be a date from 1900-01-01 to 9998-12-31" in unescape(response.content.decode())
    assert client.get(reverse("approvals:log"), {"from": "9998-12-31"}).status_code == 200
