"""Beat runs the sweep itself when the broker does not take it (issue 14, item 3).

The broker here is a real Redis URL on a port nothing listens on; the real-outage version, with
worker and beat processes and Redis stopped under them, is
tests/integration/test_timers_broker_outage.py.
"""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.timers.beat import TimersScheduler
from apps.timers.models import Deadline, SweepHeartbeat
from apps.timers.services import deadline_schedule
from escalportal.celery import app
from tests.plugins.services import _use_broker
from tests.probe.models import ProbeHit
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scheduler(tmp_path):
    previous = app.conf.broker_url
    _use_broker(f"redis://127.0.0.1:{free_port()}/0")  # refused: nothing listens there
    try:
        yield TimersScheduler(app, schedule_filename=str(tmp_path / "beat-schedule"))
    finally:
        _use_broker(previous)


def test_beat_sweeps_itself_when_the_broker_is_down_and_publishes_nothing_meanwhile(scheduler, settings):
    settings.TIMERS_SWEEP_INTERVAL = 1  # beat's own sweep is bounded by one interval
    # Each handler schedules its next run inside the ETA horizon, which queues an ETA task on
    # commit: refused at once while beat sweeps, rather than after kombu's retries each.
    for n in range(10):
        deadline_schedule(
            kind="probe",
            subject=get_user_model().objects.create(username=f"subject{n}"),
            due_at=timezone.now() - timedelta(seconds=1),
            payload={"repeat_in_seconds": 30},
        )
    entry = scheduler.schedule["sweep-due-deadlines"]
    started = time.monotonic()
    scheduler.apply_entry(entry, producer=None)
    elapsed = time.monotonic() - started
    assert ProbeHit.objects.count() == 10
    assert Deadline.objects.filter(fired_at=None).count() == 10  # the next runs, for a later sweep
    assert SweepHeartbeat.objects.filter(name="sweep").exists()
    assert scheduler.outage_since is not None
    assert elapsed < 4, f"{elapsed:.1f}s: the handlers' publishes were tried against the dead broker"

    # Until the next probe, beat does not even try the broker (and, nothing being late, the
    # sweep does not linger for a burst).
    now = timezone.now()  # created directly: publishing its ETA task here would make it late
    Deadline.objects.create(kind="probe", due_at=now, next_attempt_at=now)
    started = time.monotonic()
    scheduler.apply_entry(entry, producer=None)
    assert time.monotonic() - started < 0.5
    assert ProbeHit.objects.count() == 11


def test_other_entries_still_fail_as_beat_always_did(scheduler, caplog):
    entry = scheduler.schedule["retry-pending-notifications"]
    scheduler.apply_entry(entry, producer=None)  # logged by celery, not raised
    assert scheduler.outage_since is None
    assert "Message Error" in caplog.text
