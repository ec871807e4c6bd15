"""The timer guarantees of DESIGN.md, against real Celery worker and beat processes.

Default pass: SQLite (WAL) test database and kombu's SQLAlchemy broker on a SQLite file, as
``make run``. ``TEST_DATABASE=postgres``: throwaway PostgreSQL and Redis servers. Deadlines
are created by this process (their ETA tasks are queued on commit to the cluster's broker);
the workers fire them and the probe handler leaves one ``ProbeHit`` per committed firing.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.timers.models import Deadline, SweepHeartbeat
from apps.timers.services import deadline_cancel, deadline_reschedule, deadline_schedule
from apps.timers.tasks import fire_deadline
from tests.integration.conftest import hits_per_deadline, pending, sleep_until, wait_until
from tests.probe.models import ProbeHit

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]


def probe(lead: float, **payload) -> Deadline:
    return deadline_schedule(kind="probe", due_at=timezone.now() + timedelta(seconds=lead), payload=payload)


def swept_since(moment) -> bool:
    return SweepHeartbeat.objects.filter(name="sweep", last_run_at__gt=moment).exists()


FIRED_BY_TASK = re.compile(r"Task timers\.fire_deadline\[[^\]]+\] succeeded in \S+: 'fired'")
FIRED_BY_SWEEP = re.compile(r"Task timers\.sweep_due_deadlines\[[^\]]+\] succeeded in \S+: \{'fired': (\d+)")


def firings_in_logs(processes) -> tuple[int, int]:
    """(fired by an ETA task, fired by a sweep), counted from the workers' task results."""
    logs = [p.log() for p in processes]
    by_task = sum(len(FIRED_BY_TASK.findall(log)) for log in logs)
    by_sweep = sum(int(n) for log in logs for n in FIRED_BY_SWEEP.findall(log))
    return by_task, by_sweep


def test_eta_tasks_duplicates_and_the_sweep_fire_each_deadline_exactly_once(
    celery_cluster, celery_broker_url
):
    """200 deadlines due at the same moment, each reached by its ETA task, a duplicate ETA copy,
    (some) an early copy (NOT_DUE, sent back for later) and the beat's sweep, on two workers."""
    cluster = celery_cluster()
    workers = cluster.start(workers=2, beat=True)

    count = 200
    # Every copy must be on the broker before the deadlines come due; the SQLite broker
    # commits each message to disk, so it gets more time.
    lead = 4 if celery_broker_url.startswith("redis") else 12
    due_at = timezone.now() + timedelta(seconds=lead)
    with transaction.atomic():
        # A handler that takes a little while keeps the sweep's batch and the ETA tasks
        # contending for the same rows instead of one of them finishing everything at once.
        deadlines = [
            deadline_schedule(kind="probe", due_at=due_at, payload={"hold_seconds": 0.01})
            for _ in range(count)
        ]
        for deadline in deadlines:  # duplicate ETA copies; delivered at due_at, after the commit
            fire_deadline.apply_async((deadline.pk, deadline.token), eta=deadline.due_at)
    # Committed: the 200 ETA tasks of deadline_schedule are queued now; then early copies of
    # one in four (each is NOT_DUE on arrival and sends itself back for the due time).
    for deadline in deadlines[::4]:
        fire_deadline.apply_async((deadline.pk, deadline.token))
    queued_before_due = (due_at - timezone.now()).total_seconds()
    ids = [d.pk for d in deadlines]

    wait_until(lambda: pending(ids) == 0, timeout=120, what=f"{count} deadlines to fire")
    time.sleep(3)  # let the remaining copies arrive and find their deadline fired

    counts = hits_per_deadline(ids)
    assert sorted(set(counts.values())) == [1], {pk: n for pk, n in counts.items() if n != 1}
    assert Deadline.objects.filter(pk__in=ids, fired_at__isnull=False).count() == count
    # Never early, by the database's clock.
    assert not ProbeHit.objects.filter(deadline_id__in=ids, fired_at__lt=due_at).exists()
    # Both workers contended for the deadlines (which one wins a given row is up to timing:
    # on SQLite one sweep batch can take all 200 while the other worker's copies find them
    # fired), and the workers' own accounts add up to one firing each.
    pids = set(ProbeHit.objects.filter(deadline_id__in=ids).values_list("worker_pid", flat=True))
    assert pids <= {w.pid for w in workers}
    assert all("Task timers.fire_deadline[" in w.log() for w in workers), cluster.tails()
    by_task, by_sweep = firings_in_logs(workers)
    assert by_task + by_sweep == count, (by_task, by_sweep, queued_before_due)
    assert all(w.alive() for w in workers), cluster.tails()
    print(
        f"fired by ETA task {by_task}, by sweep {by_sweep}; all copies queued {queued_before_due:.1f}s before due"
    )


