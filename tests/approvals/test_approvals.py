"""Manager approval before executive notification: routing past conflicted people, decisions
that stand once, re-routing when the approver is silent (backup, then manager), the appeal,
going around an unresponsive approver, the brief and its content check, embargo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from apps.approvals import services
from apps.approvals.models import ApprovalDecision, ApprovalRequest, BriefReceipt, Outcome, RequestStatus
from apps.audit.models import AuditEvent
from apps.common.errors import Conflict
from apps.escalations import services as esc_services
from apps.escalations.models import Status, TimelineEvent
from apps.notifications.models import Notification
from apps.timers.models import Deadline
from apps.timers.services import Outcome as FireOutcome
from apps.timers.services import deadline_fire
from tests.approvals.conftest import MONDAY_0900, ask_for_the_cto, build_org, to_level_two
from tests.escalations.conftest import raise_one
from tests.factories import BusinessCalendarFactory

pytestmark = pytest.mark.django_db


def cto_told(world) -> bool:
    cto = world.person(world.cto)
    return Notification.objects.filter(recipient_key=f"person:{cto.pk}").exists()


def fire_due(request):
    deadline = Deadline.objects.get(
        kind=services.REQUEST_DUE, subject_id=str(request.pk), fired_at=None, cancelled_at=None
    )
    with time_machine.travel(deadline.due_at + timedelta(seconds=1), tick=False):
        assert deadline_fire(deadline_id=deadline.pk, token=deadline.token).outcome == FireOutcome.FIRED


def test_an_executive_level_waits_for_the_raisers_manager(org):
    esc = to_level_two(org)
    request = ask_for_the_cto(org, esc)
    assert esc.status == Status.AWAITING_APPROVAL and esc.pending_level == 3 and esc.current_level == 2
    assert request.approver == org.person(org.lead) and request.route == "manager"
    assert request.due_at == MONDAY_0900 + timedelta(minutes=5, hours=4)
    assert not cto_told(org)
    assert Notification.objects.filter(
        template="approval_requested", recipient_key=f"person:{org.person(org.lead).pk}"
    ).exists()
    brief = request.brief
    assert esc.title in brief.what_is_happening and brief.what_is_asked == esc.recommendation
    event = esc.timeline.get(kind=TimelineEvent.Kind.APPROVAL_REQUESTED)
    assert "requested from Lee Lead" in event.message


def test_approval_reaches_the_level_and_sends_the_edited_brief(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    services.approval_decide(
        approval=ask,
        actor=org.lead,
        approve=True,
        brief_edits={"what_is_asked": "Approve the rollback and the customer credit."},
    )
    esc.refresh_from_db()
    assert esc.status == Status.OPEN and esc.current_level == 3 and esc.engaged == org.person(org.cto)
    assert esc.owner == org.person(org.engineer)  # the CTO is engaged; the engineer works on it
    ask.refresh_from_db()
    assert ask.status == RequestStatus.APPROVED
    brief = ask.brief
    assert (
        brief.what_is_asked == "Approve the rollback and the customer credit." and brief.edited_by == org.lead
    )
    asked = [h.what_is_asked for h in brief.history.order_by("history_id")]
    assert asked[0] == esc.recommendation and asked[-1] == "Approve the rollback and the customer credit."
    [note] = Notification.objects.filter(recipient_key=f"person:{org.person(org.cto).pk}")
    assert note.template == "executive_brief" and "Approve the rollback and the customer credit." in note.body
    assert "approved by Lee Lead" in note.body
    assert BriefReceipt.objects.filter(brief=brief, executive=org.person(org.cto)).exists()
    decision = ApprovalDecision.objects.get(approval=ask)
    assert (decision.outcome, decision.decided_by_name) == (Outcome.APPROVED, "Lee Lead")


def test_a_rejection_needs_a_reason_and_the_raiser_hears_why(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    with pytest.raises(ValidationError) as exc:
        services.approval_decide(approval=ask, actor=org.lead, approve=False, reason="no")
    assert "A rejection needs a reason" in exc.value.message_dict["reason"][0]
    ask.refresh_from_db()
    assert ask.status == RequestStatus.PENDING and not ApprovalDecision.objects.exists()
    services.approval_decide(
        approval=ask, actor=org.lead, approve=False, reason="Level 2 can still fix it today."
    )
    esc.refresh_from_db()
    assert esc.status == Status.OPEN and esc.current_level == 2 and esc.pending_level is None
    told = Notification.objects.get(template="approval_decided")
    assert (
        told.recipient_key == f"person:{org.person(org.raiser).pk}"
        and "Level 2 can still fix it" in told.body
    )
    assert "You may appeal once" in told.body
    assert not cto_told(org)


def test_only_the_approver_or_an_unconflicted_executive_decides(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    for user, why in (
        (org.raiser, "role does not decide"),
        (org.director, "for Lee Lead to decide"),
        (org.eng_manager, "own escalation"),
    ):  # it was the engineering manager who asked
        with pytest.raises(PermissionDenied, match=why):
            services.approval_decide(approval=ask, actor=user, approve=True)
    with pytest.raises(
        PermissionDenied, match="named in this escalation"
    ):  # the CTO would approve his own brief
        services.approval_decide(approval=ask, actor=org.cto, approve=True)
    assert ApprovalRequest.objects.get(pk=ask.pk).status == RequestStatus.PENDING


def test_a_manager_cannot_approve_their_own_escalation(org):
    esc = raise_one(org, actor=org.lead)
    esc_services.escalation_escalate(escalation=esc, actor=org.lead, reason="Level 1 is not answering.")
    esc_services.escalation_escalate(escalation=esc, actor=org.lead, reason="Needs the CTO's decision.")
    ask = ApprovalRequest.objects.get(escalation=esc)
    assert ask.approver == org.person(org.director)  # the raiser's own manager, never the raiser
    with pytest.raises(PermissionDenied, match="cannot approve your own escalation"):
        services.approval_decide(approval=ask, actor=org.lead, approve=True)


def test_a_decided_request_cannot_be_decided_again_and_a_stale_form_is_refused(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    version = ask.version
    services.approval_decide(
        approval=ask,
        actor=org.lead,
        approve=False,
        reason="Level 2 can still fix it today.",
        expected_version=version,
    )
    with pytest.raises(Conflict, match="changed while you were looking"):
        services.approval_decide(approval=ask, actor=org.lead, approve=True, expected_version=version)
    with pytest.raises(Conflict, match="already rejected"):
        services.approval_decide(approval=ask, actor=org.lead, approve=True)
    assert ApprovalDecision.objects.count() == 1


def test_a_silent_approver_is_rerouted_to_their_backup_then_their_manager(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    fire_due(ask)  # the team lead says nothing for four hours
    ask.refresh_from_db()
    assert ask.status == RequestStatus.EXPIRED
    to_backup = ask.rerouted_to
    assert to_backup.approver == org.person(org.deputy) and to_backup.route == "backup of Lee Lead"
    assert to_backup.on_behalf_of == org.person(org.lead) and to_backup.status == RequestStatus.PENDING
    assert to_backup.due_at == MONDAY_0900 + timedelta(minutes=5, hours=8, seconds=1)
    fire_due(to_backup)  # and the backup is silent too
    to_manager = ApprovalRequest.objects.get(rerouted_from=to_backup)
    assert to_manager.approver == org.person(org.director) and to_manager.route == "manager of Lee Lead"
    outcomes = list(ApprovalDecision.objects.order_by("at", "id").values_list("outcome", flat=True))
    assert outcomes == [Outcome.REROUTED, Outcome.REROUTED]
    messages = list(
        esc.timeline.filter(kind=TimelineEvent.Kind.APPROVAL_REQUESTED).values_list("message", flat=True)
    )
    assert any("Lee Lead did not decide in time: the approval now goes to Deb Deputy" in m for m in messages)
    assert AuditEvent.objects.filter(action="approvals.rerouted").count() == 2
    services.approval_decide(approval=to_manager, actor=org.director, approve=True)
    esc.refresh_from_db()
    assert esc.current_level == 3 and cto_told(org)
    assert ApprovalDecision.objects.get(approval=to_manager).on_behalf_of_name == "Lee Lead"


def test_under_a_business_hours_policy_the_approver_has_business_hours(db):
    """Asked at 16:05 on a Friday in London (GMT) with four hours to decide: 1 h 25 min that
    evening, the rest on Monday from 09:00. Silence then re-routes on Monday, not all weekend."""
    office = build_org(calendar=BusinessCalendarFactory(), business_hours_only=True)
    friday = datetime(2025, 11, 21, 16, 0, tzinfo=UTC)
    esc = to_level_two(office, at=friday)
    ask = ask_for_the_cto(office, esc, at=friday + timedelta(minutes=5))
    monday = datetime(2025, 11, 24, 9, 0, tzinfo=UTC)
    assert ask.due_at == monday + timedelta(hours=2, minutes=35)
    fire_due(ask)
    ask.refresh_from_db()
    assert ask.rerouted_to.approver == office.person(office.deputy)
    assert ask.rerouted_to.due_at == ask.due_at + timedelta(hours=4, seconds=1)


def test_silence_all_the_way_up_starts_a_new_round_and_never_tells_the_executive(org):
    esc = to_level_two(org)
    ask_for_the_cto(org, esc)
    asked = []
    for _ in range(6):
        pending = ApprovalRequest.objects.get(escalation=esc, status=RequestStatus.PENDING)
        asked.append((pending.approver.full_name, pending.route))
        fire_due(pending)
    assert asked[:4] == [
        ("Lee Lead", "manager"),
        ("Deb Deputy", "backup of Lee Lead"),
        ("Dana Director", "manager of Lee Lead"),
        ("Lee Lead", "asked again: nobody decided in the first round"),
    ]
    esc.refresh_from_db()
    assert esc.status == Status.AWAITING_APPROVAL and not cto_told(org)  # the CTO is named: never an approver
    assert ApprovalRequest.objects.filter(escalation=esc, status=RequestStatus.PENDING).count() == 1


def test_when_nobody_at_all_can_decide_it_stays_put_and_the_owner_of_the_policy_is_told(org):
    from apps.accounts.models import User

    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    User.objects.filter(username__in=["deputy", "director", "lead"]).update(is_active=False)
    fire_due(ask)
    esc.refresh_from_db()
    assert esc.status == Status.OPEN and esc.current_level == 2 and not cto_told(org)
    assert Notification.objects.filter(template="approval_unanswered").exists()
    assert ApprovalDecision.objects.get(approval=ask).outcome == Outcome.REROUTED


def test_an_appeal_waits_while_the_level_has_been_asked_for_again(org):
    """Found by the state machine: rejected, then asked for again by a manager, then appealed.
    The database allows one pending request per level; the appeal is refused in plain words."""
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    services.approval_decide(
        approval=ask, actor=org.lead, approve=False, reason="Level 2 can still fix it today."
    )
    again = ask_for_the_cto(org, esc)
    with pytest.raises(Conflict, match="already waiting for an approval of level 3"):
        services.approval_appeal(
            approval=ask, actor=org.raiser, reason="It has been failing for six hours; customers are leaving."
        )
    assert list(ApprovalRequest.objects.filter(escalation=esc, status=RequestStatus.PENDING)) == [again]
    assert not ApprovalRequest.objects.filter(appeal_of=ask).exists()


def test_the_raiser_may_appeal_a_rejection_once_to_the_approvers_manager(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    services.approval_decide(
        approval=ask, actor=org.lead, approve=False, reason="Level 2 can still fix it today."
    )
    with pytest.raises(PermissionDenied):
        services.approval_appeal(approval=ask, actor=org.eng_manager, reason="I disagree with the lead.")
    appeal = services.approval_appeal(
        approval=ask, actor=org.raiser, reason="It has been failing for six hours; customers are leaving."
    )
    assert appeal.approver == org.person(org.director) and appeal.appeal_of == ask
    esc.refresh_from_db()
    assert esc.status == Status.AWAITING_APPROVAL and esc.pending_level == 3
    assert AuditEvent.objects.filter(
        action="protection.protected_act", data__act="appealed a rejected escalation"
    )
    with pytest.raises(Conflict, match="already been appealed once"):
        services.approval_appeal(approval=ask, actor=org.raiser, reason="And again, please, it is urgent.")
    services.approval_decide(
        approval=appeal, actor=org.director, approve=False, reason="Agree with the lead today."
    )
    with pytest.raises(Conflict, match="already been appealed once"):
        services.approval_appeal(approval=appeal, actor=org.raiser, reason="Once more to the CTO please.")


def test_going_around_an_unresponsive_approver_after_half_the_time(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    requester = org.raiser
    with time_machine.travel(MONDAY_0900 + timedelta(hours=1), tick=False):
        with pytest.raises(Conflict, match="you can go around them from"):
            services.approval_escalate_around(approval=ask, actor=requester, reason="No answer after an hour.")
    with time_machine.travel(MONDAY_0900 + timedelta(hours=2, minutes=10), tick=False):
        around = services.approval_escalate_around(
            approval=ask, actor=requester, reason="No answer and customers are leaving."
        )
    assert around.approver == org.person(org.director)  # straight to the manager: no backup detour
    assert ApprovalDecision.objects.get(approval=ask).outcome == Outcome.ESCALATED_AROUND
    assert AuditEvent.objects.filter(action="protection.protected_act").count() == 1


def test_a_brief_with_sensitive_content_is_held_back_and_nothing_changes(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    with pytest.raises(ValidationError) as exc:
        services.approval_decide(
            approval=ask,
            actor=org.lead,
            approve=True,
            brief_edits={"what_is_being_done": "Failing over db-1.prod.internal to 10.20.0.7"},
        )
    # Each match is said on the box that holds it (the page marks that field).
    assert set(exc.value.message_dict) == {"what_is_being_done"}
    messages = exc.value.message_dict["what_is_being_done"]
    assert any("looks like Internal hostname" in m for m in messages)
    assert any("“10.20.0.7” looks like IPv4 address" in m for m in messages)
    ask.refresh_from_db()
    assert ask.status == RequestStatus.PENDING and "10.20.0.7" not in ask.brief.what_is_being_done
    assert not cto_told(org)


def test_an_embargo_holds_the_brief_until_it_is_lifted(org):
    esc = to_level_two(org)
    esc_services.escalation_set_embargo(
        escalation=esc,
        actor=org.raiser,
        embargoed=True,
        reason="Market-sensitive until the 16:00 announcement.",
    )
    ask = ask_for_the_cto(org, esc)
    services.approval_decide(approval=ask, actor=org.lead, approve=True)
    brief_note = Notification.objects.get(template="executive_brief")
    assert brief_note.status == "held"
    esc.refresh_from_db()
    esc_services.escalation_set_embargo(
        escalation=esc, actor=org.raiser, embargoed=False, reason="Announced at 16:00."
    )
    brief_note.refresh_from_db()
    assert brief_note.status == "pending"
    assert "1 held message released" in esc.timeline.order_by("-id").first().message


def test_the_executive_acknowledges_the_brief_and_so_the_escalation(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    services.approval_decide(approval=ask, actor=org.lead, approve=True)
    services.brief_acknowledge(brief=ask.brief, actor=org.cto)
    esc.refresh_from_db()
    assert esc.status == Status.ACKNOWLEDGED
    assert BriefReceipt.objects.get().acknowledged_at is not None
    with pytest.raises(PermissionDenied):
        services.brief_acknowledge(brief=ask.brief, actor=org.lead)


def test_withdrawing_the_escalation_withdraws_its_pending_approval(org):
    esc = to_level_two(org)
    ask = ask_for_the_cto(org, esc)
    esc_services.escalation_withdraw(
        escalation=esc, actor=org.raiser, reason="Fixed by the vendor meanwhile."
    )
    ask.refresh_from_db()
    assert ask.status == RequestStatus.WITHDRAWN
    assert not Deadline.objects.filter(kind=services.REQUEST_DUE, fired_at=None, cancelled_at=None).exists()


def test_a_change_freeze_exception_uses_the_same_engine(org):
    from apps.policies.models import ChangeFreeze

    freeze = ChangeFreeze.objects.create(
        name="Black Friday",
        reason="Peak trading",
        starts_at=MONDAY_0900,
        ends_at=MONDAY_0900 + timedelta(days=5),
    )
    request = services.freeze_exception_request(
        freeze=freeze,
        actor=org.raiser,
        change_summary="Patch the payment gateway TLS library; rollback ready.",
    )
    assert request.approver == org.person(org.lead)
    services.approval_decide(approval=request, actor=org.lead, approve=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    fire_chain = ApprovalRequest.objects.filter(kind="freeze_exception").count()
    assert fire_chain == 1
