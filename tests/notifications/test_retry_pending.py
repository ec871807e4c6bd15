"""The beat's retry sweep re-queues pending notifications whose task was lost: overdue by
more than the grace, never one waiting for its backoff, being sent, sent or failed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.notifications import services
from apps.notifications.models import Notification
from apps.notifications.services import Outcome, notification_deliver, notifications_retry_pending
from apps.notifications.tasks import retry_pending
from tests.notifications.helpers import make_due, probe

pytestmark = pytest.mark.django_db

EMAIL = ("email", "grace@example.com")
LONG_AGO = timedelta(minutes=5)


def note(n: int, **kwargs) -> Notification:
    return probe(EMAIL, event_key=f"event:{n}", **kwargs)


def test_it_re_queues_only_overdue_pending_rows(queued):
    lost = note(1)
    make_due(lost, ago=LONG_AGO)  # its task never came
    note(2)  # just queued: its task is on its way
    backing_off = note(3)
    make_due(backing_off, ago=-timedelta(seconds=30))
    sent = note(4)
    Notification.objects.filter(pk=sent.pk).update(status="sent")
    make_due(sent, ago=LONG_AGO)
    failed = note(5)
    Notification.objects.filter(pk=failed.pk).update(status="failed")
    make_due(failed, ago=LONG_AGO)
    probe(event_key="event:6")  # no methods: failed from the start

    assert notifications_retry_pending() == 1
    assert queued == [(lost.pk, None)]


def test_a_row_whose_worker_died_mid_send_is_picked_up_when_its_lease_runs_out(queued, webhook_server):
    row = probe(("chat_webhook", webhook_server.url("/hook")))
    services._claim(row.pk)  # the worker claimed it, then was killed before recording anything
    assert notifications_retry_pending() == 0  # leased: not yet

    make_due(row, ago=LONG_AGO)  # the lease has run out
    assert retry_pending() == 1
    assert queued == [(row.pk, None)]
    assert notification_deliver(notification_id=row.pk).outcome == Outcome.SENT


def test_the_most_overdue_go_first_up_to_the_limit(queued):
    rows = [note(n) for n in range(5)]
    for minutes, row in zip([3, 9, 5, 7, 1], rows, strict=True):
        make_due(row, ago=timedelta(minutes=minutes))
    assert notifications_retry_pending(limit=3) == 3
    assert [pk for pk, _ in queued] == [rows[1].pk, rows[3].pk, rows[2].pk]
