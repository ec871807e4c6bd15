"""A person's page and editing a person: contact methods in their order, every refusal beside
its field with nothing saved, backups, and each change shown as a diff with its reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.contacts.models import BackupAssignment, ContactMethod, Person
from apps.contacts.services import backup_assign, contact_methods_set
from tests.contacts.pages import person_post
from tests.factories import PersonFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


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
