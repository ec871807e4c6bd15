"""The lifecycle by its services: raise, acknowledge, hand off, escalate, de-escalate, resolve,
close, reopen, withdraw, comment; each writes one timeline event, one audit event, its
notifications, and nothing at all when refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEvent
from apps.common.errors import Conflict
from apps.contacts.models import Person
from apps.escalations import services
from apps.escalations.models import Escalation, HandOff, Status, TimelineEvent
from apps.notifications.models import Notification
from apps.policies.services import LevelSpec, policy_save
from apps.timers.models import Deadline
from tests.escalations.conftest import raise_one
from tests.factories import full_matrix

pytestmark = pytest.mark.django_db
Kind = TimelineEvent.Kind


def pending_kinds(esc) -> list[str]:
    return sorted(
        Deadline.objects.filter(
            subject_type="escalations.escalation", subject_id=str(esc.pk), fired_at=None, cancelled_at=None
        ).values_list("kind", flat=True)
    )


def kinds(esc) -> list[str]:
    return list(esc.timeline.order_by("at", "id").values_list("kind", flat=True))


def snapshot(esc):
    esc.refresh_from_db()
    return (
        esc.status,
        esc.version,
        esc.owner_id,
        esc.current_level,
        esc.timeline.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
        HandOff.objects.count(),
    )


def test_raising_freezes_the_policy_routes_to_level_one_and_starts_every_clock(world):
    esc = raise_one(world)
    assert esc.reference.startswith("ESC-") and esc.reference.endswith("-00001")
    assert esc.status == Status.OPEN and esc.current_level == 1 and esc.version == 1
    assert esc.owner == world.person(world.engineer)
    assert esc.policy_version == world.policy.history.latest().history_id
    assert [lvl.name for lvl in esc.levels] == ["On-call engineer", "Engineering manager", "CTO"]
    assert esc.ack_due_at == esc.raised_at + timedelta(hours=1)
    assert esc.resolve_due_at == esc.raised_at + timedelta(hours=8)
    assert esc.next_due_at == esc.ack_due_at
    assert pending_kinds(esc) == sorted([services.ACK_DUE, services.RESOLVE_DUE, services.UPDATE_DUE])
    assert kinds(esc) == [Kind.RAISED, Kind.LEVEL_REACHED]
    assert AuditEvent.objects.filter(action="escalations.raised", target_id=str(esc.pk)).count() == 1
    assert esc.history.count() == 1  # one raise, one history row
    note = Notification.objects.get(recipient_key=f"person:{world.person(world.engineer).pk}")
    assert "you own" in note.subject and esc.reference in note.subject
    assert note.urgency == esc.severity  # picks the retry delays (a SEV1 falls through sooner)


def test_references_count_up_within_the_year(world):
    first, second = raise_one(world), raise_one(world)
    assert int(second.reference.rsplit("-", 1)[1]) == int(first.reference.rsplit("-", 1)[1]) + 1


def test_a_later_policy_edit_never_changes_an_escalation_in_flight(world):
    esc = raise_one(world)
    policy = world.policy
    levels = [
        LevelSpec(
            order=lvl.order,
            name=f"Renamed {lvl.order}",
            target_kind=lvl.target_kind,
            authority_rank=lvl.authority_rank,
            target_person=lvl.target_person,
            requires_approval=lvl.requires_approval,
            trigger_roles=lvl.trigger_roles,
        )
        for lvl in policy.levels.order_by("order")
    ]
    policy_save(
        policy=policy,
        levels=levels,
        thresholds=full_matrix(ack=timedelta(minutes=5)),
        actor=None,
        reason="Tighter clocks",
    )
    esc.refresh_from_db()
    assert esc.levels[0].name == "On-call engineer"
    assert esc.chain["threshold"]["acknowledge_seconds"] == 3600  # the JSON shape is unchanged
    assert esc.frozen.threshold.acknowledge_within == timedelta(hours=1)
    assert raise_one(world).levels[0].name == "Renamed 1"


def test_each_required_field_is_named_when_missing_and_nothing_is_saved(world):
    before = (Escalation.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as exc:
        raise_one(
            world,
            severity="sev9",
            fields={"title": "  ", "impact": "", "impact_expected_at": None, "criticality": "whatever"},
        )
    errors = exc.value.message_dict
    assert {"title", "impact", "impact_expected_at", "criticality", "severity"} <= set(errors)
    assert "Impact is required" in errors["impact"][0]
    assert (Escalation.objects.count(), AuditEvent.objects.count()) == before


def test_a_service_no_policy_covers_for_that_category_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        raise_one(world, category="ethics")
    assert "No active escalation policy covers Payments API" in exc.value.message_dict["category"][0]
    assert not Escalation.objects.exists()


def test_an_unknown_service_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        raise_one(world, service=None)
    assert "service" in exc.value.message_dict


def test_the_policys_extra_fields_are_required(world):
    world.policy.extra_required_fields = [{"name": "data_exposed", "label": "Was personal data exposed?"}]
    world.policy.save()
    with pytest.raises(ValidationError) as exc:
        raise_one(world)
    assert "Was personal data exposed? is required" in exc.value.message_dict["extra_data_exposed"][0]
    esc = raise_one(world, extra={"data_exposed": "No"})
    assert esc.extra_fields == {"data_exposed": "No"}


def test_an_auditor_cannot_raise(world):
    with pytest.raises(PermissionDenied):
        raise_one(world, actor=world.auditor)


def test_the_owner_acknowledges_once(world):
    esc = raise_one(world)
    services.escalation_acknowledge(escalation=esc, actor=world.engineer, expected_version=1)
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED and esc.acknowledged_at and esc.version == 2
    assert services.ACK_DUE not in pending_kinds(esc)
    assert esc.next_due_at == esc.resolve_due_at
    with pytest.raises(Conflict, match="it is acknowledged"):
        services.escalation_acknowledge(escalation=esc, actor=world.engineer)


def test_only_the_owner_may_acknowledge(world):
    esc = raise_one(world)
    before = snapshot(esc)
    for user in (world.raiser, world.backup, world.eng_manager):
        with pytest.raises(PermissionDenied):
            services.escalation_acknowledge(escalation=esc, actor=user)
    assert snapshot(esc) == before


def test_a_stale_form_is_refused_and_says_what_happened(world):
    esc = raise_one(world)
    services.escalation_acknowledge(escalation=esc, actor=world.engineer, expected_version=1)
    before = snapshot(esc)
    with pytest.raises(
        Conflict, match="changed while you were looking at it: it is now acknowledged"
    ):
        services.escalation_resolve(
            escalation=esc,
            actor=world.engineer,
            summary="Rolled back, error rate at 0.",
            criteria_confirmed=esc.criteria,
            expected_version=1,
        )
    assert snapshot(esc) == before


def test_hand_off_needs_a_context_summary_and_a_responder(world):
    esc = raise_one(world)
    backup = world.person(world.backup)
    with pytest.raises(ValidationError) as exc:
        services.escalation_hand_off(
            escalation=esc, actor=world.engineer, to_person=backup, context_summary="  "
        )
    assert "context_summary" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.escalation_hand_off(
            escalation=esc,
            actor=world.engineer,
            to_person=world.person(world.raiser),
            context_summary="Pool exhausted, rollback prepared, needs a decision.",
        )
    assert "cannot own escalations" in exc.value.message_dict["to_person"][0]
    services.escalation_hand_off(
        escalation=esc,
        actor=world.engineer,
        to_person=backup,
        context_summary="Pool exhausted, rollback prepared, needs a decision.",
    )
    esc.refresh_from_db()
    assert esc.owner == backup and esc.status == Status.OPEN and esc.current_level == 1
    handoff = HandOff.objects.get()
    assert (
        handoff.from_person == world.person(world.engineer) and "rollback prepared" in handoff.context_summary
    )
    assert Notification.objects.filter(
        recipient_key=f"person:{backup.pk}", template="escalation_handed_off"
    ).exists()


def test_escalating_reaches_the_next_level_and_tells_the_previous_owner(world):
    esc = raise_one(world)
    services.escalation_escalate(
        escalation=esc, actor=world.raiser, reason="No answer and the error rate doubles."
    )
    esc.refresh_from_db()
    # The level's person is engaged; the owner keeps working on it (issue 12).
    assert (
        esc.current_level == 2 and esc.engaged == world.person(world.eng_manager) and esc.status == Status.OPEN
    )
    assert esc.owner == world.person(world.engineer)
    assert kinds(esc)[-2:] == [Kind.ESCALATED, Kind.LEVEL_REACHED]
    templates = set(Notification.objects.values_list("template", flat=True))
    assert {"escalation_assigned", "escalation_escalated"} <= templates


def test_a_role_the_level_does_not_list_cannot_trigger_it(world):
    esc = raise_one(world)
    services.escalation_escalate(
        escalation=esc, actor=world.raiser, reason="No answer and the error rate doubles."
    )
    before = snapshot(esc)
    with pytest.raises(PermissionDenied, match="may not escalate to level 3"):
        services.escalation_escalate(
            escalation=esc, actor=world.raiser, reason="Still failing after an hour."
        )
    assert snapshot(esc) == before


def test_an_approval_level_is_never_reached_without_the_gate(world, monkeypatch):
    from apps.escalations import gate

    monkeypatch.setattr(gate, "_gate", gate._NoGate())
    esc = raise_one(world)
    services.escalation_escalate(
        escalation=esc, actor=world.raiser, reason="No answer and the error rate doubles."
    )
    before = snapshot(esc)
    with pytest.raises(Conflict, match="only through a manager's approval"):
        services.escalation_escalate(
            escalation=esc, actor=world.eng_manager, reason="Needs the CTO's decision now."
        )
    assert snapshot(esc) == before
    assert not Notification.objects.filter(recipient_key=f"person:{world.person(world.cto).pk}").exists()


def test_escalating_needs_a_reason_and_a_higher_level(world):
    esc = raise_one(world)
    with pytest.raises(ValidationError) as exc:
        services.escalation_escalate(escalation=esc, actor=world.raiser, reason="")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.escalation_escalate(
            escalation=esc, actor=world.raiser, reason="Long enough reason", to_level=1
        )
    assert "to_level" in exc.value.message_dict


def test_de_escalating_goes_back_down_to_a_lower_owner(world):
    esc = raise_one(world)
    services.escalation_escalate(
        escalation=esc, actor=world.raiser, reason="No answer and the error rate doubles."
    )
    services.escalation_de_escalate(
        escalation=esc, actor=world.eng_manager, to_level=1, reason="The engineer is back and has a fix."
    )
    esc.refresh_from_db()
    assert esc.current_level == 1 and esc.owner == world.person(world.engineer)
    assert Kind.DE_ESCALATED in kinds(esc)


def test_resolving_needs_a_summary_and_every_criterion(world):
    esc = raise_one(world)
    before = snapshot(esc)
    with pytest.raises(ValidationError) as exc:
        services.escalation_resolve(
            escalation=esc, actor=world.engineer, summary="short", criteria_confirmed=["Service restored"]
        )
    errors = exc.value.message_dict
    assert "summary" in errors and errors["criteria"] == [
        "Confirm this criterion of the policy: “Customers told”."
    ]
    assert snapshot(esc) == before
    services.escalation_resolve(
        escalation=esc,
        actor=world.engineer,
        summary="Rolled back the 14:00 deploy.",
        criteria_confirmed=["Service restored", "Customers told"],
    )
    esc.refresh_from_db()
    assert esc.status == Status.RESOLVED and esc.next_due_at is None
    assert pending_kinds(esc) == [services.AUTO_CLOSE]


def test_the_raiser_closes_or_reopens_a_resolved_escalation(world):
    esc = raise_one(world)
    services.escalation_resolve(
        escalation=esc,
        actor=world.engineer,
        summary="Rolled back the 14:00 deploy.",
        criteria_confirmed=esc.criteria,
    )
    with pytest.raises(PermissionDenied):
        services.escalation_close(escalation=esc, actor=world.engineer)
    services.escalation_reopen(
        escalation=esc, actor=world.raiser, reason="Still failing for Irish merchants."
    )
    esc.refresh_from_db()
    assert esc.status == Status.OPEN and esc.resolved_at is None
    assert sorted(pending_kinds(esc)) == sorted([services.ACK_DUE, services.RESOLVE_DUE, services.UPDATE_DUE])
    services.escalation_resolve(
        escalation=esc,
        actor=world.engineer,
        summary="Fixed the Irish routing too.",
        criteria_confirmed=esc.criteria,
    )
    services.escalation_close(escalation=esc, actor=world.raiser)
    esc.refresh_from_db()
    assert esc.status == Status.CLOSED and pending_kinds(esc) == []


def test_withdrawing_stops_every_clock(world):
    esc = raise_one(world)
    with pytest.raises(PermissionDenied):
        services.escalation_withdraw(escalation=esc, actor=world.engineer, reason="Not mine to withdraw.")
    services.escalation_withdraw(
        escalation=esc, actor=world.raiser, reason="Turned out to be a test environment."
    )
    esc.refresh_from_db()
    assert esc.status == Status.WITHDRAWN and pending_kinds(esc) == [] and esc.next_due_at is None
    with pytest.raises(Conflict):
        services.escalation_acknowledge(escalation=esc, actor=world.engineer)


def test_a_stakeholder_update_reaches_everyone_involved_and_restarts_its_clock(world):
    esc = raise_one(world)
    services.escalation_escalate(
        escalation=esc, actor=world.raiser, reason="No answer and the error rate doubles."
    )
    clock = Deadline.objects.get(subject_id=str(esc.pk), kind=services.UPDATE_DUE, cancelled_at=None)
    services.escalation_take_ownership(escalation=esc, actor=world.eng_manager)
    services.escalation_comment(
        escalation=esc,
        actor=world.eng_manager,
        text="Rolling back now; next update 15:30.",
        stakeholder_update=True,
    )
    told = set(
        Notification.objects.filter(template="escalation_update").values_list("recipient_key", flat=True)
    )
    assert told == {f"person:{world.person(u).pk}" for u in (world.raiser, world.engineer)}
    clock.refresh_from_db()
    assert clock.cancelled_at is not None
    assert (
        Deadline.objects.filter(subject_id=str(esc.pk), kind=services.UPDATE_DUE, cancelled_at=None).count()
        == 1
    )
    with pytest.raises(PermissionDenied):
        services.escalation_comment(
            escalation=esc, actor=world.raiser, text="Any news?", stakeholder_update=True
        )
    services.escalation_comment(escalation=esc, actor=world.raiser, text="Any news?")
    assert kinds(esc)[-2:] == [Kind.UPDATE, Kind.COMMENT]


def test_a_level_nobody_can_reach_now_is_skipped_at_once(world):
    engineer = world.person(world.engineer)
    engineer.contact_methods.all().delete()
    esc = raise_one(world)
    assert esc.current_level == 2 and esc.owner == world.person(world.eng_manager)
    skipped = esc.timeline.get(kind=Kind.LEVEL_SKIPPED)
    assert "Level 1 (On-call engineer): nobody can be reached now" in skipped.message


def test_every_state_change_is_in_the_history_with_its_actor(world):
    esc = raise_one(world)
    services.escalation_acknowledge(escalation=esc, actor=world.engineer)
    rows = list(
        esc.history.order_by("history_id").values_list(
            "status", "history_user_username", "history_change_reason"
        )
    )
    assert rows == [("open", "raiser", "Raised"), ("acknowledged", "engineer", "Acknowledged")]


def test_people_without_a_person_record_can_still_raise(world, user_factory):
    from apps.accounts.roles import Role

    contractor = user_factory(username="contractor", roles=[Role.STAFF])
    esc = raise_one(world, actor=contractor)
    assert esc.raiser_person is None and esc.owner is not None
    assert not Person.objects.filter(user=contractor).exists()
