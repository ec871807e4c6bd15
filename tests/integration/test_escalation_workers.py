"""One escalation driven end to end by a real Celery worker and beat (not eager mode): the
acknowledge clock runs out, the backup is called in and emailed, then level 2 is reached and
emailed, every message delivered by the worker to a real SMTP server.

Default pass: SQLite + the embedded broker; ``TEST_DATABASE=postgres``: PostgreSQL + Redis.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from apps.escalations.models import Escalation, Status, TimelineEvent
from apps.notifications.models import Notification
from tests.escalations.conftest import build_world, raise_one
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]
Kind = TimelineEvent.Kind


def test_a_real_worker_and_beat_drive_an_escalation_up_the_chain(celery_cluster, smtp_server):
    world = build_world(ack=timedelta(seconds=5))
    engineer, backup, manager = (world.person(u) for u in (world.engineer, world.backup, world.eng_manager))
    cluster = celery_cluster()
    cluster.env.update(EMAIL_HOST=smtp_server.host, EMAIL_PORT=str(smtp_server.port))
    cluster.start(workers=1, beat=True)

    esc = raise_one(world)  # committed: its ETA tasks and notification deliveries go to the broker

    def level() -> int:
        return Escalation.objects.get(pk=esc.pk).current_level

    wait_until(lambda: level() == 2, timeout=90, what="two missed acknowledgements to reach level 2")
    esc.refresh_from_db()
    assert esc.engaged == manager and esc.status == Status.OPEN  # level 2 is engaged; nobody has taken ownership
    kinds = list(esc.timeline.values_list("kind", flat=True))
    assert kinds == [
        Kind.RAISED,
        Kind.LEVEL_REACHED,
        Kind.ACK_MISSED,
        Kind.LEVEL_REACHED,
        Kind.ACK_MISSED,
        Kind.LEVEL_REACHED,
    ]

    wait_until(
        lambda: not Notification.objects.filter(status="pending").exists(),
        timeout=60,
        what="every notification to be delivered by the worker",
    )
    assert not Notification.objects.filter(status="failed").exists()
    sent = Notification.objects.count()
    to = [m["To"] for m in smtp_server.wait_for(sent, timeout=10)]
    for person in (engineer, backup, manager):
        assert person.email in to, (person.email, to)
    time.sleep(2)  # a duplicate delivery would have arrived by now
    assert len(smtp_server.messages) == sent  # each outbox row delivered exactly once
