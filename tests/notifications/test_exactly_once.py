"""Exactly once per row: a worker claims a notification before sending, so a duplicate task,
a second worker or the retry sweep can never send it again or alongside."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection

from apps.notifications import services
from apps.notifications.models import DeliveryAttempt, Notification
from apps.notifications.services import Outcome, notification_deliver
from apps.notifications.tasks import deliver_notification
from tests.notifications.helpers import make_due, probe

EMAIL = ("email", "grace@example.com")


@pytest.mark.django_db
def test_a_duplicate_deliver_after_sent_sends_nothing_more(webhook_server, queued):
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    assert deliver_notification(note.pk) == "sent"

    make_due(note)  # even a row that looks due again
    assert deliver_notification(note.pk) == "stale"
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.STALE

    assert len(webhook_server.requests) == 1
    assert DeliveryAttempt.objects.filter(notification=note).count() == 1
    assert queued == []  # and nothing queued again


@pytest.mark.django_db
def test_a_row_another_worker_is_sending_is_left_alone(webhook_server):
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    services._claim(note.pk)  # another worker, mid-send

    result = notification_deliver(notification_id=note.pk)

    assert (result.outcome, result.retry_in) == (Outcome.NOT_DUE, None)  # its lease is minutes long
    assert webhook_server.requests == []


@pytest.mark.django_db
def test_a_worker_that_lost_its_claim_cannot_record_over_the_new_claimant(webhook_server):
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    slow = services._claim(note.pk)
    make_due(note)  # its lease ran out (say the worker hung) ...
    fresh = services._claim(note.pk)  # ... and another worker took the row over
    assert fresh.claim != slow.claim

    assert services._record(slow, None).outcome == Outcome.STALE
    note.refresh_from_db()
    assert note.status == "pending"  # still the new claimant's to record
    assert services._record(fresh, None).outcome == Outcome.SENT


@pytest.mark.django_db
def test_a_claim_whose_row_could_not_be_read_back_is_taken_up_again_by_its_claimant(webhook_server, monkeypatch):
    """The claim committed, then the database went away before the row was read back: the
    retry finds its own token and sends now, not once the lease (30 s) has run out."""
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    real_claim, calls = services._claim, []

    def claim_then_lose_the_connection(notification_id, *, token=None):
        calls.append(token)
        row = real_claim(notification_id, token=token)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return row

    monkeypatch.setattr(services, "_claim", claim_then_lose_the_connection)
    monkeypatch.setattr(services, "CLAIM_RETRY_DELAYS", (0.01,))

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    assert len(calls) == 2 and calls[0] == calls[1]  # the retry kept the claimant's token
    assert len(webhook_server.requests) == 1
    note.refresh_from_db()
    assert note.status == "sent"


@pytest.mark.django_db
def test_a_claimant_token_takes_its_own_lease_but_never_another_workers(webhook_server):
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    mine = services._claim(note.pk, token=41)
    assert mine is not None and mine.claim == 41
    assert services._claim(note.pk, token=41) is not None  # a retry of the same claim
    assert services._claim(note.pk, token=42) is None  # another worker: leased
    note.refresh_from_db()
    assert note.claim == 41


@pytest.mark.django_db
def test_a_missing_notification_is_stale():
    assert notification_deliver(notification_id=987654).outcome == Outcome.STALE


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_the_same_rows_send_each_once(webhook_server):
    """Eight threads (each its own database connection) deliver the same ten committed
    notifications at the same moment: every message reaches the webhook exactly once."""
    notes = [
        probe(("chat_webhook", webhook_server.url(f"/hook/{n}")), event_key=f"race:{n}") for n in range(10)
    ]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for note in notes:
                notification_deliver(notification_id=note.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(hit.path for hit in webhook_server.requests) == sorted(f"/hook/{n}" for n in range(10))
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert DeliveryAttempt.objects.count() == 10


@pytest.mark.django_db
def test_a_database_error_while_recording_a_send_retries_the_record_not_the_send(
    smtp_server, monkeypatch, caplog
):
    """The other side has the message; a failed write of that fact must not send it again."""
    from django.db import OperationalError

    monkeypatch.setattr(services, "RECORD_RETRY_DELAYS", (0.01, 0.01, 0.01))
    real, failures = services._record, []

    def flaky(note, error):
        if len(failures) < 2:
            failures.append(note.pk)
            raise OperationalError("server closed the connection unexpectedly")
        return real(note, error)

    monkeypatch.setattr(services, "_record", flaky)
    note = probe(("email", "grace@example.com"))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    smtp_server.wait_for(1)
    note.refresh_from_db()
    assert note.status == Notification.Status.SENT and len(failures) == 2
    assert len(smtp_server.messages) == 1
    assert "recording the outcome failed" in caplog.text
