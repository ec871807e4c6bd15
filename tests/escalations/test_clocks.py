"""The clocks of an escalation, with time moved by time-machine and mail to a real SMTP server.

"Due" is decided by the database's clock, which time-machine does not move. So scenarios are
set in the past (November 2025): the Python clock is put at each moment of the story, and a
deadline is fired with ``deadline_fire`` once the story reaches it (the database agrees it is
due, since it really is in the past). Notifications are then delivered for real to aiosmtpd.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.contacts.models import BackupAssignment
from apps.escalations import services
from apps.escalations.models import Status, TimelineEvent
from apps.notifications.models import Notification
from apps.notifications.services import notification_deliver
from apps.policies.models import MaintenanceWindow
from apps.timers.models import Deadline
from apps.timers.services import Outcome, deadline_fire
from tests.escalations.conftest import build_world, raise_one
from tests.factories import BusinessCalendarFactory

pytestmark = pytest.mark.django_db
Kind = TimelineEvent.Kind
LONDON = ZoneInfo("Europe/London")
FRIDAY_1755 = datetime(2025, 11, 21, 17, 55, tzinfo=LONDON)  # GMT: 17:55 UTC
MONDAY = datetime(2025, 11, 24, tzinfo=LONDON)


def office_world(**kwargs):
    return build_world(calendar=BusinessCalendarFactory(), business_hours_only=True, **kwargs)


def pending(esc, kind: str) -> Deadline:
    return Deadline.objects.get(
        subject_type="escalations.escalation",
        subject_id=str(esc.pk),
        kind=kind,
        fired_at=None,
        cancelled_at=None,
    )


def fire(esc, kind: str) -> None:
    deadline = pending(esc, kind)
    with time_machine.travel(deadline.due_at + timedelta(seconds=1), tick=False):
        assert deadline_fire(deadline_id=deadline.pk, token=deadline.token).outcome == Outcome.FIRED


def deliver_everything() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(notification_id=pk)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def test_a_sev1_raised_at_1755_on_friday_under_business_hours_is_due_next_working_morning(db):
    world = office_world()
    with at(FRIDAY_1755):
        esc = raise_one(world, severity="sev1")
    # One business hour, counted from Monday's 09:00 opening.
    assert esc.ack_due_at == MONDAY.replace(hour=10)
    assert esc.resolve_due_at == MONDAY.replace(hour=17)  # 8 business hours


def test_the_same_under_a_24x7_policy_is_due_within_its_minutes(db):
    world = build_world(ack=timedelta(minutes=15))
    with at(FRIDAY_1755):
        esc = raise_one(world, severity="sev1")
    assert esc.ack_due_at == datetime(2025, 11, 21, 18, 10, tzinfo=UTC)


def test_a_bank_holiday_is_not_a_working_morning(db):
    world = office_world()
    christmas_eve = datetime(2025, 12, 24, 17, 45, tzinfo=LONDON)  # Christmas and Boxing Day are closed
    with at(christmas_eve):
        esc = raise_one(world)
    assert esc.ack_due_at == datetime(2025, 12, 29, 10, 0, tzinfo=UTC)


def test_unacknowledged_the_backup_is_emailed_then_level_two_is_reached(db, smtp_server):
    world = build_world(ack=timedelta(minutes=15))
    engineer, backup, manager = (world.person(u) for u in (world.engineer, world.backup, world.eng_manager))
    with at(FRIDAY_1755):
        esc = raise_one(world)
        deliver_everything()
    [assigned] = smtp_server.wait_for(1)
    assert assigned["To"] == engineer.email and "you own" in assigned["Subject"]
    assert "acknowledge by Fri 21 Nov 2025 18:10 UTC" in assigned.get_content()

    fire(esc, services.ACK_DUE)  # 18:10: nobody acknowledged
    with at(datetime(2025, 11, 21, 18, 10, 2, tzinfo=UTC)):
        deliver_everything()
    esc.refresh_from_db()
    assert esc.owner == backup and esc.current_level == 1 and esc.ack_misses == 1
    to_backup = [m for m in smtp_server.wait_for(3) if m["To"] == backup.email]
    assert len(to_backup) == 1 and "you own" in to_backup[0]["Subject"]
    assert any(m["To"] == engineer.email and "backup" in m["Subject"] for m in smtp_server.messages)

    fire(esc, services.ACK_DUE)  # and the backup did not answer either
    with at(datetime(2025, 11, 21, 18, 26, tzinfo=UTC)):
        deliver_everything()
    esc.refresh_from_db()
    # Level 2 engages the manager; the backup, who took it over, keeps working on it.
    assert esc.current_level == 2 and esc.engaged == manager and esc.status == Status.OPEN
    assert esc.owner == backup
    assert any(m["To"] == manager.email and "it has reached you" in m["Subject"] for m in smtp_server.messages)
    story = list(esc.timeline.values_list("kind", flat=True))
    assert story == [
        Kind.RAISED,
        Kind.LEVEL_REACHED,
        Kind.ACK_MISSED,
        Kind.LEVEL_REACHED,
        Kind.ACK_MISSED,
        Kind.LEVEL_REACHED,
    ]
    assert Notification.objects.filter(status="sent").count() == len(smtp_server.messages)


def test_without_a_backup_a_missed_acknowledgement_climbs_at_once(db):
    world = build_world(ack=timedelta(minutes=15))
    BackupAssignment.objects.all().delete()
    with at(FRIDAY_1755):
        esc = raise_one(world)
    fire(esc, services.ACK_DUE)
    esc.refresh_from_db()
    assert esc.current_level == 2
    assert "has no backup available: escalating to level 2" in esc.timeline.get(kind=Kind.ACK_MISSED).message


def test_a_maintenance_window_defers_the_clock_and_says_so(db):
    world = build_world(ack=timedelta(minutes=15))
    MaintenanceWindow.objects.create(
        name="Database failover",
        starts_at=datetime(2025, 11, 21, 17, 0, tzinfo=UTC),
        ends_at=datetime(2025, 11, 21, 20, 0, tzinfo=UTC),
        defers_clocks=True,
    ).services.add(world.service)
    with at(FRIDAY_1755):
        esc = raise_one(world)
    assert esc.ack_due_at == datetime(2025, 11, 21, 20, 0, tzinfo=UTC)
    assert pending(esc, services.ACK_DUE).due_at == esc.ack_due_at
    note = esc.timeline.filter(kind=Kind.CLOCK_DEFERRED).first()
    assert "“Database failover”" in note.message and "deferred to Fri 21 Nov 20:00 UTC" in note.message


def test_a_window_opened_after_raising_defers_the_clock_when_it_runs_out(db):
    world = build_world(ack=timedelta(minutes=15))
    with at(FRIDAY_1755):
        esc = raise_one(world)
    MaintenanceWindow.objects.create(
        name="Emergency patching",
        starts_at=datetime(2025, 11, 21, 18, 0, tzinfo=UTC),
        ends_at=datetime(2025, 11, 21, 19, 30, tzinfo=UTC),
        defers_clocks=True,
    ).services.add(world.service)
    fire(esc, services.ACK_DUE)
    esc.refresh_from_db()
    assert esc.owner == world.person(world.engineer) and esc.ack_misses == 0  # nothing was missed yet
    assert pending(esc, services.ACK_DUE).due_at == datetime(2025, 11, 21, 19, 30, tzinfo=UTC)
    assert "“Emergency patching”" in esc.timeline.get(kind=Kind.CLOCK_DEFERRED).message


def test_a_window_that_does_not_defer_clocks_changes_nothing(db):
    world = build_world(ack=timedelta(minutes=15))
    MaintenanceWindow.objects.create(
        name="Cosmetic release",
        starts_at=datetime(2025, 11, 21, 17, 0, tzinfo=UTC),
        ends_at=datetime(2025, 11, 21, 20, 0, tzinfo=UTC),
        defers_clocks=False,
    ).services.add(world.service)
    with at(FRIDAY_1755):
        esc = raise_one(world)
    assert esc.ack_due_at == datetime(2025, 11, 21, 18, 10, tzinfo=UTC)


def test_a_breached_resolve_deadline_tells_the_owners_manager_once(db):
    world = build_world(ack=timedelta(minutes=15), resolve=timedelta(hours=2))
    with at(FRIDAY_1755):
        esc = raise_one(world)
        services.escalation_acknowledge(escalation=esc, actor=world.engineer)
    fire(esc, services.RESOLVE_DUE)
    esc.refresh_from_db()
    assert esc.resolve_breached_at is not None and esc.next_due_at is None
    told = Notification.objects.filter(template="escalation_resolve_breached")
    assert set(told.values_list("recipient_key", flat=True)) == {
        f"person:{world.person(world.eng_manager).pk}",
        f"person:{world.person(world.engineer).pk}",
    }
    assert (
        "Grace Lind (the owner's manager) has been told"
        in esc.timeline.get(kind=Kind.RESOLVE_BREACHED).message
    )


def test_the_owner_is_reminded_to_update_stakeholders_at_the_severitys_cadence(db, settings):
    world = build_world()
    with at(FRIDAY_1755):
        esc = raise_one(world, severity="sev2")
    first = pending(esc, services.UPDATE_DUE)
    assert first.due_at == datetime(2025, 11, 21, 18, 55, tzinfo=UTC)  # sev2: hourly
    fire(esc, services.UPDATE_DUE)
    assert Notification.objects.filter(template="escalation_update_due").count() == 1
    assert pending(esc, services.UPDATE_DUE).due_at == datetime(2025, 11, 21, 19, 55, 1, tzinfo=UTC)


def test_a_resolved_escalation_closes_itself_when_the_raiser_says_nothing(db, settings):
    world = build_world()
    with at(FRIDAY_1755):
        esc = raise_one(world)
        services.escalation_resolve(
            escalation=esc,
            actor=world.engineer,
            summary="Rolled back the bad deploy.",
            criteria_confirmed=esc.criteria,
        )
    assert pending(esc, services.AUTO_CLOSE).due_at == datetime(2025, 11, 24, 17, 55, tzinfo=UTC)
    fire(esc, services.AUTO_CLOSE)
    esc.refresh_from_db()
    assert esc.status == Status.CLOSED
    assert "no answer from the raiser within 72 hours" in esc.timeline.get(kind=Kind.CLOSED).message


def test_at_the_top_of_what_it_may_reach_alone_it_stops_and_says_so(db, monkeypatch):
    from apps.escalations import gate

    monkeypatch.setattr(gate, "_gate", gate._NoGate())
    world = build_world(ack=timedelta(minutes=15))
    BackupAssignment.objects.all().delete()
    with at(FRIDAY_1755):
        esc = raise_one(world)
    fire(esc, services.ACK_DUE)  # level 1 silent: up to level 2
    fire(esc, services.ACK_DUE)  # level 2 silent: level 3 needs approval, which cannot be asked here
    esc.refresh_from_db()
    assert esc.current_level == 2 and esc.status == Status.OPEN
    last = esc.timeline.order_by("-id").first()
    assert "only through a manager's approval" in last.message and "(policy owner)" in last.message
    assert not Deadline.objects.filter(
        kind=services.ACK_DUE, subject_id=str(esc.pk), fired_at=None, cancelled_at=None
    ).exists()


def test_a_clock_that_fires_twice_acts_once(db):
    world = build_world(ack=timedelta(minutes=15))
    with at(FRIDAY_1755):
        esc = raise_one(world)
    deadline = pending(esc, services.ACK_DUE)
    fire(esc, services.ACK_DUE)
    assert deadline_fire(deadline_id=deadline.pk, token=deadline.token).outcome == Outcome.STALE
    assert esc.timeline.filter(kind=Kind.ACK_MISSED).count() == 1


def test_an_acknowledged_escalation_ignores_a_late_acknowledge_clock(db):
    world = build_world(ack=timedelta(minutes=15))
    with at(FRIDAY_1755):
        esc = raise_one(world)
    deadline = pending(esc, services.ACK_DUE)
    services.escalation_acknowledge(escalation=esc, actor=world.engineer)
    deadline.refresh_from_db()
    assert deadline.status == "cancelled"
    services.clock_acknowledge_missed(escalation_id=esc.pk, payload=deadline.payload)  # a copy arriving late
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED and not esc.timeline.filter(kind=Kind.ACK_MISSED).exists()


def test_a_breach_never_alerts_an_executive_manager_directly(db):
    """The engineering manager's manager is the CTO: breach alerts stop below executives, who
    hear of an escalation only through an approved request."""
    world = build_world(ack=timedelta(minutes=15), resolve=timedelta(hours=2))
    with at(FRIDAY_1755):
        esc = raise_one(world)
        services.escalation_escalate(escalation=esc, actor=world.raiser, reason="Level 1 is not answering.")
        services.escalation_acknowledge(escalation=esc, actor=world.eng_manager)
    fire(esc, services.RESOLVE_DUE)
    cto = world.person(world.cto)
    assert not Notification.objects.filter(recipient_key=f"person:{cto.pk}").exists()
    assert Notification.objects.filter(
        template="escalation_resolve_breached", recipient_key=f"person:{world.person(world.eng_manager).pk}"
    ).exists()
