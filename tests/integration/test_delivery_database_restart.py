"""A PostgreSQL restart while a worker delivers a burst (issue 14, items 6 and 7): nothing is
sent twice (an accepted send's record is retried, not the send), nothing is lost, and every
message is sent within 30 s of the database coming back (a database error while claiming is
retried in seconds and is not a failed contact method). PostgreSQL pass only: SQLite has no
server to restart."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import InterfaceError, OperationalError, connection, transaction

from apps.notifications.models import DeliveryAttempt, Notification
from tests.integration.conftest import wait_until
from tests.notifications.conftest import probe_template  # noqa: F401 - the probe template, autouse
from tests.notifications.helpers import probe
from tests.plugins.services import ON_POSTGRES

pytestmark = [
    pytest.mark.worker,
    pytest.mark.timeout(150),
    pytest.mark.skipif(not ON_POSTGRES, reason="a database server to restart (TEST_DATABASE=postgres)"),
]

COUNT = 150


def restart(server, down_for: float) -> None:
    """Stop PostgreSQL (fast mode: every connection is cut, open transactions roll back), wait,
    start it again. Not immediate mode: the test server runs with synchronous_commit off, so a
    crash would forget commits a production server keeps (a claim, then sent again)."""
    pg_ctl = str(server._bindir / "pg_ctl")
    server._run([pg_ctl, "stop", "--pgdata", str(server.data_dir), "--mode", "fast", "--wait"], timeout=60)
    time.sleep(down_for)
    server._pg_ctl_start()
    server._wait_ready()


def unsent(ids: list[int]) -> int:
    try:
        return Notification.objects.filter(pk__in=ids).exclude(status="sent").count()
    except (OperationalError, InterfaceError):
        connection.close()
        return -1


def test_a_database_restart_during_a_burst_sends_each_message_once_within_30_s(
    request, celery_cluster, smtp_server
):
    cluster = celery_cluster()
    cluster.env.update(
        EMAIL_HOST=smtp_server.host, EMAIL_PORT=str(smtp_server.port), NOTIFICATIONS_SWEEP_INTERVAL="1"
    )
    cluster.start(workers=2, beat=True)
    with transaction.atomic():
        notes = [probe(("email", f"p{n}@example.com"), event_key=f"burst:{n}") for n in range(COUNT)]
    ids = [n.pk for n in notes]
    wait_until(lambda: len(smtp_server.messages) >= 10, timeout=30, what="the first emails")

    connection.close()
    restart(request.getfixturevalue("postgres_server"), down_for=3)
    back = time.monotonic()

    waited = wait_until(lambda: unsent(ids) == 0, timeout=60, what=f"all {COUNT} sent after the restart")
    assert time.monotonic() - back <= 30, f"the last message went {waited:.1f} s after the database came back"
    per_id = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert len(per_id) == COUNT
    assert [mid for mid, n in per_id.items() if n > 1] == []  # nothing sent twice
    assert DeliveryAttempt.objects.filter(notification_id__in=ids, ok=False).count() == 0
    print(f"{len(smtp_server.messages)} emails, all sent {waited:.1f} s after PostgreSQL came back")
