"""The audit chain against the real database: tampering by raw SQL is found and named, the
PostgreSQL trigger refuses changes, and concurrent appends keep the chain whole.

A DBA (or an attacker with the database's credentials) is simulated with raw SQL on the same
database the portal uses; on PostgreSQL they first disable the append-only trigger, as a table
owner could. ``verify_audit_chain`` must then exit non-zero and name the first broken row.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import record, verify_chain
from tests.plugins.services import database_url_for_processes
from tests.tampering import as_a_dba, sql

ROOT = Path(__file__).resolve().parent.parent.parent
TABLE = AuditEvent._meta.db_table


def chain(n: int = 6) -> list[AuditEvent]:
    return [
        record(action=f"test.event{i}", target_type="test.thing", target_id=str(i), data={"i": i})
        for i in range(n)
    ]


def forged_hash() -> str:
    """What someone without AUDIT_CHAIN_KEY can put in ``hash``: anything but the right HMAC."""
    return hmac.new(b"a guessed key", os.urandom(16), hashlib.sha256).hexdigest()


def insert_row(seq: int, prev_hash: str) -> int:
    sql(
        f"INSERT INTO {TABLE} (seq, occurred_at, actor_id, actor_username, action, target_type,"
        " target_id, target_repr, data, prev_hash, hash) VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            seq,
            timezone.now(),
            "mallory",
            "test.forged",
            "test.thing",
            "x",
            "forged",
            "{}",
            prev_hash,
            forged_hash(),
        ],
    )
    return AuditEvent.objects.get(seq=seq).pk


def assert_command_names(seq: int, row_id: int, reason: str) -> None:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_chain")
    message = str(failure.value)
    assert f"broken at seq {seq} (row id {row_id})" in message, message
    assert reason in message, message
    report = verify_chain()
    assert (report.ok, report.broken_seq, report.broken_id) == (False, seq, row_id)


@pytest.mark.django_db
class TestTamperingIsFound:
    def test_an_altered_row(self):
        events = chain()
        call_command("verify_audit_chain")  # intact before
        with as_a_dba() as dba:
            assert dba(f"UPDATE {TABLE} SET target_repr = %s WHERE seq = %s", ["edited", events[2].seq]) == 1
        assert_command_names(events[2].seq, events[2].pk, "row altered")

    def test_an_altered_timestamp(self):
        events = chain()
        with as_a_dba() as dba:
            dba(
                f"UPDATE {TABLE} SET occurred_at = %s WHERE seq = %s",
                [events[4].occurred_at - timedelta(days=1), events[4].seq],
            )
        assert_command_names(events[4].seq, events[4].pk, "row altered")

    def test_a_deleted_row(self):
        events = chain()
        with as_a_dba() as dba:
            assert dba(f"DELETE FROM {TABLE} WHERE seq = %s", [events[2].seq]) == 1
        # The gap is reported at the row after it, naming the missing sequence number.
        assert_command_names(
            events[3].seq, events[3].pk, f"events {events[2].seq}..{events[2].seq} are missing"
        )

    def test_a_deleted_last_row_is_not_visible_to_the_chain_alone(self):
        """Truncating the tail leaves a valid shorter chain: the known count is what catches it."""
        events = chain()
        with as_a_dba() as dba:
            dba(f"DELETE FROM {TABLE} WHERE seq = %s", [events[-1].seq])
        report = verify_chain()
        assert report.ok and report.checked == events[-1].seq - 1

    def test_a_row_inserted_in_the_middle(self):
        events = chain()
        at = events[3].seq
        with as_a_dba() as dba:
            # Make room the way an insider would: shift every later row up by one.
            dba(f"UPDATE {TABLE} SET seq = -seq WHERE seq >= %s", [at])
            dba(f"UPDATE {TABLE} SET seq = 1 - seq WHERE seq < 0")
            row_id = insert_row(at, prev_hash=events[2].hash)
        assert_command_names(at, row_id, "row altered")

    def test_a_row_appended_at_the_end(self):
        events = chain()
        with as_a_dba():
            row_id = insert_row(events[-1].seq + 1, prev_hash=events[-1].hash)
        assert_command_names(events[-1].seq + 1, row_id, "row altered")

    def test_a_row_inserted_before_the_first(self):
        chain()
        with as_a_dba():
            row_id = insert_row(0, prev_hash="0" * 64)
        # seq 0 sorts first: the walk expects 1 there.
        with pytest.raises(CommandError, match=rf"broken at seq 0 \(row id {row_id}\): .*row inserted"):
            call_command("verify_audit_chain")


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_postgresql_refuses_update_delete_and_truncate():
    assert connection.vendor == "postgresql"
    event = record(action="test.protected")
    for statement in (
        f"UPDATE {TABLE} SET action = 'test.changed' WHERE id = {event.pk}",
        f"DELETE FROM {TABLE} WHERE id = {event.pk}",
        f"TRUNCATE {TABLE}",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            sql(statement)
    assert AuditEvent.objects.get(pk=event.pk).action == "test.protected"
    assert verify_chain().ok


def run_verify_command() -> subprocess.CompletedProcess:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=database_url_for_processes())
    env.pop("TEST_DATABASE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "verify_audit_chain"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_exits_non_zero_and_names_the_row(transactional_db):
    """``manage.py verify_audit_chain`` as an operator runs it, in its own process."""
    events = chain()
    ok = run_verify_command()
    assert ok.returncode == 0, ok.stderr
    assert f"audit chain intact: {AuditEvent.objects.count()} events verified" in ok.stdout

    with as_a_dba() as dba:
        dba(f"UPDATE {TABLE} SET data = %s WHERE seq = %s", ['{"i": 99}', events[1].seq])
    broken = run_verify_command()
    assert broken.returncode != 0
    assert f"audit chain broken at seq {events[1].seq} (row id {events[1].pk})" in broken.stderr, (
        broken.stderr
    )


def test_concurrent_appends_keep_the_chain_whole(transactional_db):
    """Threads, each on its own database connection, append at once: no duplicate or missing
    sequence number, every link verifies, each thread's events in its own order."""
    threads, per_thread = 8, 40
    existing = AuditEvent.objects.count()
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                record(action="test.concurrent", target_type="test.thread", target_id=str(n), data={"i": i})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert not errors, errors

    total = existing + threads * per_thread
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    report = verify_chain()
    assert report.ok and report.checked == total, str(report)
    for n in range(threads):
        mine = AuditEvent.objects.filter(action="test.concurrent", target_id=str(n)).order_by("seq")
        assert [e.data["i"] for e in mine] == list(range(per_thread))
    # They really overlapped: some thread's events are interleaved with another's.
    order = list(
        AuditEvent.objects.filter(action="test.concurrent")
        .order_by("seq")
        .values_list("target_id", flat=True)
    )
    assert sum(a != b for a, b in zip(order, order[1:], strict=False)) > threads - 1
