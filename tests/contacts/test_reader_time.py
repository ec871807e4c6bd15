"""Times in the reader's time zone (issue 12, item 7): every page shows a time in the zone of the
person reading it, with the zone named; emails in the recipient's; typed times are read in the
reader's zone and typed as ISO text whatever the browser's locale; where a clock counts a
calendar's business hours in another zone, the page shows that zone's time too."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from apps.common.moments import shown, zone_label
from apps.contacts.models import Person
from apps.escalations.models import Escalation
from apps.notifications.models import Notification
from tests.escalations.conftest import FIELDS, build_world, raise_one
from tests.factories import BusinessCalendarFactory

pytestmark = pytest.mark.django_db

WINTER = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)


def live_in(user, zone: str) -> None:
    Person.objects.filter(user=user).update(timezone=zone)


def render(source: str, **context) -> str:
    return Template("{% load portal %}" + source).render(Context(context))


def test_a_time_names_its_zone_by_abbreviation_or_by_name_where_there_is_none():
    assert zone_label(WINTER.astimezone(ZoneInfo("Europe/Berlin"))) == "CET"
    assert zone_label(WINTER.astimezone(ZoneInfo("America/New_York"))) == "EST"
    assert zone_label(WINTER) == "UTC"
    # Dubai's abbreviation is only an offset ("+04"): the zone's name says more.
    assert zone_label(WINTER.astimezone(ZoneInfo("Asia/Dubai"))) == "Asia/Dubai"
    assert shown(WINTER, "Asia/Kolkata") == "Mon 07 Dec 19:00 IST"
    assert shown(None) == "—"


def test_the_when_filters_follow_the_active_zone_or_a_named_one():
    with timezone.override(ZoneInfo("Europe/Berlin")):
        assert render("{{ t|when }}", t=WINTER) == "Mon 07 Dec 14:30 CET"
        assert render('{{ t|when:"Y-m-d H:i" }}', t=WINTER) == "2026-12-07 14:30 CET"
        assert render('{{ t|when_in:"America/New_York" }}', t=WINTER) == "Mon 07 Dec 08:30 EST"
        # An unknown zone falls back to the reader's rather than failing the page.
        assert render('{{ t|when_in:"Mars/Olympus" }}', t=WINTER) == "Mon 07 Dec 14:30 CET"
    assert render("{{ t|when }}", t=None) == "—"


def test_the_escalation_page_shows_its_clocks_in_the_readers_zone():
    world = build_world()
    esc = raise_one(world)
    live_in(world.raiser, "Europe/Berlin")
    from django.test import Client

    berlin, utc = Client(), Client()
    berlin.force_login(world.raiser)
    utc.force_login(world.engineer)
    url = reverse("escalations:detail", args=[esc.pk])
    due = esc.ack_due_at
    def countdown(client) -> str:  # the acknowledge clock's text (the timeline keeps its words as written)
        return client.get(url).content.decode().split('id="ack-countdown">')[1].split("</time>")[0]

    assert countdown(berlin) == shown(due, "Europe/Berlin") != shown(due, "UTC")
    assert countdown(utc) == shown(due, "UTC")


def test_a_typed_time_is_read_in_the_readers_zone_and_the_form_says_which(client):
    world = build_world()
    live_in(world.raiser, "Europe/Berlin")
    client.force_login(world.raiser)
    url = reverse("escalations:raise")
    chosen = {"service": world.service.pk, "category": "operational"}
    form_page = client.post(url, chosen).content.decode()
    assert "Your time (Europe/Berlin), as 2026-12-07 14:30." in form_page
    assert 'placeholder="YYYY-MM-DD HH:MM"' in form_page and 'type="datetime-local"' not in form_page
    client.post(
        url,
        {**chosen, **FIELDS, "severity": "sev2", "impact_expected_at": "2026-12-07 14:30", "confirm": "1"},
    )
    esc = Escalation.objects.get()
    assert esc.impact_expected_at == datetime(2026, 12, 7, 13, 30, tzinfo=UTC)


def test_date_filters_are_iso_text_fields_and_a_malformed_date_is_named(client):
    world = build_world()
    client.force_login(world.eng_manager)
    page = client.get(reverse("escalations:list"), {"raised_after": "07/12/2026"})
    body = page.content.decode()
    assert 'type="date"' not in body and 'placeholder="YYYY-MM-DD"' in body
    # 07/12/2026 is 7 December to some and 12 July to others: refused, beside its field.
    assert page.status_code == 400
    assert '<div class="invalid-feedback d-block" id="id_raised_after_error">Enter a valid date.</div>' in body
    assert 'aria-invalid="true"' in body and 'value="07/12/2026"' in body


def test_an_inverted_range_is_said_beside_the_until_field(client):
    world = build_world()
    client.force_login(world.auditor)
    page = client.get(reverse("approvals:log"), {"since": "2026-12-07", "until": "2026-11-01"})
    body = page.content.decode()
    assert page.status_code == 400
    assert "2026-11-01 is before 2026-12-07: the range is the wrong way round." in body
    assert 'id="id_until_error"' in body


def test_emails_are_written_in_the_recipients_zone():
    world = build_world()
    live_in(world.engineer, "America/New_York")
    esc = raise_one(world)
    note = Notification.objects.get(
        recipient_key=f"person:{world.person(world.engineer).pk}", template="escalation_assigned"
    )
    assert (
        f"Please acknowledge by {shown(esc.ack_due_at, 'America/New_York', '%a %d %b %Y %H:%M')}."
        in note.body
    )
    assert "UTC" not in note.body.split("Please acknowledge by")[1].split(".")[0]


def test_a_business_hours_clock_also_shows_its_calendars_zone(client):
    calendar = BusinessCalendarFactory(
        name="Tokyo office", timezone="Asia/Tokyo", holiday_country="JP", holiday_subdivision=""
    )
    world = build_world(calendar=calendar, business_hours_only=True)
    esc = raise_one(world)
    client.force_login(world.raiser)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert f"{shown(esc.ack_due_at, 'Asia/Tokyo')}, counted in business hours of Tokyo office" in page


def test_a_moment_past_the_year_9999_in_utc_is_refused_beside_its_field(client):
    world = build_world()
    live_in(world.raiser, "Pacific/Honolulu")  # UTC-10: 9999-12-31 23:00 there is in the year 10000
    client.force_login(world.raiser)
    chosen = {"service": world.service.pk, "category": "operational"}
    response = client.post(
        reverse("escalations:raise"),
        {**chosen, **FIELDS, "severity": "sev2", "impact_expected_at": "9999-12-31 23:00", "confirm": "1"},
    )
    assert response.status_code == 400
    assert "is outside the range the portal can store" in response.content.decode()
    assert not Escalation.objects.exists()
