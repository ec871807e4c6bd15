"""The Celery application: every clock in the portal runs here.

Tasks acknowledge late and are rejected (requeued) when the worker dies, so a worker killed
mid-task loses nothing; every task is therefore written to be idempotent. Beat runs one
schedule, declared here in code; run exactly one beat per deployment.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalportal.settings")

app = Celery("escalportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _poll_the_embedded_broker_faster() -> None:
    """kombu's SQLAlchemy transport sleeps its polling interval (1 s) whenever a worker with
    prefetch 1 and late acks cannot take another message, so a burst of a thousand tasks drained
    at about one a second (bench/escalations.py). The interval is a transport attribute that its
    options cannot set (they all go to create_engine), so it is set on the class; polling a local
    SQLite file ten times a second costs next to nothing."""
    from kombu.transport.sqlalchemy import Transport

    Transport.polling_interval = 0.1


_poll_the_embedded_broker_faster()


@app.on_after_configure.connect
def install_beat_schedule(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    interval = float(settings.TIMERS_SWEEP_INTERVAL)
    # Publishes the sweep, or runs it in-process while the broker is down (apps/timers/beat.py).
    sender.conf.beat_scheduler = "apps.timers.beat:TimersScheduler"
    sender.conf.beat_schedule = {
        "sweep-due-deadlines": {
            "task": "timers.sweep_due_deadlines",
            "schedule": interval,
            # A sweep still queued when the next is due is superseded by it.
            "options": {"expires": interval * 2},
        },
        # The audit chain, verified every night; a break is told to compliance (apps.audit.chain).
        "verify-audit-chain": {
            "task": "audit.verify_chain_nightly",
            "schedule": crontab(hour=2, minute=30),
        },
        # Records past their retention period, removed unless held; leaves a tombstone event.
        "purge-expired-records": {
            "task": "audit.purge_expired",
            "schedule": crontab(hour=3, minute=15),
        },
        # Export files past their day removed; jobs whose worker died marked as not finished.
        "purge-expired-exports": {
            "task": "exports.purge_expired",
            "schedule": crontab(minute=20),
        },
        # Re-queues messages whose task was lost and beats the delivery heartbeat (/healthz).
        "retry-pending-notifications": {
            "task": "notifications.retry_pending",
            "schedule": float(settings.NOTIFICATIONS_SWEEP_INTERVAL),
            "options": {"expires": float(settings.NOTIFICATIONS_SWEEP_INTERVAL) * 2},
        },
    }
