"""notifications_for_subject(): what the escalation timeline shows, in constant queries."""

from __future__ import annotations

import pytest

from apps.notifications.models import DeliveryAttempt
from apps.notifications.services import notifications_for_subject
from tests.notifications.helpers import probe

pytestmark = pytest.mark.django_db


def about_escalation(count: int, *, subject_id: str = "17") -> list:
    notes = []
    for n in range(count):
        note = probe(("email", f"p{n}@example.com"), event_key=f"e:{subject_id}:{n}", subject_id=subject_id)
        DeliveryAttempt.objects.create(
            notification=note, channel="email", address=f"p{n}@example.com", ok=False, error="timed out"
        )
        DeliveryAttempt.objects.create(notification=note, channel="phone", address="+447700900123", ok=True)
        notes.append(note)
    return notes


def test_it_lists_one_subjects_notifications_oldest_first_with_their_attempts():
    notes = about_escalation(3)
    about_escalation(2, subject_id="18")
    listed = notifications_for_subject("escalations.escalation", "17")
    assert [n.pk for n in listed] == [n.pk for n in notes]
    assert [str(a) for a in listed[0].delivery_attempts.all()] == [
        "email to p0@example.com failed: timed out",
        "SMS to +447700900123 sent",
    ]


def test_nothing_about_another_subject_type():
    about_escalation(1)
    assert notifications_for_subject("approvals.approvalrequest", "17") == []


@pytest.mark.parametrize("count", [2, 20])
def test_it_takes_two_queries_however_many_there_are(count, django_assert_num_queries):
    about_escalation(count)
    with django_assert_num_queries(2):
        lines = [
            (note.summary(), [str(a) for a in note.delivery_attempts.all()])
            for note in notifications_for_subject("escalations.escalation", "17")
        ]
    assert len(lines) == count
