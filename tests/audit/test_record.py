"""Appending to the audit chain and verifying it (tamper tests on real SQL live in integration)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.models import GENESIS_HASH, AuditEvent
from apps.audit.services import record, verify_chain
from tests.tampering import as_a_dba

pytestmark = pytest.mark.django_db


def test_each_event_links_to_the_one_before(raiser):
    start = AuditEvent.objects.count()
    first = record(action="test.first", actor=raiser, target=raiser, data={"n": 1})
    second = record(action="test.second")
    assert second.seq == first.seq + 1 == start + 2
    assert second.prev_hash == first.hash
    assert AuditEvent.objects.get(seq=1).prev_hash == GENESIS_HASH
    assert (first.actor_id, first.actor_username) == (raiser.pk, "raiser")
    assert (first.target_type, first.target_id) == ("accounts.user", str(raiser.pk))
    assert verify_chain().ok


def test_the_actor_outlives_the_account(raiser):
    event = record(action="test.acted", actor=raiser)
    raiser.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor_username, event.actor_id) == ("raiser", event.actor_id)
    assert verify_chain().ok


def test_data_is_stored_exactly_as_hashed():
    import datetime
    import decimal

    event = record(
        action="test.types", data={"when": datetime.date(2026, 11, 22), "amount": decimal.Decimal("1.50")}
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.data == {"when": "2026-11-22", "amount": "1.50"}
    assert stored.compute_hash() == stored.hash


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    event = record(action="test.immutable")
    event.action = "test.changed"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_a_rolled_back_transaction_leaves_no_gap():
    from django.db import transaction

    before = record(action="test.before")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="test.rolled_back")
        raise RuntimeError
    after = record(action="test.after")
    assert after.seq == before.seq + 1
    assert verify_chain().ok


def test_the_command_reports_success_and_failure(capsys):
    record(action="test.one")
    call_command("verify_audit_chain")
    assert "audit chain intact" in capsys.readouterr().out
    with as_a_dba():  # bypasses save(), and PostgreSQL's append-only trigger
        AuditEvent.objects.filter(action="test.one").update(action="test.forged")
    with pytest.raises(CommandError, match="row altered"):
        call_command("verify_audit_chain")


def test_verification_names_the_first_broken_row():
    events = [record(action=f"test.{i}") for i in range(5)]
    with as_a_dba():
        AuditEvent.objects.filter(pk=events[2].pk).update(data={"forged": True})
    report = verify_chain()
    assert not report.ok and report.broken_seq == events[2].seq
    assert "row altered" in str(report)


def test_a_different_key_does_not_verify(settings):
    record(action="test.keyed")
    settings.AUDIT_CHAIN_KEY = "another-key"
    assert not verify_chain().ok


@pytest.mark.django_db
def test_a_confined_event_never_shows_in_the_general_trail_and_still_chains(client, auditor, gov_admin):
    from apps.audit.selectors import confined_events, visible_events
    from apps.audit.services import verify_chain

    confined = record(
        action="protection.case_read", actor=gov_admin, data={"case": "P-1"}, confined_to="protection"
    )
    shown = record(action="accounts.roles_synced", actor=gov_admin)
    for user in (auditor, gov_admin):
        visible = set(visible_events(user).values_list("pk", flat=True))
        assert shown.pk in visible and confined.pk not in visible
        client.force_login(user)
        assert "protection.case_read" not in client.get("/audit/").content.decode()
    assert confined_events("protection").count() == 1
    assert verify_chain().ok
