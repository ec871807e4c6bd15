"""The policy pages: everyone signed in reads, governance admins edit through the services;
bad input is a 400 naming the rule with nothing saved; lists cost the same queries at any size."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django import forms
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from apps.contacts.models import ContactMethod, Person, Rotation, RotationMember, Team
from apps.policies import selectors
from apps.policies.models import (
    BusinessCalendar,
    CalendarClosure,
    ChangeFreeze,
    EscalationLevel,
    EscalationPolicy,
    MaintenanceWindow,
    ResponseThreshold,
    Service,
)
from apps.policies.services import policy_save
from tests.factories import PersonFactory, TeamFactory

pytestmark = pytest.mark.django_db

# A Wednesday afternoon: the demo's weekly rotation starts on Monday 09:00 London time, and
# before that seed_demo's own reachability check refuses its policies.
FIXED_NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(FIXED_NOW, tick=True):
        yield


@pytest.fixture
def org(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return {p.email.split("@")[0]: p for p in Person.objects.all()}


@pytest.fixture
def outage(org) -> EscalationPolicy:
    return EscalationPolicy.objects.get(slug="production-outage")


def saved_counts() -> dict[str, int]:
    """Everything a refused save must leave untouched."""
    return {
        "policies": EscalationPolicy.objects.count(),
        "policy history": EscalationPolicy.history.count(),
        "level history": EscalationLevel.history.count(),
        "threshold history": ResponseThreshold.history.count(),
        "audit": AuditEvent.objects.count(),
    }


# --- the form as the browser submits it -----------------------------------------------------


def _fields(form, data: dict) -> None:
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
            data[bound.html_name] = [str(v) for v in value or []]  # nothing ticked: no value at all
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)


def _formset(formset, data: dict) -> None:
    data.update(
        {
            f"{formset.prefix}-TOTAL_FORMS": str(len(formset.forms)),
            f"{formset.prefix}-INITIAL_FORMS": str(formset.initial_form_count()),
            f"{formset.prefix}-MIN_NUM_FORMS": "0",
            f"{formset.prefix}-MAX_NUM_FORMS": "1000",
        }
    )
    for form in formset.forms:
        _fields(form, data)


def page_post(client, url: str, **overrides) -> dict:
    """What the browser would post back from ``url`` untouched, with ``overrides``."""
    response = client.get(url)
    assert response.status_code == 200
    data: dict = {}
    for key in ("form", "levels", "thresholds"):
        part = response.context.get(key)
        if part is None:
            continue
        _formset(part, data) if hasattr(part, "management_form") else _fields(part, data)
    if "version" in response.context:
        data["version"] = response.context["version"]
    data.update({k.replace("__", "-"): v for k, v in overrides.items()})
    return data


def level(n: int, *, name: str, person: Person, rank: int, approval: bool = False, roles=("staff",)) -> dict:
    data = {
        f"levels-{n}-order": str(n + 1),
        f"levels-{n}-name": name,
        f"levels-{n}-target_kind": "person",
        f"levels-{n}-target_person": str(person.pk),
        f"levels-{n}-authority_rank": str(rank),
        f"levels-{n}-approval_timeout_hours": "4",
        f"levels-{n}-trigger_roles": list(roles),
    }
    if approval:
        data[f"levels-{n}-requires_approval"] = "on"
    return data


def new_policy_post(client, org, **overrides) -> dict:
    data = page_post(client, reverse("policies:new"))
    calendar = BusinessCalendar.objects.get(name="UK office hours")
    data.update(
        {
            "name": "Data protection incident",
            "slug": "",
            "category": "compliance",
            "description": "Personal data may have been exposed.",
            "owner": str(org["hannah.schmidt"].pk),
            "calendar": str(calendar.pk),
            "services": [
                str(s.pk) for s in Service.objects.filter(slug__in=["payments-api", "identity-sso"])
            ],
            "de_escalation_criteria": "DPO has assessed the breach\n\nRegulator notified where required\n",
            "extra_required_fields": "records_affected | How many records? | An estimate is fine",
            "change_reason": "New procedure agreed with the DPO",
        }
    )
    data.update(level(0, name="Compliance officer", person=org["hannah.schmidt"], rank=40))
    data.update(
        level(1, name="Chief Operating Officer", person=org["priya.natarajan"], rank=90, approval=True)
    )
    data.update(overrides)
    return data


# --- reading --------------------------------------------------------------------------------


def test_list_and_detail_render_for_staff(client, raiser, outage):
    client.force_login(raiser)
    body = client.get(reverse("policies:list")).content.decode()
    for name in ["Production outage", "Security incident", "Compliance concern", "Change-freeze exception"]:
        assert name in body
    assert "overdue" in body  # the change-freeze exception's review is a week late

    response = client.get(reverse("policies:detail", args=[outage.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in [
        "Platform on-call",
        "Chief Technology Officer",
        "requires approval",
        "SEV1 — critical",
        "15 min",
    ]:
        assert text in body
    # Level 1 is the platform team's on-call: the page names who holds it now.
    assert response.context["levels"][0]["now"] is not None
    assert response.context["levels"][0]["now"].full_name in body
    assert "Demo organisation" not in body  # history is for those who oversee the policy's team
    assert "Mark reviewed" not in body  # readers get no edit controls
    assert reverse("policies:edit", args=[outage.pk]) not in body


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"q": "security"}, {"Security incident"}),
        ({"category": "compliance"}, {"Compliance concern"}),
        ({"service": "identity-sso"}, {"Security incident", "Compliance concern", "Change-freeze exception"}),
    ],
)
def test_the_list_searches_and_filters(client, raiser, org, query, expected):
    client.force_login(raiser)
    if "service" in query:
        query = {"service": Service.objects.get(slug=query["service"]).pk}
    response = client.get(reverse("policies:list"), query)
    assert {row.record.name for row in response.context["table"].rows} == expected


def test_services_calendars_and_periods_render_for_staff(client, raiser, org):
    client.force_login(raiser)
    calendar = BusinessCalendar.objects.get(name="UK office hours")
    pages = {
        reverse("policies:services"): "Payments API",
        reverse("policies:calendars"): "Mon–Fri 09:00–17:30",
        reverse("policies:calendar", args=[calendar.pk]): "Christmas Day",
        reverse("policies:maintenance"): "Maintenance windows",
        reverse("policies:freezes"): "Change freezes",
    }
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_a_missing_policy_is_a_404(client, raiser):
    client.force_login(raiser)
    assert client.get(reverse("policies:detail", args=[999])).status_code == 404


# --- who may edit ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r != Role.GOVERNANCE_ADMIN])
def test_editing_is_refused_to_everyone_but_governance_admins(client, users_by_role, role, outage):
    client.force_login(users_by_role[role])
    calendar = outage.calendar
    for url in [
        reverse("policies:new"),
        reverse("policies:edit", args=[outage.pk]),
        reverse("policies:calendar_new"),
        reverse("policies:calendar_edit", args=[calendar.pk]),
        reverse("policies:maintenance_new"),
        reverse("policies:freeze_new"),
    ]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x", "change_reason": "sneaky change"}).status_code == 403, url
    before = outage.next_review_on
    response = client.post(reverse("policies:review", args=[outage.pk]), {"notes": "looks fine to me"})
    assert response.status_code == 403
    outage.refresh_from_db()
    assert outage.next_review_on == before


def test_the_editor_renders_for_an_admin_with_an_empty_database(client, gov_admin):
    client.force_login(gov_admin)
    for name in ["policies:new", "policies:calendar_new", "policies:maintenance_new", "policies:freeze_new"]:
        assert client.get(reverse(name)).status_code == 200, name
    assert "create one first" in client.get(reverse("policies:new")).content.decode()


# --- creating and editing a policy ----------------------------------------------------------


def test_a_governance_admin_creates_a_policy_through_the_form(client, gov_admin, org):
    client.force_login(gov_admin)
    response = client.post(reverse("policies:new"), new_policy_post(client, org))
    policy = EscalationPolicy.objects.get(name="Data protection incident")
    assert response.status_code == 302
    assert response["Location"] == reverse("policies:detail", args=[policy.pk])
    assert policy.slug == "data-protection-incident"
    assert [
        (lvl.order, lvl.name, lvl.authority_rank, lvl.requires_approval) for lvl in policy.levels.all()
    ] == [
        (1, "Compliance officer", 40, False),
        (2, "Chief Operating Officer", 90, True),
    ]
    assert policy.levels.get(order=2).trigger_roles == ["staff"]
    assert policy.thresholds.count() == 12  # the pre-filled matrix
    sev1_premium = policy.thresholds.get(severity="sev1", customer_tier="premium")
    assert (sev1_premium.acknowledge_within, sev1_premium.resolve_within) == (
        timedelta(minutes=15),
        timedelta(hours=4),
    )
    assert set(policy.services.values_list("slug", flat=True)) == {"payments-api", "identity-sso"}
    assert policy.de_escalation_criteria == [
        "DPO has assessed the breach",
        "Regulator notified where required",
    ]
    assert policy.extra_required_fields == [
        {"name": "records_affected", "label": "How many records?", "help": "An estimate is fine"}
    ]
    first = policy.history.earliest()
    assert (first.history_user_username, first.history_change_reason) == (
        "gov_admin",
        "New procedure agreed with the DPO",
    )
    assert AuditEvent.objects.filter(action="policies.policy_created", target_id=str(policy.pk)).exists()
    follow = client.get(response["Location"])
    assert "Saved “Data protection incident”." in follow.content.decode()


def test_an_authority_that_does_not_climb_is_refused_and_nothing_saved(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__1__authority_rank="20", change_reason="Flatten the chain")
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    errors = " ".join(response.context["level_errors"])
    assert "authority must increase up the chain" in errors
    assert "Level 2 (Engineering manager)" in errors
    assert saved_counts() == before
    assert outage.levels.get(order=2).authority_rank == 50


def test_a_missing_change_reason_is_refused_and_nothing_saved(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, description="Changed without saying why", change_reason="")
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Say why this changes" in response.context["form"].errors["change_reason"][0]
    assert saved_counts() == before
    outage.refresh_from_db()
    assert outage.description != "Changed without saying why"


def test_a_missing_threshold_cell_is_refused_naming_it_and_nothing_saved(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    # The first cell is SEV1 x premium.
    data = page_post(
        client,
        url,
        thresholds__0__ack_amount="",
        thresholds__0__resolve_amount="",
        change_reason="Drop a cell",
    )
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    assert (
        "SEV1 — critical: thresholds missing for Premium customers." in response.context["threshold_errors"]
    )
    assert saved_counts() == before
    assert outage.thresholds.count() == 12


def test_a_cell_left_out_of_the_post_entirely_is_refused_too(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, change_reason="Eleven cells only")
    data["thresholds-TOTAL_FORMS"] = "11"  # the last cell, SEV4 x basic, never arrives
    response = client.post(url, data)
    assert response.status_code == 400
    assert "SEV4 — low: thresholds missing for Basic customers." in response.context["threshold_errors"]
    assert "missing" in response.content.decode()


def test_a_threshold_longer_than_a_year_is_refused_naming_the_field_and_the_limit(client, gov_admin, outage):
    """Business-hours clocks are computed for up to 8,760 hours; the form says so (issue 8)."""
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(
        client,
        url,
        thresholds__0__resolve_amount="9000",
        thresholds__0__resolve_unit="h",
        change_reason="Slower",
    )
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    message = "Resolve within can be at most 8,760 hours (365 days)."
    assert response.context["thresholds"].forms[0].errors["resolve_amount"] == [message]
    assert message in response.content.decode()
    assert saved_counts() == before


def test_a_level_whose_person_cannot_be_contacted_is_refused_and_nothing_saved(client, gov_admin, outage):
    unreachable = PersonFactory(full_name="Nadia Silent", authority_rank=95)
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__3__target_person=str(unreachable.pk), change_reason="New CTO")
    before = saved_counts()
    response = client.post(url, data)
    assert response.status_code == 400
    errors = " ".join(response.context["level_errors"])
    assert "Level 4 (Chief Technology Officer): no reachable target" in errors
    assert "Nadia Silent: has no contact method" in errors
    assert saved_counts() == before


def test_several_problems_are_reported_together(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(
        client,
        url,
        levels__1__authority_rank="20",
        thresholds__0__ack_amount="",
        thresholds__0__resolve_amount="",
        extra_required_fields="Bad Name | Label",
        change_reason="",
    )
    response = client.post(url, data)
    assert response.status_code == 400
    ctx = response.context
    assert ctx["level_errors"] and ctx["threshold_errors"]
    assert "change_reason" in ctx["form"].errors
    assert "must start with a letter" in ctx["form"].errors["extra_required_fields"][0]


def test_a_level_without_its_target_is_refused_on_the_field(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__1__target_person="", change_reason="Forgot the person")
    response = client.post(url, data)
    assert response.status_code == 400
    assert response.context["levels"].forms[1].errors["target_person"] == [
        "Choose a named person this level reaches."
    ]


def test_a_removed_level_renumbers_the_chain(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, levels__2__DELETE="on", change_reason="No director level any more")
    response = client.post(url, data)
    assert response.status_code == 302
    assert [(lvl.order, lvl.name) for lvl in outage.levels.order_by("order")] == [
        (1, "Platform on-call"),
        (2, "Engineering manager"),
        (3, "Chief Technology Officer"),
    ]


def test_an_edit_made_by_someone_else_meanwhile_is_not_overwritten(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(client, url, description="My version", change_reason="Clarify the scope")
    policy_save(
        policy=EscalationPolicy.objects.get(pk=outage.pk),
        levels=_specs(outage),
        thresholds=_threshold_specs(outage),
        actor=None,
        reason="Someone else's change",
    )
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Someone else saved this policy" in " ".join(response.context["form"].non_field_errors())
    outage.refresh_from_db()
    assert outage.description != "My version"


def _specs(policy):
    from apps.policies.services import LevelSpec

    return [
        LevelSpec(
            order=lvl.order,
            name=lvl.name,
            target_kind=lvl.target_kind,
            authority_rank=lvl.authority_rank,
            target_person=lvl.target_person,
            target_team=lvl.target_team,
            target_rotation=lvl.target_rotation,
            requires_approval=lvl.requires_approval,
        )
        for lvl in policy.levels.order_by("order")
    ]


def _threshold_specs(policy):
    from apps.policies.services import ThresholdSpec

    return [
        ThresholdSpec(
            t.severity, t.customer_tier, t.acknowledge_within, t.resolve_within, t.business_hours_only
        )
        for t in policy.thresholds.all()
    ]


def test_the_detail_page_shows_the_edit_as_a_diff_with_its_reason(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(
        client,
        url,
        thresholds__0__ack_amount="10",
        levels__1__name="Platform engineering manager",
        change_reason="Tighter SEV1 target after the March outage",
    )
    assert client.post(url, data).status_code == 302

    response = client.get(reverse("policies:detail", args=[outage.pk]))
    history = response.context["history"]
    newest = [e for e in history if e["reason"] == "Tighter SEV1 target after the March outage"]
    changes = {(e["subject"], c["field"], c["old"], c["new"]) for e in newest for c in e["changes"]}
    assert ("Threshold SEV1 — critical × Premium", "acknowledge within", "15 min", "10 min") in changes
    assert (
        "Level 2 · Platform engineering manager",
        "name",
        "Engineering manager",
        "Platform engineering manager",
    ) in changes
    assert all(e["user"] == "gov_admin" and e["type"] == "changed" for e in newest)
    assert history[0]["reason"] == "Tighter SEV1 target after the March outage"  # newest first
    body = response.content.decode()
    assert "Tighter SEV1 target after the March outage" in body
    assert "<del" in body and "15 min" in body and "10 min" in body


def test_the_detail_page_costs_the_same_queries_however_long_the_history(client, gov_admin, outage):
    client.force_login(gov_admin)  # who may read the history
    url = reverse("policies:detail", args=[outage.pk])

    def edit(times: int) -> None:
        for n in range(times):
            policy = EscalationPolicy.objects.get(pk=outage.pk)
            policy.description = f"Version {n}"
            policy_save(
                policy=policy,
                levels=_specs(outage),
                thresholds=_threshold_specs(outage),
                actor=None,
                reason=f"Edit {n}",
            )

    client.get(url)
    edit(1)
    few = _queries(client, url)
    edit(15)
    assert _queries(client, url) == few


# --- reviews --------------------------------------------------------------------------------


def test_a_governance_admin_marks_a_policy_reviewed(client, gov_admin, org):
    policy = EscalationPolicy.objects.get(slug="change-freeze-exception")
    client.force_login(gov_admin)
    response = client.post(
        reverse("policies:review", args=[policy.pk]), {"notes": "Levels and contacts checked"}
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.next_review_on == date.today() + timedelta(days=policy.review_interval_days)
    assert policy.history.latest().history_change_reason == "Reviewed: Levels and contacts checked"


def test_marking_reviewed_needs_notes(client, gov_admin, org):
    policy = EscalationPolicy.objects.get(slug="change-freeze-exception")
    before = policy.next_review_on
    client.force_login(gov_admin)
    response = client.post(reverse("policies:review", args=[policy.pk]), {"notes": ""})
    assert response.status_code == 400
    assert "Write what the review checked" in response.context["review_form"].errors["notes"][0]
    policy.refresh_from_db()
    assert policy.next_review_on == before


# --- calendars ------------------------------------------------------------------------------


def calendar_post(client, **overrides) -> dict:
    data = page_post(client, reverse("policies:calendar_new"))
    data.update(
        {
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "holiday_country": "de",
            "holiday_subdivision": "be",
        }
    )
    data.update({k.replace("__", "-"): v for k, v in overrides.items()})
    return data


def test_a_governance_admin_creates_a_calendar_with_hours_and_closures(client, gov_admin):
    client.force_login(gov_admin)
    data = calendar_post(
        client,
        d0_2_start="18:00",
        d0_2_end="20:00",
        closures="2026-12-24 Christmas Eve\n2026-12-31 New Year's Eve",
        change_reason="Berlin office opens",
    )
    response = client.post(reverse("policies:calendar_new"), data)
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert response.status_code == 302
    assert calendar.weekly_hours["0"] == [["09:00", "17:00"], ["18:00", "20:00"]]
    assert calendar.weekly_hours["4"] == [["09:00", "17:00"]] and "5" not in calendar.weekly_hours
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BE")
    assert list(calendar.closures.values_list("reason", flat=True)) == ["Christmas Eve", "New Year's Eve"]
    detail = client.get(reverse("policies:calendar", args=[calendar.pk])).content.decode()
    assert "Berlin office opens" in detail and "Closure 2026-12-24" in detail


def test_a_calendar_with_no_working_hours_is_refused(client, gov_admin):
    client.force_login(gov_admin)
    empty = {f"d{d}_1_{edge}": "" for d in range(5) for edge in ("start", "end")}
    response = client.post(
        reverse("policies:calendar_new"), calendar_post(client, change_reason="Closed", **empty)
    )
    assert response.status_code == 400
    assert "needs working hours on at least one day" in " ".join(response.context["hours_errors"])
    assert not BusinessCalendar.objects.exists()


def test_bad_calendar_lines_are_named(client, gov_admin):
    client.force_login(gov_admin)
    data = calendar_post(
        client, d1_1_end="08:00", closures="2026-02-30 Leap\n2026-12-24", change_reason="Typos"
    )
    response = client.post(reverse("policies:calendar_new"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Tuesday: 09:00–08:00 ends before it starts." in errors["d1_1_end"]
    assert "Line 1: “2026-02-30” is not a date" in errors["closures"][0]
    assert "Line 2: say why the office is closed" in errors["closures"][1]
    assert not BusinessCalendar.objects.exists() and not CalendarClosure.objects.exists()


def test_a_shift_to_midnight_is_saved_as_24_00_and_shown_so(client, gov_admin):
    client.force_login(gov_admin)
    # The browser's time picker sends 00:00 for midnight; 24:00 typed by hand works too.
    data = calendar_post(
        client,
        d4_2_start="18:00",
        d4_2_end="00:00",
        d5_1_start="20:00",
        d5_1_end="24:00",
        change_reason="Late desk",
    )
    assert client.post(reverse("policies:calendar_new"), data).status_code == 302
    calendar = BusinessCalendar.objects.get(name="Berlin office")
    assert calendar.weekly_hours["4"] == [["09:00", "17:00"], ["18:00", "24:00"]]
    assert calendar.weekly_hours["5"] == [["20:00", "24:00"]]
    detail = client.get(reverse("policies:calendar", args=[calendar.pk])).content.decode()
    assert "09:00–17:00, 18:00–24:00" in detail and "20:00–24:00" in detail
    assert "Sat 20:00–24:00" in client.get(reverse("policies:calendars")).content.decode()
    # The edit page shows midnight as the picker can (00:00); saving it untouched keeps 24:00.
    edit = reverse("policies:calendar_edit", args=[calendar.pk])
    assert 'name="d5_1_end" value="00:00"' in client.get(edit).content.decode()
    assert client.post(edit, page_post(client, edit, change_reason="Nothing changed")).status_code == 302
    calendar.refresh_from_db()
    assert calendar.weekly_hours["5"] == [["20:00", "24:00"]]


def test_a_calendar_with_less_than_an_hour_a_week_is_refused(client, gov_admin):
    client.force_login(gov_admin)
    empty = {f"d{d}_1_{edge}": "" for d in range(1, 5) for edge in ("start", "end")}
    data = calendar_post(client, d0_1_start="09:00", d0_1_end="09:45", change_reason="Barely open", **empty)
    response = client.post(reverse("policies:calendar_new"), data)
    assert response.status_code == 400
    assert response.context["hours_errors"] == [
        "A calendar needs at least 1 hour of working time a week (these hours add up to 45 minutes)."
    ]
    assert not BusinessCalendar.objects.exists()


def test_an_unknown_holiday_country_is_refused_on_its_field(client, gov_admin):
    client.force_login(gov_admin)
    response = client.post(
        reverse("policies:calendar_new"), calendar_post(client, holiday_country="QQ", change_reason="Typo")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["holiday_country"]


# --- maintenance windows and change freezes -------------------------------------------------


def test_a_window_ending_before_it_starts_is_refused_naming_the_field(client, gov_admin, org):
    client.force_login(gov_admin)
    service = Service.objects.get(slug="payments-api")
    data = {
        "name": "Database upgrade",
        "services": [str(service.pk)],
        "starts_at": "2026-12-01T22:00",
        "ends_at": "2026-12-01T20:00",
        "tz": "Europe/London",
        "defers_clocks": "on",
        "change_reason": "Planned upgrade",
    }
    before = AuditEvent.objects.count()
    response = client.post(reverse("policies:maintenance_new"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["ends_at"] == ["A maintenance window must end after it starts."]
    assert not MaintenanceWindow.objects.exists() and AuditEvent.objects.count() == before


def test_a_governance_admin_plans_a_maintenance_window(client, gov_admin, org):
    client.force_login(gov_admin)
    service = Service.objects.get(slug="payments-api")
    data = {
        "name": "Database upgrade",
        "services": [str(service.pk)],
        "starts_at": "2026-12-01T22:00",
        "ends_at": "2026-12-02T02:00",
        "tz": "Europe/Berlin",
        "defers_clocks": "on",
        "change_reason": "Planned upgrade",
    }
    assert client.post(reverse("policies:maintenance_new"), data).status_code == 302
    window = MaintenanceWindow.objects.get()
    assert window.starts_at == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 22:00 in Berlin
    assert list(window.services.all()) == [service] and window.defers_clocks
    assert window.history.earliest().history_user_username == "gov_admin"
    assert AuditEvent.objects.filter(action="policies.maintenance_window_created").exists()
    assert "Database upgrade" in client.get(reverse("policies:maintenance")).content.decode()


def test_a_change_freeze_needs_services_and_a_reason_reported_together(client, gov_admin, org):
    client.force_login(gov_admin)
    data = {
        "name": "Year-end freeze",
        "starts_at": "2026-12-20T00:00",
        "ends_at": "2026-12-19T00:00",
        "tz": "UTC",
        "reason": "Year-end trading",
        "change_reason": "",
    }
    response = client.post(reverse("policies:freeze_new"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["ends_at"] == ["A change freeze must end after it starts."]
    assert "Choose at least one service" in errors["services"][0]
    assert "change_reason" in errors
    assert not ChangeFreeze.objects.exists()


def test_a_governance_admin_declares_a_change_freeze(client, gov_admin, org):
    client.force_login(gov_admin)
    services = Service.objects.filter(slug__in=["payments-api", "customer-portal"])
    data = {
        "name": "Year-end freeze",
        "services": [str(s.pk) for s in services],
        "starts_at": "2026-12-20T00:00",
        "ends_at": "2027-01-04T00:00",
        "tz": "UTC",
        "reason": "Year-end trading",
        "change_reason": "Agreed at the change board",
    }
    assert client.post(reverse("policies:freeze_new"), data).status_code == 302
    freeze = ChangeFreeze.objects.get()
    assert set(freeze.services.all()) == set(services)
    assert freeze.history.latest().history_change_reason == "Agreed at the change board"
    assert "Year-end freeze" in client.get(reverse("policies:freezes")).content.decode()


# --- the governance dashboard ---------------------------------------------------------------


def test_the_dashboard_shows_overdue_reviews_unreachable_levels_and_people_without_contact(
    client, gov_admin, org
):
    ContactMethod.objects.filter(person=org["grace.lindqvist"]).delete()
    client.force_login(gov_admin)
    body = client.get(reverse("home")).content.decode()
    assert "Policies due for review" in body and "Change-freeze exception" in body
    assert "Unreachable escalation targets" in body
    assert "Grace Lindqvist: has no contact method" in body
    assert "People without contact methods" in body


def test_auditors_see_overdue_reviews_only_and_staff_nothing(client, auditor, raiser, org):
    client.force_login(auditor)
    body = client.get(reverse("home")).content.decode()
    assert "Policies due for review" in body and "Unreachable escalation targets" not in body
    client.force_login(raiser)
    assert "Policies due for review" not in client.get(reverse("home")).content.decode()


def test_the_dashboard_agrees_with_the_selector(org):
    ContactMethod.objects.filter(person=org["grace.lindqvist"]).delete()
    RotationMember.objects.filter(rotation__name="Security on-call").delete()
    now = datetime.now(UTC)

    def flat(warnings):
        return sorted((w["policy"].pk, w["level"].order, tuple(map(str, w["problems"]))) for w in warnings)

    expected = flat(selectors.reachability_warnings(now))
    assert expected and flat(selectors.reachability_overview(now)) == expected


# --- queries stay constant as rows grow -----------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow_policies(total: int) -> None:
    """Cheap test data: policies with two levels (a team's on-call, then a person) and a
    service each, written in bulk (no history: this is about reading)."""
    if not Person.objects.exists():
        team = TeamFactory()
        boss = PersonFactory(team=team, authority_rank=90)
        ContactMethod.objects.create(person=boss, kind="email", value=boss.email, priority=1)
        rotation = Rotation.objects.create(team=team, name="Primary", starts_on=date(2026, 1, 5))
        RotationMember.objects.create(rotation=rotation, person=boss, position=1)
        BusinessCalendar.objects.create(name="24x7", always_open=True)
    owner, team = Person.objects.first(), Team.objects.first()
    calendar = BusinessCalendar.objects.first()
    start = EscalationPolicy.objects.count()
    policies = EscalationPolicy.objects.bulk_create(
        EscalationPolicy(
            name=f"Policy {i:04d}",
            slug=f"policy-{i}",
            category="operational",
            description="Test policy",
            owner=owner,
            calendar=calendar,
            next_review_on=date(2026, 1, 1) if i % 2 else date(2027, 1, 1),
        )
        for i in range(start, total)
    )
    EscalationLevel.objects.bulk_create(
        lvl
        for p in policies
        for lvl in (
            EscalationLevel(
                policy=p,
                order=1,
                name="On call",
                target_kind="team_on_call",
                target_team=team,
                authority_rank=10,
            ),
            EscalationLevel(
                policy=p,
                order=2,
                name="Boss",
                target_kind="person",
                target_person=owner,
                authority_rank=90,
                requires_approval=True,
            ),
        )
    )
    services = Service.objects.bulk_create(
        Service(name=f"Service {p.pk}", slug=f"service-{p.pk}", owner_team=team) for p in policies
    )
    Service.policies.through.objects.bulk_create(
        Service.policies.through(service_id=s.pk, escalationpolicy_id=p.pk)
        for s, p in zip(services, policies, strict=True)
    )
    Service.supporting_teams.through.objects.bulk_create(
        Service.supporting_teams.through(service_id=s.pk, team_id=team.pk) for s in services
    )


@pytest.mark.parametrize("url_name", ["policies:list", "policies:services"])
def test_list_pages_cost_the_same_queries_for_10_and_500_policies(client, raiser, url_name):
    client.force_login(raiser)
    url = reverse(url_name)
    _grow_policies(10)
    client.get(url)  # warm the session and the content-type cache
    small = _queries(client, url)
    _grow_policies(500)
    assert EscalationPolicy.objects.count() == 500
    assert _queries(client, url) == small


def test_the_filtered_list_costs_the_same_queries_at_any_size(client, raiser):
    client.force_login(raiser)
    url = reverse("policies:list") + "?q=Policy&category=operational&active=true&sort=-next_review_on"
    _grow_policies(10)
    client.get(url)
    small = _queries(client, url)
    _grow_policies(500)
    assert _queries(client, url) == small


def test_the_governance_home_costs_the_same_queries_for_10_and_500_policies(client, gov_admin):
    client.force_login(gov_admin)
    url = reverse("home")
    _grow_policies(10)
    client.get(url)
    small = _queries(client, url)
    _grow_policies(500)
    assert _queries(client, url) == small
