import pytest
from django.utils import timezone

from apps.timers.services import sweep_due_deadlines
from tests.factories import SweepHeartbeatFactory

pytestmark = pytest.mark.django_db


def test_it_is_healthy_after_a_recent_sweep(client):
    from apps.notifications.services import notifications_retry_pending

    sweep_due_deadlines()
    notifications_retry_pending()  # the delivery worker's heartbeat
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {
        "database": "ok", "broker": "ok", "sweep": "ok", "outbox": "ok", "delivery": "ok"
    }


def test_it_fails_when_the_sweep_never_ran(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["sweep"] == "never ran"


def test_it_fails_when_the_sweep_is_older_than_three_intervals(client, settings):
    settings.TIMERS_SWEEP_INTERVAL = 2
    SweepHeartbeatFactory(name="sweep", last_run_at=timezone.now() - timezone.timedelta(seconds=7))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["sweep"].startswith("stale")


def test_it_fails_when_the_broker_is_unreachable(client, settings):
    from escalportal.celery import app

    sweep_due_deadlines()
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")


def test_it_fails_when_a_message_has_been_due_too_long(client, settings):
    """A stopped delivery worker (or a hung pool) must page someone: nobody is being told."""
    from datetime import timedelta

    from apps.notifications.models import Notification
    from apps.notifications.services import notifications_retry_pending
    from tests.factories.notifications import NotificationFactory

    sweep_due_deadlines()
    notifications_retry_pending()
    settings.NOTIFICATIONS_STUCK_AFTER = 300
    note = NotificationFactory()
    Notification.objects.filter(pk=note.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=60))
    assert client.get("/healthz").json()["checks"]["outbox"] == "ok"  # due a minute: the sweep will come
    Notification.objects.filter(pk=note.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=400))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["outbox"].startswith("stuck: a message due 4")
    Notification.objects.filter(pk=note.pk).update(status=Notification.Status.SENT)
    assert client.get("/healthz").status_code == 200

