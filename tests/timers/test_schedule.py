"""Scheduling, cancelling and rescheduling deadlines (no broker: ETA tasks are captured)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.timers.models import Deadline
from apps.timers.registry import UnknownDeadlineKind
from apps.timers.services import (
    deadline_cancel,
    deadline_reschedule,
    deadline_schedule,
    deadlines_cancel_for,
)

pytestmark = pytest.mark.django_db


def schedule(seconds: float = 10, **kwargs) -> Deadline:
    return deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=seconds), **kwargs)


def test_it_queues_an_eta_task_on_commit_only(django_capture_on_commit_callbacks):
    with mock.patch("apps.timers.tasks.fire_deadline.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            deadline = schedule(5)
        apply_async.assert_not_called()  # nothing leaves before the transaction commits
        for callback in callbacks:
            callback()
    apply_async.assert_called_once_with((deadline.pk, 1), eta=deadline.due_at)


def test_it_leaves_far_deadlines_to_the_sweep(settings, django_capture_on_commit_callbacks):
    settings.TIMERS_ETA_HORIZON = 600
    with django_capture_on_commit_callbacks() as callbacks:
        schedule(3600)
    assert callbacks == []


def test_by_default_only_deadlines_due_within_seconds_get_an_eta_task(django_capture_on_commit_callbacks):
    """The sweeper keeps the clock; an ETA task is the second way only for what is due soon."""
    with django_capture_on_commit_callbacks() as callbacks:
        schedule(5)
        schedule(60)
    assert len(callbacks) == 1


def test_it_refuses_an_unknown_kind():
    with pytest.raises(UnknownDeadlineKind):
        deadline_schedule(kind="no-such-kind", due_at=timezone.now())
    assert not Deadline.objects.exists()


def test_it_survives_a_broker_that_is_down(django_capture_on_commit_callbacks):
    with mock.patch("apps.timers.tasks.fire_deadline.apply_async", side_effect=ConnectionError):
        with django_capture_on_commit_callbacks(execute=True):
            deadline = schedule(1)
    assert Deadline.objects.get(pk=deadline.pk).fired_at is None  # still pending for the sweep


def test_cancel_bumps_the_token_and_is_idempotent():
    deadline = schedule()
    assert deadline_cancel(deadline=deadline) is True
    assert deadline.cancelled_at is not None and deadline.token == 2
    assert deadline_cancel(deadline=deadline) is False
    assert deadline.token == 2


def test_cancel_for_subject_cancels_only_that_subject_and_kind(person_factory):
    alice, bob = person_factory(), person_factory()
    mine = schedule(subject=alice)
    theirs = schedule(subject=bob)
    assert deadlines_cancel_for(subject=alice, kind="probe") == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.cancelled_at and not theirs.cancelled_at
    assert (mine.subject_type, mine.subject_id) == ("contacts.person", str(alice.pk))


def test_reschedule_moves_it_and_queues_the_new_token(django_capture_on_commit_callbacks):
    deadline = schedule(60)
    new_due = timezone.now() + timedelta(seconds=5)
    with mock.patch("apps.timers.tasks.fire_deadline.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            assert deadline_reschedule(deadline=deadline, due_at=new_due) is True
    assert deadline.due_at == new_due == deadline.next_attempt_at
    apply_async.assert_called_once_with((deadline.pk, 2), eta=new_due)


def test_a_fired_deadline_cannot_be_rescheduled_or_cancelled():
    deadline = schedule(-1)
    Deadline.objects.filter(pk=deadline.pk).update(fired_at=timezone.now())
    assert deadline_reschedule(deadline=deadline, due_at=timezone.now()) is False
    assert deadline_cancel(deadline=deadline) is False
