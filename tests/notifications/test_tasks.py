"""The Celery tasks are thin, acks_late and idempotent; a due retry queues the task again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.notifications.tasks import deliver_notification, retry_pending
from escalportal.celery import app
from tests.notifications.helpers import make_due, probe

pytestmark = pytest.mark.django_db


def test_the_task_names_and_late_acknowledgement():
    assert (deliver_notification.name, deliver_notification.acks_late) == ("notifications.deliver", True)
    assert (retry_pending.name, retry_pending.acks_late) == ("notifications.retry_pending", True)
    assert app.conf.beat_schedule["retry-pending-notifications"]["task"] == "notifications.retry_pending"


def test_a_due_retry_queues_the_task_again_with_a_countdown(webhook_server, queued):
    webhook_server.fail_next(2, status=500)
    note = probe(("chat_webhook", webhook_server.url("/hook")))

    assert deliver_notification(note.pk) == "retry"
    assert queued == [(note.pk, 30.0)]

    make_due(note)
    deliver_notification(note.pk)
    assert queued[-1] == (note.pk, 120.0)

    make_due(note)
    assert deliver_notification(note.pk) == "sent"
    assert len(queued) == 2


def test_a_task_that_arrives_a_little_early_comes_back(webhook_server, queued):
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    make_due(note, ago=-timedelta(seconds=2))  # due in two seconds
    assert deliver_notification(note.pk) == "not_due"
    [(pk, countdown)] = queued
    assert pk == note.pk and 1 <= countdown <= 2
    assert webhook_server.requests == []


def test_in_eager_mode_the_task_does_not_call_itself(webhook_server, queued):
    webhook_server.fail_next(1, status=500)
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    assert deliver_notification.apply(args=(note.pk,)).get() == "retry"
    assert queued == []  # the retry sweep takes it when it is due
