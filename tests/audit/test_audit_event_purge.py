"""Audit events past their period (ten years at least) leave the chain from its oldest end,
behind a sealed checkpoint: the chain verifies after the purge, a held escalation's events stop
the stretch, and removing or forging the checkpoint is caught like any other tampering."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit import retention
from apps.audit.models import AuditEvent, ChainCheckpoint
from apps.audit.services import record, verify_chain
from tests.tampering import as_a_dba, sql

pytestmark = pytest.mark.django_db
YEARS = timedelta(days=365.25)
# The chain is never empty at a test's start (the roles are synced, and audited, when the
# database is set up), so "old" events are those written now and the purge runs years ahead.


def events_written(count: int, *, when, action: str = "test.old", **fields) -> list[AuditEvent]:
    with time_machine.travel(when, tick=False), transaction.atomic():
        return [record(action=action, data={"n": i}, **fields) for i in range(count)]


def test_the_oldest_events_go_behind_a_checkpoint_and_the_chain_still_verifies():
    start, before = timezone.now(), AuditEvent.objects.count()
    old = events_written(5, when=start)
    recent = events_written(3, when=start + 9 * YEARS, action="test.recent")
    now = start + 11 * YEARS
    plan = retention.purge_plan(now)
    assert (plan.audit_events, plan.audit_events_kept_from) == (before + 5, recent[0].seq)
    assert AuditEvent.objects.count() == before + 8  # the dry run removes nothing

    result = retention.purge_expired(now=now)

    assert result["audit_events"] == before + 5 and result["audit_chain_starts_at"] == recent[0].seq
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    checkpoint = ChainCheckpoint.objects.get()
    assert (checkpoint.first_seq, checkpoint.prev_hash) == (recent[0].seq, old[-1].hash)
    report = verify_chain()
    assert report.ok and report.checked == 4, report  # three kept and the tombstone
    tombstone = AuditEvent.objects.filter(action="audit.records_purged").get()
    assert tombstone.data["audit_events"] == before + 5
    assert retention.purge_plan(now).audit_events == 0  # nothing left to do twice


def test_a_held_escalation_stops_the_stretch_at_its_first_event(request):
    start = timezone.now()
    before = events_written(2, when=start)
    about_it = events_written(1, when=start + timedelta(days=1), action="test.held")[0]
    # The escalation a hold names, by the plain id its events carry, set as the portal would
    # have written it, and the chain sealed again from there.
    with as_a_dba():
        sql("UPDATE audit_auditevent SET escalation_id = 424242 WHERE id = %s", [about_it.pk])
    about_it.refresh_from_db()
    with as_a_dba():
        sql("UPDATE audit_auditevent SET hash = %s WHERE id = %s", [about_it.compute_hash(), about_it.pk])
        following = AuditEvent.objects.filter(seq__gt=about_it.seq).order_by("seq")
        prev = about_it.compute_hash()
        for event in following:
            event.prev_hash = prev
            sql(
                "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                [prev, event.compute_hash(), event.pk],
            )
            prev = event.compute_hash()
    events_written(2, when=start + timedelta(days=2))
    gov_admin = request.getfixturevalue("gov_admin")
    retention.legal_hold_place(
        target_type="escalation",
        target_id="424242",
        target_repr="ESC-2015-00001",
        actor=gov_admin,
        reason="Claim",
    )
    assert verify_chain().ok

    result = retention.purge_expired(now=start + 11 * YEARS)

    assert result["audit_events"] == about_it.seq - 1 and result["audit_chain_starts_at"] == about_it.seq
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in before]).exists()
    assert AuditEvent.objects.filter(pk=about_it.pk).exists()
    assert verify_chain().ok


def test_when_every_event_is_past_its_period_the_tombstone_continues_the_chain():
    start = timezone.now()
    old = events_written(4, when=start)
    with time_machine.travel(start + 11 * YEARS, tick=False):
        retention.purge_expired(now=start + 11 * YEARS)
    tombstone = AuditEvent.objects.get()
    assert tombstone.action == "audit.records_purged"
    assert (tombstone.seq, tombstone.prev_hash) == (old[-1].seq + 1, old[-1].hash)
    assert verify_chain().ok
    record(action="test.after")
    assert verify_chain().checked == 2


def test_removing_or_forging_the_checkpoint_is_caught():
    start = timezone.now()
    events_written(3, when=start)
    events_written(2, when=start + 10 * YEARS)
    retention.purge_expired(now=start + 11 * YEARS)
    checkpoint = ChainCheckpoint.objects.get()

    forged_from = checkpoint.first_seq
    with as_a_dba():
        if connection.vendor == "postgresql":
            sql("ALTER TABLE audit_chaincheckpoint DISABLE TRIGGER USER")
        sql("UPDATE audit_chaincheckpoint SET removed_events = 1 WHERE id = %s", [checkpoint.pk])
    report = verify_chain()
    assert not report.ok and report.broken_seq == forged_from and "checkpoint" in report.reason

    with as_a_dba():
        sql("DELETE FROM audit_chaincheckpoint")
        if connection.vendor == "postgresql":
            sql("ALTER TABLE audit_chaincheckpoint ENABLE TRIGGER USER")
    report = verify_chain()
    assert not report.ok and "missing" in report.reason  # the removed stretch is a gap again


@pytest.mark.postgres_only
def test_postgresql_lets_a_delete_through_only_below_the_checkpoint():
    start = timezone.now()
    events_written(2, when=start)
    kept = events_written(2, when=start + 10 * YEARS)
    retention.purge_expired(now=start + 11 * YEARS)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM audit_auditevent WHERE id = %s", [kept[0].pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM audit_chaincheckpoint")
    assert verify_chain().ok


def test_the_retention_page_says_what_the_next_purge_would_do_to_the_chain(client, request):
    start, before = timezone.now(), AuditEvent.objects.count()
    events_written(3, when=start)
    with time_machine.travel(start + 11 * YEARS, tick=False):
        gov_admin = request.getfixturevalue("gov_admin")
        client.force_login(gov_admin)
        page = client.get(reverse("audit:retention")).content.decode()
    assert f"The oldest {before + 3} audit events would be removed" in page
