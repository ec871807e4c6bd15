"""Contacts CSV: an import with any bad row imports nothing; export then import changes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.contacts import csv_io
from apps.contacts.models import ContactMethod, Person
from apps.contacts.services import contact_methods_set, person_upsert
from tests.csvfiles import complete_body

# The demo organisation (``org``) at its fixed moment (``demo_clock``): tests/plugins/demo_org.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]

HEADER = "email,full_name,title,team,manager_email,authority_rank,timezone,contact_methods\n"


def upload(client, text: str, name: str = "contacts.csv"):
    file = SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
    return client.post(reverse("contacts:import"), {"file": file})


def history_rows() -> int:
    return Person.history.count() + ContactMethod.history.count()


def test_a_good_file_imports_managers_first_whatever_the_order(client, gov_admin, org):
    # Zoe reports to Yusuf, who appears later in the file and reports to someone already known.
    text = HEADER + (
        "zoe@example.com,Zoe Kim,SRE,platform-ops,yusuf@example.com,30,Asia/Seoul,phone:+821012345678;email:zoe@example.com\n"
        "yusuf@example.com,Yusuf Demir,SRE Lead,platform-ops,grace.lindqvist@example.com,45,Europe/Istanbul,email:yusuf@example.com\n"
        "sam.patel@example.com,Sam Patel,Senior Customer Success Specialist,customer-success,sofia.rossi@example.com,15,UTC,\n"
    )
    client.force_login(gov_admin)
    response = upload(client, text)
    assert response.status_code == 302
    zoe, yusuf = Person.objects.get(email="zoe@example.com"), Person.objects.get(email="yusuf@example.com")
    assert zoe.manager == yusuf and yusuf.manager.email == "grace.lindqvist@example.com"
    assert (zoe.team.slug, zoe.authority_rank, zoe.timezone) == ("platform-ops", 30, "Asia/Seoul")
    assert [(m.kind, m.value) for m in zoe.contact_methods.all()] == [
        ("phone", "+821012345678"),
        ("email", "zoe@example.com"),
    ]
    sam = Person.objects.get(email="sam.patel@example.com")
    assert sam.title == "Senior Customer Success Specialist" and not sam.contact_methods.exists()
    event = AuditEvent.objects.get(action="contacts.imported")
    assert event.actor_username == "gov_admin"
    assert {k: event.data[k] for k in ("rows", "created", "updated", "unchanged")} == {
        "rows": 3,
        "created": 2,
        "updated": 1,
        "unchanged": 0,
    }
    # Each person created once with their manager, not "created" then "manager set".
    assert Person.history.filter(email="zoe@example.com").count() == 1


def test_a_file_with_several_bad_rows_imports_nothing_and_lists_every_one(client, gov_admin, org):
    text = HEADER + (
        "ok@example.com,Fine Person,Analyst,security,,20,UTC,email:ok@example.com\n"  # line 2: fine
        "a@example.com,Ann,Analyst,no-such-team,,20,UTC,\n"  # 3: unknown team
        "b@example.com,Bob,Analyst,security,nobody@example.com,20,UTC,\n"  # 4: unknown manager
        "not-an-email,Cat,Analyst,security,,20,UTC,\n"  # 5: bad email
        "d@example.com,Dan,Analyst,security,,20,UTC,phone:07700 900123\n"  # 6: bad phone
        "e@example.com,Eve,Analyst,security,,very high,UTC,\n"  # 7: bad authority rank
        "ok@example.com,Fine Again,Analyst,security,,20,UTC,\n"  # 8: duplicate email
        "f@example.com,Fay,Analyst,security,g@example.com,20,UTC,\n"  # 9: loop f -> g -> f
        "g@example.com,Gus,Analyst,security,f@example.com,20,UTC,\n"  # 10: loop
        "h@example.com,Hal,Analyst,security,,20,Mars/Olympus,\n"  # 11: bad timezone
        "i@example.com,,Analyst,security,,20,UTC,pager:123\n"  # 12: no name, unknown kind
    )
    people, events, history = Person.objects.count(), AuditEvent.objects.count(), history_rows()
    client.force_login(gov_admin)
    response = upload(client, text)
    assert response.status_code == 400
    reasons = {}
    for error in response.context["errors"]:
        reasons.setdefault(error.line, []).append(error.reason)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "unknown team 'no-such-team'" in reasons[3][0]
    assert "nobody@example.com is neither in the file nor in the directory" in reasons[4][0]
    assert "not a valid email address" in reasons[5][0]
    assert "international form" in reasons[6][0]
    assert "authority_rank 'very high'" in reasons[7][0]
    assert "appears again (first on line 2)" in reasons[8][0]
    assert "loop: f@example.com → g@example.com → f@example.com" in reasons[9][0]
    assert "loop" in reasons[10][0]
    assert "Mars/Olympus" in reasons[11][0]
    assert any("full_name is empty" in r for r in reasons[12]) and any(
        "unknown kind 'pager'" in r for r in reasons[12]
    )
    body = response.content.decode()
    assert "Nothing was imported: 11 problems in the file" in body
    assert (Person.objects.count(), AuditEvent.objects.count(), history_rows()) == (people, events, history)


def test_a_loop_closed_through_people_the_file_does_not_mention_is_refused(org):
    # Eleanor (the CEO) reporting to Marcus, who reports to Eleanor in the directory.
    text = HEADER + "eleanor.vance@example.com,Eleanor Vance,CEO,executive,marcus.reid@example.com,100,UTC,\n"
    with pytest.raises(csv_io.ImportRejected) as rejected:
        csv_io.parse(text.encode())
    assert "loop" in rejected.value.errors[0].reason and rejected.value.errors[0].line == 2


def test_managers_can_swap_places_in_one_file(org):
    """Grace reports to Daniel today; the file makes Daniel report to Grace. Applied row by row in
    file order this would trip the loop check half-way; managers-first order does not."""
    text = (
        "email,full_name,title,manager_email\n"
        "daniel.okafor@example.com,Daniel Okafor,Director,grace.lindqvist@example.com\n"
        "grace.lindqvist@example.com,Grace Lindqvist,VP,marcus.reid@example.com\n"
    )
    result = csv_io.apply(csv_io.parse(text.encode()), actor=None)
    assert result.updated == 2
    assert (
        Person.objects.get(email="daniel.okafor@example.com").manager.email == "grace.lindqvist@example.com"
    )


def test_a_missing_required_column_is_reported_on_line_1(client, gov_admin):
    client.force_login(gov_admin)
    response = upload(client, "email,title\nx@example.com,Analyst\n")
    assert response.status_code == 400
    [error] = response.context["errors"]
    assert error.line == 1 and "missing required column(s): full_name" in error.reason


def test_a_file_that_is_not_utf8_is_refused(client, gov_admin):
    client.force_login(gov_admin)
    file = SimpleUploadedFile(
        "c.csv", HEADER.encode() + "x@example.com,Jos\xe9,A,,,1,UTC,\n".encode("latin-1")
    )
    response = client.post(reverse("contacts:import"), {"file": file})
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()


def test_export_then_import_changes_nothing(client, gov_admin, org):
    grace = Person.objects.get(email="grace.lindqvist@example.com")
    contact_methods_set(
        person=grace, methods=[("chat_webhook", "https://chat.example.com/h?a=1"), ("phone", "+447700900001")]
    )
    person_upsert(email=grace.email, title="=HYPERLINK(evil)")  # must survive the CSV-injection guard
    client.force_login(gov_admin)
    exported = b"".join(client.get(reverse("contacts:export")).streaming_content)
    assert b"'=HYPERLINK(evil)" in exported
    history, people = history_rows(), list(Person.objects.values().order_by("pk"))
    last_seq = AuditEvent.objects.latest("seq").seq
    response = upload(client, exported.decode("utf-8"))
    assert response.status_code == 302
    assert history_rows() == history
    assert list(Person.objects.values().order_by("pk")) == people
    [event] = AuditEvent.objects.filter(seq__gt=last_seq)  # the import itself, nothing else
    assert event.action == "contacts.imported"
    assert event.data["unchanged"] == event.data["rows"] == len(people)
    assert event.data["created"] == event.data["updated"] == event.data["contact_methods_changed"] == 0


def test_an_export_is_an_audit_event_with_every_column(client, auditor, org):
    client.force_login(auditor)
    response = client.get(reverse("contacts:export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(complete_body(response))))
    assert list(rows[0]) == csv_io.COLUMNS and len(rows) == Person.objects.count()
    sam = next(r for r in rows if r["email"] == "sam.patel@example.com")
    assert sam["team"] == "platform-ops" and sam["manager_email"] == "grace.lindqvist@example.com"
    assert sam["contact_methods"].startswith("email:sam.patel@example.com;phone:+44")
    event = AuditEvent.objects.get(action="contacts.exported")
    assert event.actor_username == "auditor" and event.data == {"rows": len(rows), "scope": "all"}


def test_a_manager_exports_only_their_own_team(client, manager, org):
    person_upsert(email="grace.lindqvist@example.com", user=manager)
    client.force_login(manager)
    rows = list(
        csv.DictReader(io.StringIO(complete_body(client.get(reverse("contacts:export")))))
    )
    assert {r["team"] for r in rows} == {"platform-ops"}
    assert AuditEvent.objects.get(action="contacts.exported").data["scope"] == "own team: platform-ops"


def test_staff_cannot_export_and_only_governance_admins_import(client, raiser, auditor):
    client.force_login(raiser)
    assert client.get(reverse("contacts:export")).status_code == 403
    client.force_login(auditor)
    assert upload(client, HEADER).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="contacts.").exists()
