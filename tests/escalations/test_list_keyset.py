"""The escalation list pages by keyset (issue 13): in each order it offers, the next and previous
links walk every escalation the reader may see exactly once, ties included, and escalations with
no clock running come last in deadline order; "Go to date" lands where it says; the filters and
the order stay in every link; a position, date or order that does not parse is a 400 naming it;
every page costs the same queries, whatever its depth; a confidential escalation the reader may
not see is on no page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.common.keyset import Position
from apps.escalations.models import Escalation
from apps.escalations.selectors import LIST_ORDERS
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db

START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)  # noon: the same date in every zone within 12 hours
LIST = reverse("escalations:list")


def seed(world, count: int, *, confidential_every: int = 0) -> None:
    """``count`` escalations a day apart, every fifth raised at the same moment as the one before
    (ties broken by id); every third has no clock running (closed), the others deadlines that do
    not follow the raise order, every seventh tied with another. Copies of one raised through
    the service (fixture rows: the list only reads them)."""
    template = raise_one(world)
    Escalation.objects.filter(pk=template.pk).update(title="row-tmpl.", raised_at=START - timedelta(days=400))
    template.refresh_from_db()
    rows = []
    for i in range(count):
        clone = Escalation.objects.get(pk=template.pk)
        clone.pk = None
        clone.reference = f"ESC-T-{i:04d}"
        clone.title = f"row-{i:04d}."
        clone.raised_at = START + timedelta(days=i - (1 if i % 5 == 4 else 0))
        clone.severity = ("sev1", "sev2", "sev3")[i % 3]
        clone.status = "closed" if i % 3 == 2 else "open"
        due = None if i % 3 == 2 else START + timedelta(hours=(i * 37) % 101 - (1 if i % 7 == 6 else 0))
        clone.next_due_at = due
        clone.confidential = bool(confidential_every) and i % confidential_every == 1
        rows.append(clone)
    Escalation.objects.bulk_create(rows)


def expected(sort: str, **filters) -> list[str]:
    keyset = LIST_ORDERS[sort]
    rows = list(Escalation.objects.filter(**filters))
    stand_in = keyset.stand_in
    rows.sort(
        key=lambda e: (getattr(e, keyset.field) or stand_in, e.id),
        reverse=keyset.descending,
    )
    return [e.title[4:8] for e in rows]


def titles(html: str) -> list[str]:
    return re.findall(r"row-(\w{4})\.", html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return LIST + unescape(found[1]) if found else None


def walk(client, url: str, rel: str = "next") -> list[list[str]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        pages.append(titles(html))
        url = link(html, rel)
    return pages


@pytest.mark.parametrize("sort", list(LIST_ORDERS))
def test_next_and_previous_walk_every_escalation_once_in_order(client, world, sort):
    seed(world, 123)
    client.force_login(world.auditor)
    first = f"{LIST}?sort={sort}"
    pages = walk(client, first)
    assert [t for page in pages for t in page] == expected(sort)
    assert [len(p) for p in pages] == [50, 50, 24]  # 123 copies and the one they were copied from
    # Back from the last page by the previous links: the same pages, each in the list's order.
    last = client.get(first).content.decode()
    while nxt := link(last, "next"):
        last = client.get(nxt).content.decode()
    assert walk(client, link(last, "prev"), "prev") == pages[-2::-1]
    assert link(client.get(first).content.decode(), "prev") is None  # the first page has none before


def test_escalations_without_a_clock_come_last_in_deadline_order_both_ways(client, world):
    seed(world, 40)
    client.force_login(world.auditor)
    for sort in ("next_due_at", "-next_due_at"):
        seen = [t for page in walk(client, f"{LIST}?sort={sort}") for t in page]
        clockless = {e.title[4:8] for e in Escalation.objects.filter(next_due_at=None)}
        assert len(seen) == 41 and set(seen[-len(clockless) :]) == clockless, sort


def test_the_newest_first_links_are_older_and_newer_and_keep_the_filters(client, world):
    seed(world, 160)
    client.force_login(world.auditor)
    url = f"{LIST}?severity=sev1&state=active"
    html = client.get(url).content.decode()
    assert "Newest first" in html and "Older →" in html
    newest = Escalation.objects.filter(severity="sev1").order_by("-raised_at", "-id").first()
    assert f'<a href="{reverse("escalations:detail", args=[newest.pk])}">{newest.reference}</a>' in html
    pages = walk(client, url)
    assert [t for page in pages for t in page] == expected("-raised_at", severity="sev1", status="open")
    assert len(pages) == 2 and "severity=sev1" in link(html, "next") and "state=active" in link(html, "next")
    second = client.get(link(html, "next")).content.decode()
    assert "← Newer" in second and "severity=sev1" in link(second, "prev")
    # The order is kept too, and the filter form sends it again.
    html = client.get(f"{LIST}?severity=sev2&sort=next_due_at").content.decode()
    assert (
        "sort=next_due_at" in link(html, "next")
        and '<input type="hidden" name="sort" value="next_due_at">' in html
    )


def test_go_to_a_date_lands_on_the_first_escalation_at_or_past_it(client, world):
    seed(world, 120)
    client.force_login(world.auditor)
    html = client.get(LIST, {"from": "2025-02"}).content.decode()
    newest_first = expected("-raised_at")
    day_of = {e.title[4:8]: e.raised_at.date() for e in Escalation.objects.all()}
    at_or_before = [t for t in newest_first if day_of[t] <= datetime(2025, 2, 28).date()]
    assert titles(html) == at_or_before[:50]
    assert "Newest first, from 28 February 2025 back" in html
    assert link(html, "prev") is not None and link(html, "next") is not None
    # Oldest first, a month goes to its first day: the list runs forward from there.
    html = client.get(LIST, {"from": "2025-02", "sort": "raised_at"}).content.decode()
    on_or_after = [t for t in expected("raised_at") if day_of[t] >= datetime(2025, 2, 1).date()]
    assert titles(html) == on_or_after[:50] and "Oldest first, from 1 February 2025 on" in html
    # With a filter: the jump keeps it, and an early date leaves only the oldest.
    html = client.get(LIST, {"from": "2025-01-03", "severity": "sev1"}).content.decode()
    assert titles(html) == ["0000", "tmpl"] and link(html, "next") is None


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("cursor", "abc", "is not a position in this list"),
        ("cursor", "9" * 40 + ".1", "is not a position in this list"),
        ("cursor", "-99999999999999999.1", "is not a position in this list"),  # before year 1
        ("newer", "1.2.3", "is not a position in this list"),
        ("from", "2025-13", "must be a date written YYYY-MM-DD or a month written YYYY-MM"),
        ("from", "2025-02-30", "must be a date written YYYY-MM-DD or a month written YYYY-MM"),
        ("from", "9999-12-31", "must be a date from 1900-01-01 to 9998-12-31"),
        ("sort", "severity", "must be raised_at or next_due_at, with a minus sign before it"),
        ("sort", "-owner", "must be raised_at or next_due_at, with a minus sign before it"),
    ],
)
def test_a_position_date_or_order_that_does_not_parse_is_a_400_naming_it(client, world, name, value, rule):
    seed(world, 3)
    client.force_login(world.auditor)
    response = client.get(LIST, {name: value})
    html = response.content.decode()
    assert response.status_code == 400
    said = f"Go to date {rule} (got {value!r})" if name == "from" else f"The “{name}” parameter {rule}"
    assert said in unescape(html)  # a typed date by its field's label, a link's position by name
    assert titles(html) == []  # no rows rather than rows from somewhere else
    assert ('aria-describedby="list-refusal"' in html) == (name == "from")


def count_queries(client, params: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LIST, params).status_code == 200, params
    return len(ctx.captured_queries)


@pytest.mark.parametrize("sort", list(LIST_ORDERS))
def test_every_page_costs_the_same_queries(client, world, sort):
    seed(world, 160)
    client.force_login(world.eng_manager)  # visibility by participation: the costlier rule
    keyset = LIST_ORDERS[sort]
    rows = sorted(Escalation.objects.all(), key=lambda e: (keyset.value(e), e.id), reverse=keyset.descending)
    at = [Position(keyset.value(rows[i]), rows[i].id).token for i in (49, 99, 140)]
    pages = [
        {"sort": sort},
        {"sort": sort, "cursor": at[0]},
        {"sort": sort, "cursor": at[1]},
        {"sort": sort, "cursor": at[2]},
        {"sort": sort, "from": "2025-03-15"},
        {"sort": sort, "from": "2025-03-15", "severity": "sev3"},
    ]
    counts = [count_queries(client, params) for params in pages]
    # The first page asks no "anything before?" question; every other page asks it once.
    assert counts[0] + 1 == counts[1] == counts[2] == counts[3] == counts[4] == counts[5], counts
    assert count_queries(client, {"sort": sort, "newer": at[1]}) <= counts[1]


def test_a_confidential_escalation_is_on_no_page_for_those_who_may_not_see_it(client, world):
    seed(world, 130, confidential_every=4)
    hidden = {e.title[4:8] for e in Escalation.objects.filter(confidential=True)}
    assert len(hidden) == 33
    for user, sees in ((world.eng_manager, False), (world.auditor, True)):
        client.force_login(user)
        for sort in LIST_ORDERS:
            seen = [t for page in walk(client, f"{LIST}?sort={sort}") for t in page]
            assert len(seen) == len(set(seen)), sort
            assert bool(hidden & set(seen)) == sees and (hidden <= set(seen)) == sees, (user, sort)
            assert len(seen) == 131 - (0 if sees else len(hidden)), (user, sort)


def test_the_export_keeps_its_order_whatever_the_page_or_sort(client, world):
    from tests.csvfiles import complete_body

    seed(world, 30)
    client.force_login(world.auditor)
    html = client.get(LIST, {"sort": "next_due_at", "severity": "sev1"}).content.decode()
    export = re.search(r'href="(\?[^"]*export=csv)"', html)[1]
    assert "sort=next_due_at" in unescape(export) and "severity=sev1" in unescape(export)
    body = complete_body(client.get(LIST + unescape(export) + "&cursor=" + "1.1"))
    lines = [line for line in body.strip().splitlines()[1:] if not line.startswith("#")]
    references = [line.split(",")[0] for line in lines]
    newest_first = list(
        Escalation.objects.filter(severity="sev1")
        .order_by("-raised_at", "-id")
        .values_list("reference", flat=True)
    )
    assert references == newest_first and len(references) == 11


@pytest.mark.postgres_only
@pytest.mark.parametrize("sort", list(LIST_ORDERS))
def test_every_order_pages_by_an_index_range_scan(world, sort):
    """The index matches each order's expression, so the page is a range scan, not a sort."""
    from apps.escalations.selectors import for_list, list_page

    seed(world, 20)
    keyset = LIST_ORDERS[sort]
    queryset = for_list(world.auditor).order_by()
    rows = list_page(queryset, {}, sort=sort, size=5).rows
    position = Position(keyset.value(rows[-1]), rows[-1].id)
    page = list_page(queryset, {"cursor": position.token}, sort=sort, size=5)
    assert page.rows
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as ctx:
            list_page(queryset, {"cursor": position.token}, sort=sort, size=5)
        cursor.execute("EXPLAIN " + ctx.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    index = (
        "esc_raised"
        if keyset.field == "raised_at"
        else ("esc_next_due_soonest", "esc_next_due_latest")[keyset.descending]
    )
    assert f"Index Scan Backward using {index}" in plan or f"Index Scan using {index}" in plan, plan
    assert "Sort" not in plan, plan
    # Bounded on both columns: rows tied on the first (every escalation with no clock) are
    # skipped inside the index, not read and thrown away (178 ms at 100,000 before).
    assert "Index Cond: (ROW(" in plan, plan