def test_a_worker_killed_mid_handler_loses_nothing(celery_cluster, tmp_path):
    """SIGKILL the worker while the handler holds the firing transaction open: the firing rolls
    back, and the sweep on a new worker fires the deadline, once."""
    marker = tmp_path / "handler-started"
    cluster = celery_cluster()
    (victim,) = cluster.start(workers=1, beat=True)

    deadline = probe(1, hold_seconds=120, hold_once=True, marker_file=str(marker))
    wait_until(marker.exists, timeout=60, what="the handler to start")
    pids = [int(line) for line in marker.read_text().split()]
    assert pids == [victim.pid]
    time.sleep(0.5)  # well inside the handler's transaction
    victim.kill()
    assert victim.popen.returncode == -signal.SIGKILL

    deadline.refresh_from_db()
    assert deadline.fired_at is None and deadline.attempts == 0  # nothing of the firing survived
    assert not ProbeHit.objects.filter(deadline_id=deadline.pk).exists()

    rescuer = cluster.worker()
    waited = wait_until(lambda: pending([deadline.pk]) == 0, timeout=60, what="the deadline to fire")
    time.sleep(2)
    hits = list(ProbeHit.objects.filter(deadline_id=deadline.pk))
    assert len(hits) == 1 and hits[0].worker_pid == rescuer.pid
    deadline.refresh_from_db()
    assert deadline.fired_at is not None and deadline.attempts == 0
    assert waited < 30


def test_a_cancelled_deadline_never_fires(celery_cluster):
    cluster = celery_cluster()
    (worker,) = cluster.start(workers=1, beat=True)

    deadline = probe(1.5)  # committed: its ETA task is on the broker
    assert deadline_cancel(deadline=deadline)
    sleep_until(deadline.due_at + timedelta(seconds=2))
    wait_until(lambda: swept_since(deadline.due_at + timedelta(seconds=1)), timeout=20, what="a sweep")
    # The ETA task was delivered and left (stale); the sweeps found nothing to fire.
    wait_until(lambda: "'stale'" in worker.log(), timeout=20, what="the stale ETA task")

    deadline.refresh_from_db()
    assert deadline.fired_at is None and deadline.cancelled_at is not None
    assert not ProbeHit.objects.filter(deadline_id=deadline.pk).exists()


def test_a_rescheduled_deadline_fires_once_at_its_new_time(celery_cluster):
    cluster = celery_cluster()
    (worker,) = cluster.start(workers=1, beat=True)

    deadline = probe(1.5)
    old_due = deadline.due_at
    new_due = timezone.now() + timedelta(seconds=6)
    assert deadline_reschedule(deadline=deadline, due_at=new_due)
    assert deadline.token == 2

    sleep_until(old_due + timedelta(seconds=2))
    wait_until(lambda: swept_since(old_due + timedelta(seconds=1)), timeout=20, what="a sweep")
    wait_until(lambda: "'stale'" in worker.log(), timeout=20, what="the old ETA task, stale")
    assert not ProbeHit.objects.filter(deadline_id=deadline.pk).exists()

    wait_until(lambda: pending([deadline.pk]) == 0, timeout=30, what="the deadline to fire")
    time.sleep(2)
    hits = list(ProbeHit.objects.filter(deadline_id=deadline.pk))
    assert len(hits) == 1
    assert hits[0].due_at == new_due and hits[0].fired_at >= new_due


def test_a_failing_handler_is_retried_with_backoff_and_fires_once(celery_cluster):
    cluster = celery_cluster()
    cluster.start(workers=1, beat=True)

    deadline = probe(0.5, fail_times=2)
    wait_until(lambda: pending([deadline.pk]) == 0, timeout=60, what="the deadline to fire")
    time.sleep(2)

    deadline.refresh_from_db()
    assert deadline.attempts == 2
    assert "probe failing on purpose (attempt 2)" in deadline.last_error
    hits = list(ProbeHit.objects.filter(deadline_id=deadline.pk))
    assert len(hits) == 1
    # Backoff: 5 s after the first failure, 10 s after the second.
    late = (hits[0].fired_at - deadline.due_at).total_seconds()
    assert 15 <= late < 30, late
