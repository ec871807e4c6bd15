"""/healthz sees delivery (issue 14, item 2): the retry sweep and the deliveries beat a
heartbeat; a stopped delivery worker (no beat for three sweep intervals, at least 30 s) fails
the check even while nothing is due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models.functions import Now

from apps.notifications import services
from apps.notifications.models import DeliveryHeartbeat
from apps.notifications.services import notifications_retry_pending
from apps.notifications.tasks import deliver_notification
from apps.timers.services import sweep_due_deadlines
from tests.notifications.helpers import probe

pytestmark = pytest.mark.django_db


def delivery_check(client) -> tuple[int, str]:
    response = client.get("/healthz")
    return response.status_code, response.json()["checks"]["delivery"]


def age_heartbeat(seconds: float) -> None:
    DeliveryHeartbeat.objects.filter(name="delivery").update(last_run_at=Now() - timedelta(seconds=seconds))


def test_it_fails_until_a_delivery_worker_has_run(client):
    sweep_due_deadlines()
    assert delivery_check(client) == (503, "never ran")
    notifications_retry_pending()
    assert delivery_check(client) == (200, "ok")


def test_a_stopped_delivery_worker_fails_it_after_three_sweep_intervals(client, settings):
    settings.NOTIFICATIONS_SWEEP_INTERVAL = 20
    sweep_due_deadlines()
    notifications_retry_pending()
    age_heartbeat(55)
    assert delivery_check(client) == (200, "ok")
    age_heartbeat(65)
    status, text = delivery_check(client)
    assert status == 503 and text.startswith("stale: no delivery worker took a task for 6")


def test_the_stale_limit_is_never_under_thirty_seconds(client, settings):
    settings.NOTIFICATIONS_SWEEP_INTERVAL = 1
    sweep_due_deadlines()
    notifications_retry_pending()
    age_heartbeat(25)
    assert delivery_check(client) == (200, "ok")
    age_heartbeat(35)
    assert delivery_check(client)[0] == 503


def test_a_delivery_beats_it_too(client, smtp_server, monkeypatch):
    """A worker working through a burst reaches the sweep's task late; its deliveries count."""
    monkeypatch.setattr(services, "_last_beat", 0.0)
    sweep_due_deadlines()
    note = probe(("email", "grace@example.com"))
    deliver_notification.apply(args=(note.pk,))
    assert delivery_check(client) == (200, "ok")
    assert DeliveryHeartbeat.objects.get().last_requeued == 0


def test_the_sweep_records_what_it_re_queued(queued):
    note = probe(("email", "grace@example.com"))
    from tests.notifications.helpers import make_due

    make_due(note, ago=timedelta(minutes=5))
    assert notifications_retry_pending() == 1
    assert DeliveryHeartbeat.objects.get(name="delivery").last_requeued == 1
