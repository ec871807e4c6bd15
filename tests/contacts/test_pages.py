"""The contact pages: everyone signed in reads, governance admins edit through the services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from apps.contacts.models import BackupAssignment, ContactMethod, Person, Rotation, RotationOverride, Team
from apps.contacts.services import backup_assign, contact_methods_set, rotation_save
from tests.factories import PersonFactory, TeamFactory

pytestmark = pytest.mark.django_db


# A Wednesday afternoon: on-call answers depend on the clock, and the demo's weekly rotation
# starts on Monday at 09:00 London time, so before that on a Monday seed_demo's own
# reachability check refuses its policies (reported; demo_policies.py is not ours to change).
FIXED_NOW = datetime(2026, 11, 18, 14, 30, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(FIXED_NOW, tick=True):
        yield


@pytest.fixture
def org(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return {p.email.split("@")[0]: p for p in Person.objects.all()}


def person_post(person: Person, **overrides) -> dict:
    """The edit form as the browser submits it, with the person's current values."""
    methods = overrides.pop("methods", None)
    if methods is None:
        methods = [(m.kind, m.value) for m in person.contact_methods.all()]
    data = {
        "full_name": person.full_name,
        "email": person.email,
        "title": person.title,
        "team": person.team_id or "",
        "manager": person.manager_id or "",
        "authority_rank": person.authority_rank,
        "timezone": person.timezone,
        "reason": "",
        "methods-TOTAL_FORMS": len(methods) + 1,
        "methods-INITIAL_FORMS": len(methods),
        "methods-MIN_NUM_FORMS": 0,
        "methods-MAX_NUM_FORMS": 10,
    }
    for i, (kind, value) in enumerate([*methods, ("email", "")]):
        data[f"methods-{i}-kind"], data[f"methods-{i}-value"], data[f"methods-{i}-priority"] = (
            kind,
            value,
            i + 1,
        )
    data.update(overrides)
    return data


# --- reading -------------------------------------------------------------------------------


def test_every_contact_page_renders_for_staff(client, raiser, org):
    client.force_login(raiser)
    grace = org["grace.lindqvist"]
    rotation = Rotation.objects.get(name="Platform primary")
    pages = {
        reverse("contacts:teams"): "Platform Operations",
        reverse("contacts:team", args=["platform-ops"]): "Platform primary",
        reverse("contacts:people"): "Grace Lindqvist",
        reverse("contacts:people") + "?q=lindqvist": "Engineering Manager, Platform",
        reverse("contacts:person", args=[grace.pk]): "Daniel Okafor",  # in her reporting line
        reverse("contacts:org_chart"): "Eleanor Vance",
        reverse("contacts:on_call"): "Platform primary",
        reverse("contacts:rotation", args=[rotation.pk]): "Tomás Herrera",
    }
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_the_people_list_filters_by_team_and_search(client, raiser, org):
    client.force_login(raiser)
    security = Team.objects.get(slug="security")
    body = client.get(reverse("contacts:people"), {"team": security.pk}).content.decode()
    assert "Ken Watanabe" in body and "Grace Lindqvist" not in body
    body = client.get(reverse("contacts:people"), {"q": "compliance officer"}).content.decode()
    assert "Omar Haddad" in body and "Hannah Schmidt" in body and "Ken Watanabe" not in body


def test_person_page_shows_methods_in_order_chain_reports_and_current_backup(client, raiser, org):
    grace, aisha = org["grace.lindqvist"], org["aisha.bello"]
    contact_methods_set(person=grace, methods=[("phone", "+447700900999"), ("email", grace.email)])
    backup_assign(person=grace, backup=aisha, starts_on=date.today() - timedelta(days=1), reason="Holiday")
    client.force_login(raiser)
    body = client.get(reverse("contacts:person", args=[grace.pk])).content.decode()
    assert body.index("+447700900999") < body.index(grace.email, body.index("+447700900999"))
    chain = [body.index(name) for name in ("Eleanor Vance", "Marcus Reid", "Daniel Okafor")]
    assert chain == sorted(chain)  # breadcrumb from the top down
    assert "Tomás Herrera" in body  # a direct report
    assert "Backup today" in body and "Aisha Bello" in body and "Holiday" in body


