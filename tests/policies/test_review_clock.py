"""The review clock: a policy due for review notifies its owner once, and shows as overdue.

Deadlines are fired by ``sweep_due_deadlines``, which asks the database for the time; a
deadline is made due by saving its policy with a review date already passed (or by travelling
back in time to save it), never by moving the Python clock forward past the database's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.notifications.models import Notification
from apps.policies.models import EscalationPolicy
from apps.policies.selectors import policies_due_for_review
from apps.policies.services import REVIEW_DUE, policy_mark_reviewed, policy_save
from apps.timers.models import Deadline
from apps.timers.services import Outcome, deadline_fire, deadline_schedule, sweep_due_deadlines
from tests.factories import ContactMethodFactory, full_matrix, reachable_person, saved_policy, two_level_chain

pytestmark = pytest.mark.django_db


def review_deadlines(policy) -> list[Deadline]:
    return list(Deadline.objects.filter(kind=REVIEW_DUE, subject_id=str(policy.pk)).order_by("pk"))


def pending(policy) -> list[Deadline]:
    return [d for d in review_deadlines(policy) if d.status == "pending"]


def owner_with_pager_email():
    """An owner whose email contact method differs from the address on their record."""
    owner = reachable_person(rank=50, full_name="Olivia Owner", email="olivia@example.com")
    owner.contact_methods.all().delete()
    ContactMethodFactory(person=owner, kind="phone", value="+447700900123", priority=1)
    ContactMethodFactory(person=owner, kind="email", value="olivia.pager@example.org", priority=2)
    return owner


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


# --- scheduling ------------------------------------------------------------------------------


def test_saving_a_policy_schedules_one_review_deadline_at_its_review_date(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=date(2030, 5, 17))
    [deadline] = review_deadlines(policy)
    assert (deadline.subject_type, deadline.status) == ("policies.escalationpolicy", "pending")
    assert deadline.due_at == datetime(2030, 5, 17, 9, 0, tzinfo=UTC)


def test_re_saving_cancels_the_old_deadline_and_schedules_the_new_date(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=date(2030, 5, 17))
    policy.next_review_on = date(2030, 6, 1)
    policy_save(
        policy=policy,
        levels=two_level_chain(),
        thresholds=full_matrix(),
        actor=gov_admin,
        reason="Review later",
    )
    old, new = review_deadlines(policy)
    assert old.status == "cancelled"
    assert (new.status, new.due_at) == ("pending", datetime(2030, 6, 1, 9, 0, tzinfo=UTC))


def test_re_saving_without_changing_the_date_keeps_one_pending_deadline(gov_admin):
    policy = saved_policy(actor=gov_admin)
    for reason in ("First edit", "Second edit"):
        policy_save(
            policy=policy, levels=two_level_chain(), thresholds=full_matrix(), actor=gov_admin, reason=reason
        )
    assert len(pending(policy)) == 1
    assert len(review_deadlines(policy)) == 3


def test_marking_reviewed_moves_the_review_date_by_the_interval(gov_admin):
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        policy = saved_policy(actor=gov_admin, next_review_on=date(2026, 3, 10), review_interval_days=90)
        policy_mark_reviewed(policy=policy, actor=gov_admin, notes="Checked every contact")
    policy.refresh_from_db()
    assert policy.next_review_on == date(2026, 5, 31)  # 2 March + 90 days
    old, new = review_deadlines(policy)
    assert old.status == "cancelled"
    assert (new.status, new.due_at) == ("pending", datetime(2026, 5, 31, 9, 0, tzinfo=UTC))


def test_marking_reviewed_is_history_and_audit(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=date(2030, 5, 17))
    policy_mark_reviewed(policy=policy, actor=gov_admin, notes="Checked every contact")
    entry = policy.history.first()
    assert (entry.history_change_reason, entry.history_user_username) == (
        "Reviewed: Checked every contact",
        "gov_admin",
    )
    event = AuditEvent.objects.get(action="policies.policy_reviewed")
    assert (event.data["notes"], event.data["was_due"]) == ("Checked every contact", "2030-05-17")


def test_marking_reviewed_needs_notes(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=date(2030, 5, 17))
    with pytest.raises(ValidationError) as caught:
        policy_mark_reviewed(policy=policy, actor=gov_admin, notes="ok")
    assert "change_reason" in caught.value.message_dict
    assert EscalationPolicy.objects.get(pk=policy.pk).next_review_on == date(2030, 5, 17)
    assert len(pending(policy)) == 1


def test_a_retired_policy_has_no_review_clock(gov_admin):
    policy = saved_policy(actor=gov_admin, active=False)
    assert pending(policy) == []


# --- firing ----------------------------------------------------------------------------------


def test_a_due_review_puts_one_notification_to_the_owner_in_the_outbox(gov_admin):
    owner = owner_with_pager_email()
    policy = saved_policy(actor=gov_admin, owner=owner, next_review_on=yesterday(), name="Outage")
    assert sweep_due_deadlines().fired == 1
    note = Notification.objects.get()
    # The owner's contact methods in their order; the address on record is not added when
    # one of them is an email.
    assert note.methods == [["phone", "+447700900123"], ["email", "olivia.pager@example.org"]]
    assert (note.recipient_key, note.recipient_name, note.status) == (
        f"person:{owner.pk}",
        "Olivia Owner",
        "pending",
    )
    assert note.subject == "Review due: escalation policy “Outage”"
    assert note.body.startswith(
        "Hello Olivia Owner,\n\nThe escalation policy “Outage” was due for review on "
    )
    assert f"/policies/{policy.pk}/" in note.body
    assert (note.subject_type, note.subject_id) == ("policies.escalationpolicy", str(policy.pk))
    assert review_deadlines(policy)[0].status == "fired"


def test_a_due_review_is_audited(gov_admin):
    policy = saved_policy(actor=gov_admin, owner=owner_with_pager_email(), next_review_on=yesterday())
    sweep_due_deadlines()
    event = AuditEvent.objects.get(action="policies.review_due")
    assert (event.target_type, event.target_id) == ("policies.escalationpolicy", str(policy.pk))
    assert (event.data["due_on"], event.data["owner"]) == (yesterday().isoformat(), "Olivia Owner")


def test_the_owner_without_an_email_method_is_also_written_to_at_their_address(gov_admin):
    owner = reachable_person(rank=50, email="olivia@example.com")
    owner.contact_methods.all().delete()
    ContactMethodFactory(person=owner, kind="phone", value="+447700900123", priority=1)
    saved_policy(actor=gov_admin, owner=owner, next_review_on=yesterday())
    sweep_due_deadlines()
    assert Notification.objects.get().methods == [["phone", "+447700900123"], ["email", "olivia@example.com"]]


def test_it_fires_when_the_review_date_comes_round(gov_admin):
    # Saved back in February with a review on 1 March: by now, it is long due.
    with time_machine.travel(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=False):
        policy = saved_policy(actor=gov_admin, next_review_on=date(2026, 3, 1))
    [deadline] = pending(policy)
    assert deadline.due_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert sweep_due_deadlines().fired == 1
    assert Notification.objects.filter(event_key=f"policy-review:{policy.pk}:2026-03-01").count() == 1


def test_a_duplicate_deadline_never_sends_a_second_notification(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=yesterday())
    duplicate = deadline_schedule(
        kind=REVIEW_DUE, subject=policy, due_at=datetime.combine(yesterday(), time(9), UTC)
    )
    assert sweep_due_deadlines().fired == 2
    assert Notification.objects.count() == 1
    assert deadline_fire(deadline_id=duplicate.pk).outcome == Outcome.STALE


def test_editing_an_overdue_policy_does_not_notify_again(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=yesterday())
    sweep_due_deadlines()
    policy_save(
        policy=policy,
        levels=two_level_chain(),
        thresholds=full_matrix(),
        actor=gov_admin,
        reason="Small edit",
    )
    sweep_due_deadlines()
    assert Notification.objects.count() == 1


def test_a_policy_reviewed_before_its_deadline_fires_sends_nothing(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=yesterday())
    [deadline] = review_deadlines(policy)
    policy_mark_reviewed(policy=policy, actor=gov_admin, notes="Reviewed just in time")
    assert deadline_fire(deadline_id=deadline.pk).outcome == Outcome.STALE
    assert sweep_due_deadlines().fired == 0
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(action="policies.review_due").exists()


def test_a_deadline_left_behind_for_a_reviewed_policy_sends_nothing(gov_admin):
    # However a stray review deadline came about, firing it for a policy not yet due is a no-op.
    policy = saved_policy(actor=gov_admin, next_review_on=timezone.localdate() + timedelta(days=30))
    deadline_schedule(kind=REVIEW_DUE, subject=policy, due_at=timezone.now() - timedelta(hours=1))
    assert sweep_due_deadlines().fired == 1
    assert not Notification.objects.exists()


def test_a_retired_policy_sends_nothing_when_a_deadline_fires(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=yesterday())
    EscalationPolicy.objects.filter(pk=policy.pk).update(active=False)
    assert sweep_due_deadlines().fired == 1
    assert not Notification.objects.exists()


# --- the dashboard list ----------------------------------------------------------------------


def test_policies_due_for_review_lists_overdue_policies_only(gov_admin):
    today = timezone.localdate()
    overdue = saved_policy(actor=gov_admin, next_review_on=today - timedelta(days=10), name="Overdue")
    due_today = saved_policy(actor=gov_admin, next_review_on=today, name="Due today")
    saved_policy(actor=gov_admin, next_review_on=today + timedelta(days=1), name="Due tomorrow")
    saved_policy(actor=gov_admin, next_review_on=today - timedelta(days=3), name="Retired", active=False)
    assert list(policies_due_for_review()) == [overdue, due_today]
    assert overdue.review_overdue and due_today.review_overdue


def test_a_reviewed_policy_leaves_the_overdue_list(gov_admin):
    policy = saved_policy(actor=gov_admin, next_review_on=timezone.localdate() - timedelta(days=10))
    policy_mark_reviewed(policy=policy, actor=gov_admin, notes="Everything checked")
    assert list(policies_due_for_review()) == []
