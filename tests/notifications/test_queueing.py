"""notify(): one outbox row, written and rendered in the caller's transaction, queued for
delivery only once that transaction commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.notifications.models import Notification
from apps.notifications.services import notify
from tests.notifications.helpers import probe, recipient

pytestmark = pytest.mark.django_db

EMAIL = ("email", "grace@example.com")
PHONE = ("phone", "+447700900123")


def test_the_row_is_written_in_the_callers_transaction_and_queued_on_commit(
    django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            note = probe(EMAIL, PHONE)
            assert Notification.objects.filter(pk=note.pk).exists()  # visible inside it
            assert queued == []  # but nothing is queued before the commit
    assert len(callbacks) == 1
    assert queued == [(note.pk, None)]


def test_a_rolled_back_change_leaves_no_row_and_queues_nothing(django_capture_on_commit_callbacks, queued):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            probe(EMAIL)
            raise RuntimeError("the change failed")
    assert callbacks == []
    assert queued == []
    assert not Notification.objects.exists()


def test_the_row_keeps_the_message_and_methods_as_they_were_at_the_event():
    note = probe(EMAIL, PHONE, title="Escalation 17 needs you", text="The payments API is down.")
    note.refresh_from_db()
    assert note.subject == "Escalation 17 needs you"
    assert note.body == (
        "Hello Grace Lindqvist,\n\nThe payments API is down.\n\nhttp://127.0.0.1:8000/escalations/17/\n"
    )
    assert note.methods == [list(EMAIL), list(PHONE)]
    assert (note.status, note.method_index, note.attempts) == ("pending", 0, 0)
    assert (note.subject_type, note.subject_id, note.template) == ("escalations.escalation", "17", "probe")
    assert (note.recipient_key, note.recipient_name) == ("person:1", "Grace Lindqvist")
    assert note.next_attempt_at is not None  # due at once, by the database's clock


def test_later_changes_to_the_context_do_not_change_the_message():
    context = {"title": "Escalation 17 is at level 1", "text": "Owner: Tomás", "number": 17}
    note = notify(event_key="e1", recipient=recipient(EMAIL), template="probe", context=context)
    context["title"] = "Escalation 17 is at level 2"
    note.refresh_from_db()
    assert note.subject == "Escalation 17 is at level 1"


def test_plain_text_is_not_html_escaped():
    note = probe(EMAIL, title="O'Brien & Sons <urgent>", text='"Quoted" & kept')
    assert note.subject == "O'Brien & Sons <urgent>"
    assert '"Quoted" & kept' in note.body


def test_a_multi_line_subject_becomes_one_line():
    note = probe(EMAIL, title="Escalation 17\n   needs   you")
    assert note.subject == "Escalation 17 needs you"


def test_a_recipient_with_no_methods_gets_a_failed_row_that_says_so(
    django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        note = probe()
    note.refresh_from_db()
    assert note.status == "failed"
    assert note.last_error == "no contact methods: nothing could be sent"
    assert note.summary() == "failed: no contact methods: nothing could be sent"
    assert queued == []


def test_blank_addresses_and_repeated_methods_are_left_out():
    note = probe(("email", "  "), EMAIL, PHONE, EMAIL)
    assert note.methods == [list(EMAIL), list(PHONE)]


def test_only_blank_addresses_is_no_methods():
    assert probe(("email", ""), ("phone", " ")).status == "failed"


def test_an_unknown_channel_is_the_callers_bug_and_fails_loudly():
    with pytest.raises(ValueError, match="unknown channel 'pager'"):
        probe(("pager", "1234"))
    assert not Notification.objects.exists()


def test_a_missing_template_fails_loudly():
    from django.template import TemplateDoesNotExist

    with pytest.raises(TemplateDoesNotExist):
        notify(event_key="e1", recipient=recipient(EMAIL), template="no_such_event", context={})