def test_on_call_at_a_chosen_time_follows_the_rotation_in_its_timezone(client, raiser, org):
    rotation = Rotation.objects.get(name="Platform primary")  # weekly, 09:00 Europe/London, 3 members
    first = datetime.combine(rotation.starts_on, rotation.handoff_time, ZoneInfo("Europe/London"))
    week2 = first + timedelta(days=7, hours=1)
    client.force_login(raiser)
    response = client.get(
        reverse("contacts:on_call"),
        {
            "date": week2.date().isoformat(),
            "time": week2.strftime("%H:%M"),
            "tz": "Europe/London",
        },
    )
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r.rotation.pk == rotation.pk)
    assert row.at_person.full_name == "Aisha Bello"  # the second member's week


def test_on_call_shows_the_next_hand_off_and_gaps_as_warnings(client, raiser, org):
    team = Team.objects.get(slug="customer-success")
    today = date.today()
    rotation_save(
        rotation=Rotation(
            team=team,
            name="Weekdays",
            shift_hours=24,
            handoff_time="09:00",
            starts_on=today,
            ends_on=today + timedelta(days=3),
        ),
        members=[org["sofia.rossi"], org["sam.patel"]],
    )
    client.force_login(raiser)
    response = client.get(reverse("contacts:on_call"))
    row = next(r for r in response.context["rows"] if r.rotation.name == "Weekdays")
    assert row.gaps, "a rotation ending in 3 days leaves a gap in the next 14"
    assert "nobody on call in the next 14 days" in response.content.decode()
    security = next(r for r in response.context["rows"] if r.rotation.name == "Platform primary")
    assert security.next_at is not None and security.next_person != security.now_person


def test_a_bad_time_on_the_on_call_form_is_a_400_with_the_message(client, raiser):
    client.force_login(raiser)
    response = client.get(reverse("contacts:on_call"), {"date": "yesterday", "time": "9", "tz": "Mars/Base"})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"date", "time", "tz"}


