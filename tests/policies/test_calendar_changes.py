"""Calendar changes that take effect at a chosen time (issue 12, item 9): saved with a "Takes
effect" moment, the change waits (the calendar and its clocks stay as they are), the calendar
page shows what will change and when, its clock applies it with history under the planner's
name, and it can be cancelled with a reason until then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.policies.models import BusinessCalendar, CalendarChange
from apps.policies.services import CALENDAR_CHANGE_DUE, calendar_change_apply
from apps.timers.models import Deadline
from apps.timers.services import Outcome, deadline_fire
from tests.factories import BusinessCalendarFactory, PersonFactory
from tests.policies.pages import page_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(db) -> BusinessCalendar:
    return BusinessCalendarFactory(name="London office", timezone="Europe/London")


def plan(client, calendar, *, when: str, **changes):
    edit = reverse("policies:calendar_edit", args=[calendar.pk])
    data = page_post(client, edit, change_reason="New opening hours from January", effective_at=when)
    data.update(changes)
    return client.post(edit, data)


def in_a_week() -> datetime:
    return (timezone.now() + timedelta(days=7)).replace(second=0, microsecond=0)


def test_a_change_with_a_moment_waits_and_the_page_says_what_and_when(client, gov_admin, calendar):
    PersonFactory(user=gov_admin, timezone="Europe/Berlin")
    client.force_login(gov_admin)
    hours_now = dict(calendar.weekly_hours)
    when = in_a_week()
    typed = when.astimezone(ZoneInfo("Europe/Berlin"))  # the planner types their own time
    response = plan(client, calendar, when=f"{typed:%Y-%m-%d %H:%M}", d0_1_start="08:00")
    assert response.status_code == 302
    calendar.refresh_from_db()
    assert calendar.weekly_hours == hours_now  # nothing changes yet
    [change] = CalendarChange.objects.all()
    assert change.effective_at == when and change.is_pending
    assert change.values["weekly_hours"]["0"][0][0] == "08:00"
    [deadline] = Deadline.objects.filter(kind=CALENDAR_CHANGE_DUE)
    assert deadline.due_at == when and deadline.subject_id == str(change.pk)
    page = client.get(reverse("policies:calendar", args=[calendar.pk])).content.decode()
    assert "Changes waiting to take effect" in page and "New opening hours from January" in page
    assert f"From {typed:%a %d %b %Y %H:%M} CET" in page
    assert "Working hours:" in page and "<strong>Mon 08:00" in page
    assert AuditEvent.objects.filter(action="policies.calendar_change_scheduled").count() == 1


def test_its_clock_applies_it_under_the_planners_name(client, gov_admin, calendar):
    client.force_login(gov_admin)
    plan(client, calendar, when=f"{in_a_week():%Y-%m-%d %H:%M}", timezone="Europe/Dublin")
    deadline = Deadline.objects.get(kind=CALENDAR_CHANGE_DUE)
    past = datetime(2020, 1, 1, tzinfo=UTC)
    Deadline.objects.filter(pk=deadline.pk).update(due_at=past, next_attempt_at=past)  # now due
    assert deadline_fire(deadline_id=deadline.pk).outcome == Outcome.FIRED
    calendar.refresh_from_db()
    change = CalendarChange.objects.get()
    assert calendar.timezone == "Europe/Dublin" and change.status == CalendarChange.Status.APPLIED
    latest = calendar.history.first()
    assert (
        latest.history_user == gov_admin and "New opening hours from January" in latest.history_change_reason
    )
    assert AuditEvent.objects.filter(action="policies.calendar_change_applied").count() == 1
    # Applied once: a second run changes nothing.
    assert calendar_change_apply(change=change).status == CalendarChange.Status.APPLIED
    assert calendar.history.count() == 2


def test_a_moment_in_the_past_or_a_bad_one_is_refused_beside_the_field(client, gov_admin, calendar):
    client.force_login(gov_admin)
    past = plan(client, calendar, when="2020-01-01 09:00")
    assert past.status_code == 400
    assert "Choose a moment in the future" in past.content.decode()
    garbled = plan(client, calendar, when="01/02/2027 9am")
    assert garbled.status_code == 400 and "Enter a valid date/time." in garbled.content.decode()
    assert (
        not CalendarChange.objects.exists() and not Deadline.objects.filter(kind=CALENDAR_CHANGE_DUE).exists()
    )


def test_a_scheduled_change_must_be_a_valid_calendar(client, gov_admin, calendar):
    client.force_login(gov_admin)
    response = plan(client, calendar, when=f"{in_a_week():%Y-%m-%d %H:%M}", holiday_country="ZZ")
    assert response.status_code == 400 and not CalendarChange.objects.exists()


def test_cancelling_needs_a_reason_and_stops_its_clock(client, gov_admin, calendar):
    client.force_login(gov_admin)
    plan(client, calendar, when=f"{in_a_week():%Y-%m-%d %H:%M}", timezone="Europe/Dublin")
    change = CalendarChange.objects.get()
    cancel = reverse("policies:calendar_change_cancel", args=[change.pk])
    refused = client.post(cancel, {"reason": ""})
    assert refused.status_code == 400
    assert f'id="cancel-reason-{change.pk}-error"' in refused.content.decode()
    change.refresh_from_db()
    assert change.is_pending
    assert client.post(cancel, {"reason": "The office move is postponed"}).status_code == 302
    change.refresh_from_db()
    assert change.status == CalendarChange.Status.CANCELLED
    assert Deadline.objects.get(kind=CALENDAR_CHANGE_DUE).status == "cancelled"
    calendar.refresh_from_db()
    assert calendar.timezone == "Europe/London"
    again = client.post(cancel, {"reason": "The office move is postponed"})
    assert again.status_code == 409 and "This change is already cancelled" in again.content.decode()


def test_only_governance_admins_plan_or_cancel(client, gov_admin, calendar, user_factory):
    client.force_login(gov_admin)
    plan(client, calendar, when=f"{in_a_week():%Y-%m-%d %H:%M}", timezone="Europe/Dublin")
    change = CalendarChange.objects.get()
    client.force_login(user_factory(roles=["staff"]))
    assert client.get(reverse("policies:calendar_edit", args=[calendar.pk])).status_code == 403
    cancel = reverse("policies:calendar_change_cancel", args=[change.pk])
    assert client.post(cancel, {"reason": "Not mine to cancel"}).status_code == 403
    change.refresh_from_db()
    assert change.is_pending


@pytest.mark.parametrize("reason", ["name\x00with a NUL", "x" * 1_000_000])
def test_a_hostile_cancel_reason_is_refused_beside_the_field(client, gov_admin, calendar, reason):
    client.force_login(gov_admin)
    plan(client, calendar, when=f"{in_a_week():%Y-%m-%d %H:%M}", timezone="Europe/Dublin")
    change = CalendarChange.objects.get()
    response = client.post(reverse("policies:calendar_change_cancel", args=[change.pk]), {"reason": reason})
    assert response.status_code == 400
    assert f'id="cancel-reason-{change.pk}-error"' in response.content.decode()
    change.refresh_from_db()
    assert change.is_pending
