"""What one firing costs in statements (issue 14, item 4): the ETA path and the sweep share it.

Counted with Django's own query log, so each number is the round trips this process makes
(BEGIN and COMMIT are not logged; the savepoints of the test's own transaction are).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.timers.services import Outcome, deadline_fire, deadline_schedule, sweep_due_deadlines

pytestmark = pytest.mark.django_db


def due():
    return deadline_schedule(kind="probe", due_at=timezone.now() - timedelta(seconds=1))


def verbs(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries]


def test_a_stale_eta_task_leaves_after_one_read_without_a_transaction():
    deadline = due()
    assert deadline_fire(deadline_id=deadline.pk).outcome == Outcome.FIRED  # the sweep got there first
    with CaptureQueriesContext(connection) as ctx:
        assert deadline_fire(deadline_id=deadline.pk, token=deadline.token).outcome == Outcome.STALE
    # No SAVEPOINT: inside the test's transaction, opening one would show as a savepoint.
    assert verbs(ctx) == ["SELECT"]
    assert "FOR UPDATE" not in ctx.captured_queries[0]["sql"]


def test_an_early_eta_task_is_sent_back_after_one_read():
    deadline = deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(minutes=1))
    with CaptureQueriesContext(connection) as ctx:
        result = deadline_fire(deadline_id=deadline.pk, token=deadline.token)
    assert result.outcome == Outcome.NOT_DUE and 50 < result.seconds_early <= 60.01
    assert verbs(ctx) == ["SELECT"]


def test_firing_is_a_lock_the_handler_and_one_update_with_no_savepoint_around_the_handler():
    deadline = due()
    with CaptureQueriesContext(connection) as ctx:
        assert deadline_fire(deadline_id=deadline.pk, token=deadline.token).outcome == Outcome.FIRED
    # read, (the test's savepoint), lock, the probe's INSERT, mark fired, (release)
    assert verbs(ctx) == ["SELECT", "SAVEPOINT", "SELECT", "INSERT", "UPDATE", "RELEASE"]


def sweep_statements(n: int) -> list[str]:
    for _ in range(n):
        due()
    with CaptureQueriesContext(connection) as ctx:
        assert sweep_due_deadlines().fired == n
    return verbs(ctx)


def test_the_sweep_fires_each_without_the_read_an_eta_task_makes():
    sweep_due_deadlines()  # the heartbeat row exists from now on
    three, six = sweep_statements(3), sweep_statements(6)
    # Each more firing: (the test's savepoint), lock, the probe's INSERT, mark fired, (release).
    assert len(six) - len(three) == 3 * 5
    assert six.count("SELECT") - three.count("SELECT") == 3
