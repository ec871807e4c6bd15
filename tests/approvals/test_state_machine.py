"""A randomized scenario (hypothesis state machine) over raise, escalate, approve, reject,
appeal, go around, withdraw, resolve and time passing. After every step:

- no executive notification exists for an escalation without an approved request for that
  level (the brief, and anything else sent to the level's executive);
- every request ends decided, re-routed or withdrawn, and a pending one always has its own
  pending deadline: never stuck;
- an escalation awaiting approval has exactly one pending request for its pending level, and
  one that is not awaiting has none.

Each example runs in a transaction rolled back at its end. Time is moved with time-machine
from November 2025 (the database's clock, which decides "due", is later than all of it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from apps.approvals import services
from apps.approvals.models import ApprovalRequest, RequestStatus
from apps.common.errors import Conflict
from apps.escalations import services as esc_services
from apps.escalations.models import Escalation, Status
from apps.notifications.models import Notification
from apps.timers.models import Deadline
from apps.timers.services import deadline_fire
from tests.approvals.conftest import MONDAY_0900, build_org
from tests.escalations.conftest import raise_one

REFUSALS = (Conflict, PermissionDenied, ValidationError)
ACTORS = ["raiser", "engineer", "eng_manager", "lead", "deputy", "director", "cto"]


class ApprovalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.now = MONDAY_0900
        with self.clock():
            self.org = build_org()
        self.cto = self.org.person(self.org.cto)

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def clock(self):
        return time_machine.travel(self.now, tick=False)

    def user(self, name: str):
        return getattr(self.org, name)

    def attempt(self, action) -> None:
        """Run one action as a person would: a refusal is a legitimate outcome, and must leave
        nothing half-done (the savepoint is rolled back, as a request's transaction would be)."""
        with self.clock():
            try:
                with transaction.atomic():
                    action()
            except REFUSALS:
                pass

    def escalations(self) -> list[Escalation]:
        return list(Escalation.objects.order_by("pk"))

    # --- rules ----------------------------------------------------------------------------------

    @rule()
    def raise_escalation(self) -> None:
        self.attempt(lambda: raise_one(self.org))

    @precondition(lambda self: Escalation.objects.exists())
    @rule(data=st.data(), who=st.sampled_from(ACTORS), level=st.sampled_from([None, 2, 3]))
    def escalate(self, data, who, level) -> None:
        esc = data.draw(st.sampled_from(self.escalations()))
        owner = esc.owner_id
        self.attempt(
            lambda: esc_services.escalation_escalate(
                escalation=esc,
                actor=self.user(who),
                to_level=level,
                reason="The outcome is at risk right now.",
            )
        )
        # Climbing engages more authority; it never takes the case from whoever works it.
        assert Escalation.objects.get(pk=esc.pk).owner_id == owner

    @precondition(lambda self: Escalation.objects.exclude(engaged=None).exists())
    @rule(data=st.data())
    def take_ownership(self, data) -> None:
        esc = data.draw(st.sampled_from(list(Escalation.objects.exclude(engaged=None).select_related("engaged"))))
        user = esc.engaged.user
        if user is not None:
            self.attempt(lambda: esc_services.escalation_take_ownership(escalation=esc, actor=user))

    @precondition(lambda self: ApprovalRequest.objects.filter(status=RequestStatus.PENDING).exists())
    @rule(data=st.data(), who=st.sampled_from(ACTORS), approve=st.booleans(), give_reason=st.booleans())
    def decide(self, data, who, approve, give_reason) -> None:
        ask = data.draw(st.sampled_from(list(ApprovalRequest.objects.filter(status=RequestStatus.PENDING))))
        reason = "Level two can still handle it." if give_reason else ""
        self.attempt(
            lambda: services.approval_decide(
                approval=ask, actor=self.user(who), approve=approve, reason=reason
            )
        )

    @precondition(lambda self: ApprovalRequest.objects.filter(status=RequestStatus.REJECTED).exists())
    @rule(data=st.data(), who=st.sampled_from(["raiser", "eng_manager"]))
    def appeal(self, data, who) -> None:
        ask = data.draw(st.sampled_from(list(ApprovalRequest.objects.filter(status=RequestStatus.REJECTED))))
        self.attempt(
            lambda: services.approval_appeal(
                approval=ask, actor=self.user(who), reason="Customers are leaving; please reconsider."
            )
        )

    @precondition(lambda self: ApprovalRequest.objects.filter(status=RequestStatus.PENDING).exists())
    @rule(data=st.data())
    def go_around(self, data) -> None:
        ask = data.draw(st.sampled_from(list(ApprovalRequest.objects.filter(status=RequestStatus.PENDING))))
        self.attempt(
            lambda: services.approval_escalate_around(
                approval=ask, actor=self.org.raiser, reason="No answer, and it is getting worse."
            )
        )

    @precondition(lambda self: Escalation.objects.exists())
    @rule(data=st.data(), resolve=st.booleans())
    def withdraw_or_resolve(self, data, resolve) -> None:
        esc = data.draw(st.sampled_from(self.escalations()))

        def act():
            if resolve:
                owner = esc.owner.user if esc.owner and esc.owner.user else self.org.engineer
                esc_services.escalation_resolve(
                    escalation=esc,
                    actor=owner,
                    summary="Rolled back the bad deploy.",
                    criteria_confirmed=Escalation.objects.get(pk=esc.pk).criteria,
                )
            else:
                esc_services.escalation_withdraw(
                    escalation=esc, actor=self.org.raiser, reason="No longer at risk after the vendor fix."
                )

        self.attempt(act)

    @rule(minutes=st.sampled_from([5, 30, 130, 250, 600]))
    def time_passes(self, minutes) -> None:
        """Move the clock on and fire, in order, every deadline that came due meanwhile."""
        self.now += timedelta(minutes=minutes)
        for _ in range(3000):
            deadline = (
                Deadline.objects.filter(fired_at=None, cancelled_at=None, due_at__lte=self.now)
                .order_by("due_at", "pk")
                .first()
            )
            if deadline is None:
                return
            with time_machine.travel(max(deadline.due_at, self.now - timedelta(minutes=minutes)), tick=False):
                deadline_fire(deadline_id=deadline.pk, token=deadline.token)
            deadline.refresh_from_db()
            assert deadline.fired_at is not None, f"deadline {deadline} failed: {deadline.last_error}"
        raise AssertionError("deadlines keep coming due: a clock is looping")

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def no_executive_hears_without_an_approval(self) -> None:
        told = Notification.objects.filter(
            recipient_key=f"person:{self.cto.pk}", subject_type="escalations.escalation"
        )
        for esc_id in set(told.values_list("subject_id", flat=True)):
            assert ApprovalRequest.objects.filter(
                escalation_id=int(esc_id), level=3, status=RequestStatus.APPROVED
            ).exists(), (
                f"the CTO was told about escalation {esc_id} without an approved request: "
                f"{list(told.filter(subject_id=esc_id).values_list('template', flat=True))}"
            )

    @invariant()
    def whoever_owns_it_is_among_its_responders(self) -> None:
        for esc in Escalation.objects.exclude(owner=None):
            assert esc.responders.filter(pk=esc.owner_id).exists(), esc.reference

    @invariant()
    def no_request_is_stuck(self) -> None:
        for ask in ApprovalRequest.objects.filter(status=RequestStatus.PENDING):
            assert Deadline.objects.filter(
                kind=services.REQUEST_DUE, subject_id=str(ask.pk), fired_at=None, cancelled_at=None
            ).exists(), f"request {ask.pk} pending with no clock"
        for ask in ApprovalRequest.objects.exclude(status=RequestStatus.PENDING):
            assert ask.decided_at is not None and ask.decisions.exists(), f"request {ask.pk} ended unrecorded"
            if ask.status == RequestStatus.EXPIRED:
                assert hasattr(ask, "rerouted_to") or ask.decisions.filter(outcome="rerouted").exists()

    @invariant()
    def awaiting_means_exactly_one_pending_request(self) -> None:
        for esc in Escalation.objects.all():
            pending = ApprovalRequest.objects.filter(escalation=esc, status=RequestStatus.PENDING)
            if esc.status == Status.AWAITING_APPROVAL:
                assert list(pending.values_list("level", flat=True)) == [esc.pending_level], esc.reference
            else:
                assert not pending.exists(), f"{esc.reference} is {esc.status} with a pending request"


ApprovalMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.django_db
@pytest.mark.timeout(600)
def test_approvals_never_let_an_executive_hear_unapproved_and_never_get_stuck():
    ApprovalMachine.TestCase("runTest").runTest()
