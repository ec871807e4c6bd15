"""Contacts import: every cell obeys the rules of the form field it would be typed into.

A 200 KB name was a 500 (csv's field limit), a NUL byte in a name was imported (the person
form refuses it, and PostgreSQL cannot store it). Now each is refused with its line and
column, in the form's words, and nothing is imported.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.contacts import csv_io
from apps.contacts.models import ContactMethod, Person

pytestmark = pytest.mark.django_db

HEADER = "email,full_name,title,team,manager_email,authority_rank,timezone,contact_methods\r\n"


def reasons(text: str) -> list[tuple[int, str]]:
    with pytest.raises(csv_io.ImportRejected) as rejected:
        csv_io.parse(text.encode())
    return [(e.line, e.reason) for e in rejected.value.errors]


@pytest.fixture
def admin(gov_admin) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(gov_admin)
    return client


def upload(client: Client, content: bytes):
    file = SimpleUploadedFile("contacts.csv", content, content_type="text/csv")
    return client.post(reverse("contacts:import"), {"file": file})


def test_a_200_kb_name_is_refused_with_its_line_and_column_and_nothing_is_imported(admin):
    big = "B" * 200_000
    content = (
        HEADER + f"ok@example.com,Fine,Analyst,,,10,UTC,\r\nbig@example.com,{big},Analyst,,,10,UTC,\r\n"
    ).encode()
    people, events = Person.objects.count(), AuditEvent.objects.count()
    response = upload(admin, content)
    assert response.status_code == 400
    [error] = response.context["errors"]
    assert (error.line, error.email) == (3, "big@example.com")
    assert (
        error.reason == "column 2 (full_name): Ensure this value has at most 150 characters (it has 200000)."
    )
    assert (Person.objects.count(), AuditEvent.objects.count()) == (people, events)
    assert len(response.content) < 50_000  # the value is not repeated back


def test_a_nul_byte_in_a_name_is_refused_like_in_the_person_form():
    assert reasons(HEADER + "nul@example.com,Nul\x00Name,Analyst,,,10,UTC,\r\n") == [
        (2, "column 2 (full_name): Null characters are not allowed.")
    ]


@pytest.mark.parametrize(
    "row,expected",
    [
        ("x@example.com,Xavier,T\x00itle,,,10,UTC,", "column 3 (title): Null characters are not allowed."),
        (
            f"{'e' * 250}@example.com,Ed,Analyst,,,10,UTC,",
            "column 1 (email): Ensure this value has at most 254",
        ),
        (
            f"x@example.com,Xavier,Analyst,{'t' * 61},,10,UTC,",
            "column 4 (team): Ensure this value has at most 60",
        ),
        (
            f"x@example.com,Xavier,Analyst,,,10,{'Z' * 65},",
            "column 7 (timezone): Ensure this value has at most 64",
        ),
        ("x@example.com,Xavier,Analyst,,,10,UTC,email:a\x00@example.com", "column 8 (contact_methods): Null"),
        (
            f"x@example.com,Xavier,Analyst,,,10,UTC,chat_webhook:https://example.com/{'h' * 500}",
            "contact method 1: Ensure this value has at most 500 characters (it has 520).",
        ),
        (
            "x@example.com,Xavier,Analyst,,,10,UTC," + ";".join(f"email:p{n}@example.com" for n in range(11)),
            "has 11 contact methods; a person has at most 10",
        ),
        ("x@example.com,Xavier,Analyst,,,²,UTC,", "authority_rank '²' is not a whole number from 0 to 32767"),
        (
            f"x@example.com,Xavier,Analyst,,,{'9' * 5000},UTC,",
            "authority_rank '9999999999999999999999999999999999999999…'",
        ),
    ],
)
def test_every_column_obeys_its_form_field_s_length_and_character_rules(row, expected):
    [(line, reason)] = reasons(HEADER + row + "\r\n")
    assert line == 2 and reason.startswith(expected), reason


@pytest.mark.parametrize(
    "content",
    [
        b"x" * 1_000_000,  # one field of a megabyte: the header
        HEADER.encode() + b'"unterminated,' + b"y" * 300_000,
        HEADER.encode() + b"a@example.com," + b"\x00" * 1000 + b",Analyst,,,10,UTC,\r\n",
    ],
)
def test_a_file_csv_cannot_read_or_an_absurd_header_is_a_400_listing_the_line(admin, content):
    response = upload(admin, content)
    assert response.status_code == 400
    assert response.context["errors"] and not ContactMethod.objects.exists()
    assert len(response.content) < 50_000


def test_good_rows_still_import(admin):
    content = (
        HEADER + "new@example.com,Nina New,Analyst,,,10,Europe/Paris,email:new@example.com\r\n"
    ).encode()
    assert upload(admin, content).status_code == 302
    assert Person.objects.get(email="new@example.com").contact_methods.count() == 1
