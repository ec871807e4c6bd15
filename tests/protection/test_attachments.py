"""Files with a report or a reporter's message (issue 10): at most a set size, refused beside the
field and nothing written when larger; downloaded only by the case's reviewers and its signed-in
reporter (404 for everyone else), never rendered in place, every read an audit event."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from apps.protection import services
from apps.protection.models import CaseAttachment, ProtectionReport
from apps.protection.services.attachments import safe_name
from tests.factories import UserFactory
from tests.protection.conftest import assigned, file_report

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 the rota before and after\n" * 20


def upload(data: bytes = PDF, name: str = "rota.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_a_signed_in_reporter_attaches_a_file_that_only_reviewers_and_the_reporter_can_read(
    client, reporter, officer, second_officer
):
    client.force_login(reporter)
    response = client.post(
        reverse("protection:report"),
        {
            "mode": "confidential",
            "what_happened": "My hours were cut; the rota shows it.",
            "attachment": upload(),
        },
    )
    assert response.status_code == 302
    report = ProtectionReport.objects.get()
    [file] = CaseAttachment.objects.all()
    assert (file.name, file.size, file.sha256) == ("rota.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    assigned(report, officer)
    url = reverse("protection:attachment", args=[file.pk])

    client.force_login(officer)
    case_page = client.get(reverse("protection:case", args=[report.pk])).content.decode()
    assert f'href="{url}"' in case_page and "rota.pdf" in case_page
    download = client.get(url)
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="rota.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff" and download["Cache-Control"] == "no-store"
    reads = AuditEvent.objects.filter(action="protection.attachment_read")
    assert [(e.actor_id, e.data["as"]) for e in reads] == [(officer.pk, "reviewer")]

    client.force_login(reporter)
    assert client.get(url).content == PDF  # their own file
    for outsider in (second_officer, UserFactory(roles=[Role.AUDITOR]), UserFactory(roles=[Role.MANAGER])):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code in (302, 404)
    assert sorted(e.data["as"] for e in reads.all()) == ["reporter", "reviewer"]


def test_a_file_over_the_limit_is_refused_beside_the_field_and_nothing_is_filed(client, reporter, settings):
    settings.PROTECTION_ATTACHMENT_MAX_BYTES = 1024
    client.force_login(reporter)
    response = client.post(
        reverse("protection:report"),
        {"mode": "confidential", "what_happened": "My hours were cut.", "attachment": upload(b"x" * 4096)},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file is 4.0\xa0KB; at most 1.0\xa0KB can be attached." in page
    assert 'id="id_attachment_error"' in page
    assert not ProtectionReport.objects.exists() and not CaseAttachment.objects.exists()


def test_an_anonymous_reporter_attaches_a_file_to_a_reply_by_key(client, officer):
    report, key = file_report()
    assigned(report, officer)
    response = client.post(
        reverse("protection:follow"),
        {
            "key": key,
            "text": "Here is the new rota.",
            "attachment": upload(name="C:\\Users\\me\\new rota.pdf"),
        },
    )
    assert response.status_code == 200
    [file] = CaseAttachment.objects.all()
    assert file.name == "new rota.pdf"  # no path from the reporter's machine
    page = response.content.decode()
    assert "new rota.pdf" in page and reverse("protection:attachment", args=[file.pk]) not in page


def test_a_reply_with_an_empty_file_changes_nothing(reporter):
    report, _ = file_report(reporter)
    with pytest.raises(Exception) as refused:
        services.message_from_reporter(
            report=report, text="See attached.", author=reporter, attachment=upload(b"")
        )
    assert "empty" in str(refused.value)
    assert report.entries.count() == 1 and not CaseAttachment.objects.exists()


@pytest.mark.parametrize(
    "given,kept",
    [
        ("../../etc/passwd", "passwd"),
        ('a"b<c>.pdf', "abc.pdf"),
        ("\x00\x01", "attachment"),
        ("x" * 300, "x" * 200),
    ],
)
def test_file_names_are_made_safe(given, kept):
    assert safe_name(given) == kept
