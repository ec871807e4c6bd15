"""Clocks keep running while the broker is down (issue 14, item 3).

A real Redis of this test's own is stopped under a running worker and beat: beat cannot publish
the sweep, so it runs the sweep itself against the database. Deadlines due during the outage
fire during it, each exactly once, and once Redis is back on the same port the sweep goes
through the broker again. Runs on either database (the broker is Redis in both passes).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.timers.models import Deadline, SweepHeartbeat
from apps.timers.services import deadline_schedule
from tests import servers
from tests.integration.conftest import hits_per_deadline, pending, wait_until
from tests.plugins.services import _start_or_skip

pytestmark = [pytest.mark.worker, pytest.mark.timeout(300)]


@pytest.fixture
def own_redis(tmp_path):
    server = servers.RedisServer(tmp_path / "redis")
    _start_or_skip(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def celery_broker_url(own_redis) -> str:
    """The cluster's broker is a Redis this test may stop (not the session's shared one)."""
    return own_redis.url(db=0)


def schedule(leads: list[float]) -> list[Deadline]:
    now = timezone.now()
    with transaction.atomic():
        return [deadline_schedule(kind="probe", due_at=now + timedelta(seconds=s)) for s in leads]


def test_deadlines_due_while_redis_is_down_fire_during_the_outage_once_each(
    celery_cluster, own_redis, monkeypatch
):
    cluster = celery_cluster()
    worker = cluster.worker()
    beat = cluster.beat()

    # Their ETA tasks reach Redis (and the worker) before it stops; all come due during the outage.
    before = schedule([4 + 0.5 * i for i in range(20)])
    time.sleep(1.5)
    port = own_redis.port
    own_redis.stop()
    outage_started = timezone.now()
    # Scheduled during the outage: the ETA task cannot be queued, the request still succeeds.
    during = schedule([3, 5, 7])
    ids = [d.pk for d in before + during]

    waited = wait_until(lambda: pending(ids) == 0, timeout=60, what="deadlines due during the outage")
    assert own_redis.process is None, "Redis must still be down: they fired during the outage"
    assert SweepHeartbeat.objects.get(name="sweep").last_run_at > outage_started
    assert "beat sweeps itself" in beat.log()
    lateness = [
        (d.fired_at - d.due_at).total_seconds() for d in Deadline.objects.filter(pk__in=ids)
    ]
    assert max(lateness) < 5, f"fired {max(lateness):.1f}s late during the outage (waited {waited:.0f}s)"

    # Redis back on the same port: the sweep is published again, nothing fires twice.
    monkeypatch.setattr(servers, "free_port", lambda: port)
    own_redis.start()
    if not worker.alive():
        # kombu 5.7's Redis channel can crash the worker while it restores its unacked ETA
        # messages on a lost connection ("'NoneType' object has no attribute 'hostname'");
        # a process supervisor restarts it, as here. Beat, which this test is about, lives on.
        cluster.worker()
    wait_until(lambda: "the broker is back" in beat.log(), timeout=40, what="beat to publish again")
    after = schedule([2])
    wait_until(lambda: pending([after[0].pk]) == 0, timeout=60, what="a deadline after the outage")
    time.sleep(3)  # any ETA copy still coming finds its deadline fired
    assert set(hits_per_deadline([*ids, after[0].pk]).values()) == {1}
    assert beat.alive()
