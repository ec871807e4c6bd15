"""Two people acting on the same escalation at the same moment: exactly one wins, the other is
told plainly what happened, and the loser's change leaves no trace. Real threads, real
connections, committed data (PostgreSQL on the postgres pass, the SQLite file otherwise)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from apps.common.errors import Conflict
from apps.escalations import services
from apps.escalations.models import Escalation, Status, TimelineEvent
from tests.escalations.conftest import build_world, raise_one

pytestmark = pytest.mark.timeout(120)


def race(*actions):
    """Run the actions in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait(timeout=10)
            results[i] = action()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_acknowledge_and_withdraw_at_once_one_wins(transactional_db, attempt):
    world = build_world()
    esc = raise_one(world)
    version = esc.version
    results = race(
        lambda: services.escalation_acknowledge(
            escalation=esc, actor=world.engineer, expected_version=version
        ),
        lambda: services.escalation_withdraw(
            escalation=esc, actor=world.raiser, reason="Raised by mistake, sorry.", expected_version=version
        ),
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    winners = [r for r in results if isinstance(r, Escalation)]
    assert len(winners) == 1 and len(conflicts) == 1, results
    assert "changed while you were looking at it" in str(conflicts[0])
    esc.refresh_from_db()
    assert esc.version == version + 1
    assert esc.status in (Status.ACKNOWLEDGED, Status.WITHDRAWN)
    acted = TimelineEvent.objects.filter(escalation=esc, kind__in=["acknowledged", "withdrawn"]).count()
    assert acted == 1


def test_two_escalations_raised_at_once_get_distinct_references(transactional_db):
    world = build_world()
    results = race(*(lambda: raise_one(world) for _ in range(4)))
    assert all(isinstance(r, Escalation) for r in results), results
    assert len({r.reference for r in results}) == 4
