"""Firing: exactly once, guarded by the token, retried on failure, never early."""

import time
from datetime import timedelta

import pytest
from django.db.models.functions import Now
from django.utils import timezone

from apps.timers.models import Deadline, SweepHeartbeat
from apps.timers.services import (
    Outcome,
    deadline_cancel,
    deadline_fire,
    deadline_reschedule,
    deadline_schedule,
    sweep_due_deadlines,
)
from apps.timers.tasks import fire_deadline
from tests.probe.models import ProbeHit

pytestmark = pytest.mark.django_db


def due(seconds_ago: float = 1, **payload) -> Deadline:
    return deadline_schedule(
        kind="probe", due_at=timezone.now() - timedelta(seconds=seconds_ago), payload=payload
    )


def test_it_fires_once_however_often_it_is_delivered():
    deadline = due()
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.FIRED
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.STALE
    assert sweep_due_deadlines().fired == 0
    assert ProbeHit.objects.filter(deadline_id=deadline.pk).count() == 1
    deadline.refresh_from_db()
    assert deadline.fired_at is not None and deadline.status == "fired"


def test_the_sweep_fires_what_no_task_reached():
    deadlines = [due() for _ in range(5)]
    result = sweep_due_deadlines(batch_size=2)
    assert (result.fired, result.batches) == (5, 3)
    assert ProbeHit.objects.count() == 5
    assert deadline_fire(deadline_id=deadlines[0].pk, token=1).outcome == Outcome.STALE


def test_a_sweep_busy_with_a_burst_keeps_beating_and_stops_at_its_budget(settings, monkeypatch):
    """/healthz reads the heartbeat: a sweep working through slow handlers must beat while it
    works (every half interval), not only when it ends, and hand over to the next sweep when
    its time budget is spent."""
    from apps.timers import services

    beats = []
    beat = services._beat_heartbeat
    monkeypatch.setattr(services, "_beat_heartbeat", lambda *a: (beats.append(a), beat(*a)))
    settings.TIMERS_SWEEP_INTERVAL = 1
    for _ in range(5):
        due(hold_seconds=0.5)
    first = sweep_due_deadlines(budget_seconds=1.2)
    assert first.fired == 3  # half a second each: the budget is spent after the third
    assert len(beats) >= 3 and sum(fired for _, fired, _ in beats) == 3
    assert SweepHeartbeat.objects.get(name="sweep").last_run_at is not None
    assert sweep_due_deadlines().fired == 2
    assert ProbeHit.objects.count() == 5


def test_it_never_fires_early():
    deadline = deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(minutes=5))
    result = deadline_fire(deadline_id=deadline.pk, token=1)
    assert result.outcome == Outcome.NOT_DUE
    # The database clock decides; SQLite's reads in whole milliseconds, so it may
    # trail Python's by up to one.
    assert 290 < result.seconds_early < 300.01
    assert sweep_due_deadlines().fired == 0
    assert not ProbeHit.objects.exists()


def test_a_stale_token_does_nothing():
    deadline = due()
    deadline_reschedule(deadline=deadline, due_at=timezone.now() - timedelta(seconds=1))
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.STALE
    assert deadline_fire(deadline_id=deadline.pk, token=2).outcome == Outcome.FIRED


def test_a_cancelled_deadline_never_fires():
    deadline = due()
    deadline_cancel(deadline=deadline)
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.STALE
    assert deadline_fire(deadline_id=deadline.pk, token=2).outcome == Outcome.STALE
    assert sweep_due_deadlines().fired == 0
    assert not ProbeHit.objects.exists()


def test_a_failing_handler_rolls_back_its_writes_and_retries_with_backoff():
    deadline = due(fail_times=2)
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.FAILED
    deadline.refresh_from_db()
    assert deadline.attempts == 1 and "failing on purpose" in deadline.last_error
    assert deadline.fired_at is None
    assert deadline.next_attempt_at > timezone.now() + timedelta(seconds=3)
    # Not due again until the backoff has passed.
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.NOT_DUE
    Deadline.objects.filter(pk=deadline.pk).update(next_attempt_at=Now())  # the database clock decides "due"
    assert deadline_fire(deadline_id=deadline.pk, token=1).outcome == Outcome.FAILED
    Deadline.objects.filter(pk=deadline.pk).update(next_attempt_at=Now())  # the database clock decides "due"
    assert sweep_due_deadlines().fired == 1
    assert ProbeHit.objects.filter(deadline_id=deadline.pk).count() == 1


def test_the_sweep_records_its_heartbeat():
    sweep_due_deadlines()
    beat = SweepHeartbeat.objects.get(name="sweep")
    assert abs((timezone.now() - beat.last_run_at).total_seconds()) < 5


def test_the_task_is_thin_and_idempotent():
    deadline = due()
    assert fire_deadline.apply(args=(deadline.pk, 1)).get() == "fired"
    assert fire_deadline.apply(args=(deadline.pk, 1)).get() == "stale"
    assert ProbeHit.objects.count() == 1


def test_a_handler_may_cancel_its_kind_and_schedule_the_next_without_cancelling_itself(user_factory):
    subject = user_factory()
    first = deadline_schedule(
        kind="probe",
        subject=subject,
        due_at=timezone.now() - timedelta(seconds=1),
        payload={"repeat_in_seconds": 60},
    )
    assert deadline_fire(deadline_id=first.pk, token=1).outcome == Outcome.FIRED
    first.refresh_from_db()
    assert first.fired_at is not None and first.cancelled_at is None
    follow_up = Deadline.objects.exclude(pk=first.pk).get()
    assert follow_up.subject_id == str(subject.pk) and follow_up.status == "pending"


def lateness(deadline: Deadline) -> float:
    hit = ProbeHit.objects.get(deadline_id=deadline.pk)
    return (hit.fired_at - deadline.due_at).total_seconds()


def test_a_sweep_keeping_the_clock_fires_each_deadline_at_its_time():
    """The sweeper is the clock: it sleeps until the next deadline rather than an interval."""
    late = due(seconds_ago=1)
    soon = deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=0.3))
    later = deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=0.7))
    result = sweep_due_deadlines(budget_seconds=1.2, keep_the_clock=True)
    assert result.fired == 3
    assert 0 <= lateness(soon) < 0.35 and 0 <= lateness(later) < 0.35  # the next was 0.4 s after
    assert ProbeHit.objects.filter(deadline_id=late.pk).exists()


def test_a_sweep_keeping_the_clock_stays_no_longer_than_its_budget_and_not_for_nothing():
    soon = deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=0.3))
    far = deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=5))
    started = time.monotonic()
    assert sweep_due_deadlines(budget_seconds=2.5, keep_the_clock=True).fired == 1
    # Left once nothing more was due within its budget, not at the budget's end (room for a slow,
    # busy machine between the two).
    assert 0.3 <= time.monotonic() - started < 1.5
    assert ProbeHit.objects.filter(deadline_id=soon.pk).exists()
    assert not ProbeHit.objects.filter(deadline_id=far.pk).exists()


def test_a_sweep_not_keeping_the_clock_does_not_linger():
    due(seconds_ago=0)
    deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=1.2))
    started = time.monotonic()
    assert sweep_due_deadlines(budget_seconds=2.5).fired == 1
    assert time.monotonic() - started < 1.0  # did not wait for the next one