# --- who may edit ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.GOVERNANCE_ADMIN])
def test_edit_pages_are_refused_to_everyone_but_governance_admins(client, users_by_role, role):
    person = PersonFactory()
    rotation = rotation_save(
        rotation=Rotation(team=person.team, name="R", starts_on=date.today()), members=[person]
    )
    client.force_login(users_by_role[role])
    urls = [
        reverse("contacts:person_new"),
        reverse("contacts:person_edit", args=[person.pk]),
        reverse("contacts:backup_add", args=[person.pk]),
        reverse("contacts:rotation_new"),
        reverse("contacts:rotation_edit", args=[rotation.pk]),
        reverse("contacts:override_add", args=[rotation.pk]),
        reverse("contacts:import"),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    assert Person.objects.count() == 1 and not BackupAssignment.objects.exists()


def test_readers_see_no_edit_buttons(client, raiser):
    person = PersonFactory()
    client.force_login(raiser)
    body = client.get(reverse("contacts:person", args=[person.pk])).content.decode()
    assert reverse("contacts:person_edit", args=[person.pk]) not in body


# --- editing -------------------------------------------------------------------------------


def test_a_governance_admin_edits_a_persons_contact_methods(client, gov_admin, org):
    grace = org["grace.lindqvist"]
    client.force_login(gov_admin)
    data = person_post(
        grace,
        methods=[
            ("chat_webhook", "https://chat.example.com/hooks/grace"),
            ("phone", "+447700900555"),
            ("email", grace.email),
        ],
        reason="New pager",
    )
    response = client.post(reverse("contacts:person_edit", args=[grace.pk]), data)
    assert response.status_code == 302
    saved = [(m.kind, m.value, m.priority) for m in ContactMethod.objects.filter(person=grace)]
    assert saved == [
        ("chat_webhook", "https://chat.example.com/hooks/grace", 1),
        ("phone", "+447700900555", 2),
        ("email", grace.email, 3),
    ]
    event = AuditEvent.objects.filter(action="contacts.contact_methods_changed").latest("seq")
    assert event.actor_username == "gov_admin" and event.data["reason"] == "New pager"
    history = ContactMethod.history.filter(person_id=grace.pk).latest("history_date")
    assert history.history_user_username == "gov_admin" and history.history_change_reason == "New pager"
    assert not AuditEvent.objects.filter(action="contacts.person_updated").exists()  # fields unchanged


def test_priority_numbers_reorder_the_methods(client, gov_admin):
    person = PersonFactory()
    contact_methods_set(person=person, methods=[("email", person.email), ("phone", "+447700900111")])
    client.force_login(gov_admin)
    data = person_post(person)
    data["methods-0-priority"], data["methods-1-priority"] = 2, 1
    assert client.post(reverse("contacts:person_edit", args=[person.pk]), data).status_code == 302
    assert [m.kind for m in person.contact_methods.all()] == ["phone", "email"]


def test_a_bad_phone_number_is_refused_with_its_message_and_nothing_is_saved(client, gov_admin, org):
    grace = org["grace.lindqvist"]
    before = [(m.kind, m.value) for m in grace.contact_methods.all()]
    events = AuditEvent.objects.count()
    client.force_login(gov_admin)
    data = person_post(grace, title="Head of Platform", methods=[("phone", "07700 900123")])
    response = client.post(reverse("contacts:person_edit", args=[grace.pk]), data)
    assert response.status_code == 400
    assert "Phone numbers use the international form, e.g. +447700900123." in response.content.decode()
    grace.refresh_from_db()
    assert grace.title == "Engineering Manager, Platform"
    assert [(m.kind, m.value) for m in grace.contact_methods.all()] == before
    assert AuditEvent.objects.count() == events


def test_service_refusals_land_on_their_fields(client, gov_admin, org):
    """Rules only the service knows (unique email, a manager loop) come back on the form."""
    daniel, grace = org["daniel.okafor"], org["grace.lindqvist"]
    client.force_login(gov_admin)
    data = person_post(daniel, email=grace.email, manager=grace.pk)  # Grace reports to Daniel
    response = client.post(reverse("contacts:person_edit", args=[daniel.pk]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "already exists" in errors["email"][0]
    assert "loop" in errors["manager"][0]
    daniel.refresh_from_db()
    assert daniel.manager == org["marcus.reid"] and daniel.email == "daniel.okafor@example.com"


def test_a_bad_phone_and_a_manager_loop_are_reported_together(client, gov_admin, org):
    daniel, grace = org["daniel.okafor"], org["grace.lindqvist"]
    client.force_login(gov_admin)
    data = person_post(daniel, manager=grace.pk, methods=[("phone", "12345")])
    response = client.post(reverse("contacts:person_edit", args=[daniel.pk]), data)
    assert response.status_code == 400
    assert "loop" in response.context["form"].errors["manager"][0]
    assert "international form" in response.context["formset"].forms[0].errors["value"][0]


def test_a_governance_admin_creates_a_person(client, gov_admin):
    team = TeamFactory(slug="platform")
    client.force_login(gov_admin)
    data = person_post(
        Person(
            full_name="Noor Aziz",
            email="noor@example.com",
            title="SRE",
            team=team,
            authority_rank=30,
            timezone="Asia/Dubai",
        ),
        methods=[("phone", "+971500000001")],
    )
    response = client.post(reverse("contacts:person_new"), data)
    noor = Person.objects.get(email="noor@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("contacts:person", args=[noor.pk])
    assert (noor.team, noor.timezone, noor.authority_rank) == (team, "Asia/Dubai", 30)
    assert [m.value for m in noor.contact_methods.all()] == ["+971500000001"]
    assert AuditEvent.objects.filter(action="contacts.person_created", target_id=str(noor.pk)).exists()


def test_a_backup_loop_is_refused_on_the_page_naming_the_loop(client, gov_admin, org):
    grace, aisha, tomas = org["grace.lindqvist"], org["aisha.bello"], org["tomas.herrera"]
    today = date.today()
    backup_assign(person=grace, backup=aisha, starts_on=today)
    backup_assign(person=aisha, backup=tomas, starts_on=today)
    client.force_login(gov_admin)
    response = client.post(
        reverse("contacts:backup_add", args=[tomas.pk]),
        {"backup": grace.pk, "starts_on": today.isoformat(), "reason": "Cover"},
    )
    assert response.status_code == 400
    message = response.context["form"].errors["backup"][0]
    assert "loop" in message and all(p.full_name in message for p in (grace, aisha, tomas))
    assert message in response.content.decode()
    assert not BackupAssignment.objects.filter(person=tomas).exists()


def test_a_governance_admin_adds_a_backup(client, gov_admin, org):
    grace, aisha = org["grace.lindqvist"], org["aisha.bello"]
    client.force_login(gov_admin)
    response = client.post(
        reverse("contacts:backup_add", args=[grace.pk]),
        {"backup": aisha.pk, "starts_on": date.today().isoformat(), "ends_on": "", "reason": "Leave"},
    )
    assert response.status_code == 302
    assert BackupAssignment.objects.get(person=grace).backup == aisha


def rotation_post(team, members, **overrides) -> dict:
    data = {
        "team": team.pk,
        "name": "Night watch",
        "timezone": "Europe/London",
        "shift_hours": 12,
        "handoff_time": "20:00",
        "starts_on": date.today().isoformat(),
        "ends_on": "",
        "is_primary": "",
        "reason": "New rotation",
        "members-TOTAL_FORMS": len(members) + 1,
        "members-INITIAL_FORMS": 0,
        "members-MIN_NUM_FORMS": 0,
        "members-MAX_NUM_FORMS": 100,
    }
    for i, person in enumerate([*members, None]):
        data[f"members-{i}-person"] = person.pk if person else ""
        data[f"members-{i}-position"] = i + 1
    data.update(overrides)
    return data


def test_a_governance_admin_creates_and_reorders_a_rotation(client, gov_admin, org):
    team = Team.objects.get(slug="platform-ops")
    tomas, aisha = org["tomas.herrera"], org["aisha.bello"]
    client.force_login(gov_admin)
    response = client.post(reverse("contacts:rotation_new"), rotation_post(team, [tomas, aisha]))
    rotation = Rotation.objects.get(name="Night watch")
    assert response.status_code == 302
    assert [m.person for m in rotation.members.order_by("position")] == [tomas, aisha]
    data = rotation_post(team, [tomas, aisha])
    data["members-0-position"], data["members-1-position"] = 2, 1
    assert client.post(reverse("contacts:rotation_edit", args=[rotation.pk]), data).status_code == 302
    assert [m.person for m in rotation.members.order_by("position")] == [aisha, tomas]


def test_a_rotation_form_refuses_a_second_primary_and_no_members(client, gov_admin, org):
    team = Team.objects.get(slug="platform-ops")  # already has its primary rotation
    client.force_login(gov_admin)
    response = client.post(reverse("contacts:rotation_new"), rotation_post(team, [], is_primary="on"))
    assert response.status_code == 400
    assert "already has a primary rotation" in response.context["form"].errors["is_primary"][0]
    response = client.post(reverse("contacts:rotation_new"), rotation_post(team, []))
    assert response.status_code == 400
    assert "at least one member" in response.content.decode()
    assert not Rotation.objects.filter(name="Night watch").exists()


def test_an_override_is_read_in_the_rotations_timezone(client, gov_admin, org):
    rotation = Rotation.objects.get(name="Platform primary")  # Europe/London
    client.force_login(gov_admin)
    response = client.post(
        reverse("contacts:override_add", args=[rotation.pk]),
        {
            "person": org["grace.lindqvist"].pk,
            "starts_at": "2031-07-01T09:00",
            "ends_at": "2031-07-01T17:00",
            "reason": "Swap",
        },
    )
    assert response.status_code == 302
    override = RotationOverride.objects.get(rotation=rotation)
    assert override.starts_at == datetime(2031, 7, 1, 8, 0, tzinfo=ZoneInfo("UTC"))  # BST is UTC+1


def test_an_override_ending_before_it_starts_is_refused(client, gov_admin, org):
    rotation = Rotation.objects.get(name="Platform primary")
    client.force_login(gov_admin)
    response = client.post(
        reverse("contacts:override_add", args=[rotation.pk]),
        {
            "person": org["grace.lindqvist"].pk,
            "starts_at": "2031-07-01T17:00",
            "ends_at": "2031-07-01T09:00",
            "reason": "Swap",
        },
    )
    assert response.status_code == 400
    assert "must end after it starts" in response.context["form"].errors["ends_at"][0]
    assert not RotationOverride.objects.exists()


# --- queries stay constant as rows grow -----------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow_org(total: int) -> None:
    """A tree of ``total`` people (three reports each) with contact methods, in two teams."""
    teams = [TeamFactory(), TeamFactory()]
    people: list[Person] = list(Person.objects.all())
    while len(people) < total:
        boss = people[(len(people) - 1) // 3] if people else None
        person = PersonFactory(team=teams[len(people) % 2], manager=boss)
        ContactMethod.objects.create(person=person, kind="email", value=person.email, priority=1)
        people.append(person)


@pytest.mark.parametrize("url_name", ["contacts:people", "contacts:org_chart", "contacts:teams"])
def test_list_pages_cost_the_same_queries_for_10_and_500_people(client, raiser, url_name):
    client.force_login(raiser)
    url = reverse(url_name)
    _grow_org(10)
    client.get(url)  # warm the session and the content-type cache
    small = _queries(client, url)
    _grow_org(500)
    assert _queries(client, url) == small


def test_the_org_chart_reads_everyone_in_one_query(client, raiser):
    _grow_org(50)
    client.force_login(raiser)
    url = reverse("contacts:org_chart")
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(url).content.decode()
    people_queries = [q for q in ctx.captured_queries if 'FROM "contacts_person"' in q["sql"]]
    assert len(people_queries) == 1
    assert body.count('href="/contacts/people/') >= 50


def test_the_on_call_page_costs_the_same_queries_for_2_and_20_rotations(client, raiser):
    def grow(n: int) -> None:
        while Rotation.objects.count() < n:
            team = TeamFactory()
            members = PersonFactory.create_batch(3, team=team)
            rotation = rotation_save(
                rotation=Rotation(team=team, name="Primary", starts_on=date.today()), members=members
            )
            RotationOverride.objects.create(
                rotation=rotation,
                person=members[0],
                reason="x",
                starts_at=datetime(2030, 1, 1, tzinfo=ZoneInfo("UTC")),
                ends_at=datetime(2030, 1, 2, tzinfo=ZoneInfo("UTC")),
            )

    client.force_login(raiser)
    url = reverse("contacts:on_call") + "?date=2030-01-01&time=12:00&tz=UTC"
    grow(2)
    client.get(url)
    small = _queries(client, url)
    grow(20)
    assert _queries(client, url) == small


def test_the_next_hand_off_is_an_override_when_one_comes_first(org):
    from apps.contacts import selectors
    from apps.contacts.selectors import rotation_status, upcoming_shifts

    rotation = Rotation.objects.get(name="Platform primary")
    now = FIXED_NOW
    RotationOverride.objects.create(
        rotation=rotation,
        person=org["ken.watanabe"],
        starts_at=now + timedelta(hours=2),
        ends_at=now + timedelta(hours=5),
        reason="Swap",
    )
    rotation = selectors.rotations_prefetched().get(pk=rotation.pk)
    status = rotation_status(rotation, now)
    assert (status.next_at, status.next_person) == (now + timedelta(hours=2), org["ken.watanabe"])
    shifts = upcoming_shifts(rotation, now, count=3)
    assert [s["person"] for s in shifts] == [status.now_person, org["ken.watanabe"], status.now_person]
    assert shifts[1]["ends"] == now + timedelta(hours=5)


def test_the_person_page_shows_each_change_with_its_diff_and_reason(client, gov_admin, org):
    grace, marcus = org["grace.lindqvist"], org["marcus.reid"]
    client.force_login(gov_admin)
    data = person_post(grace, title="Head of Platform", manager=marcus.pk, reason="Promotion")
    assert client.post(reverse("contacts:person_edit", args=[grace.pk]), data).status_code == 302
    response = client.get(reverse("contacts:person", args=[grace.pk]))
    [newest, *_] = response.context["history"]
    assert newest["row"].history_change_reason == "Promotion"
    assert newest["row"].history_user_username == "gov_admin"
    changes = {c["field"]: (c["old"], c["new"]) for c in newest["changes"]}
    assert changes == {
        "title": ("Engineering Manager, Platform", "Head of Platform"),
        "manager": (str(org["daniel.okafor"]), str(marcus)),  # named, not numbered
    }
    assert "Head of Platform" in response.content.decode()
