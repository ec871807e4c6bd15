"""A notification is never sent twice for the same event and recipient: one outbox row per
(event_key, recipient key), whatever the contact methods, however often notify() is called."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.notifications.models import Notification
from tests.notifications.helpers import probe

pytestmark = pytest.mark.django_db

EMAIL = ("email", "grace@example.com")


def test_the_same_event_and_recipient_twice_is_one_row(django_capture_on_commit_callbacks, queued):
    with django_capture_on_commit_callbacks(execute=True):
        first = probe(EMAIL)
        second = probe(EMAIL)
    assert first is not None and second is None
    assert Notification.objects.count() == 1
    assert queued == [(first.pk, None)]


def test_other_contact_methods_do_not_make_it_a_new_notification():
    probe(EMAIL)
    assert probe(("phone", "+447700900123")) is None
    assert Notification.objects.get().methods == [list(EMAIL)]


def test_another_recipient_or_another_event_is_another_notification():
    probe(EMAIL, key="person:1", event_key="escalation:17:event:1")
    probe(EMAIL, key="person:2", event_key="escalation:17:event:1")
    probe(EMAIL, key="person:1", event_key="escalation:17:event:2")
    assert Notification.objects.count() == 3


def test_a_duplicate_does_not_spoil_the_callers_transaction():
    # On PostgreSQL a failed INSERT aborts the transaction unless it ran in a savepoint.
    with transaction.atomic():
        probe(EMAIL)
        probe(EMAIL)
        probe(EMAIL, key="person:2")
    assert Notification.objects.count() == 2


def test_the_database_refuses_a_second_row_even_behind_notifys_back():
    note = probe(EMAIL)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            event_key=note.event_key, recipient_key=note.recipient_key, subject="x", body="y"
        )
