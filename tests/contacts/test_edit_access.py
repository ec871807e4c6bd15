"""Only governance admins edit people, backups, rotations and overrides or import contacts;
readers see no edit controls."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from apps.accounts.roles import Role
from apps.contacts.models import BackupAssignment, Person, Rotation
from apps.contacts.services import rotation_save
from tests.factories import PersonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


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
