"""The statutory clocks with frozen time: 7 days to acknowledge, 3 months to give feedback
(month ends included), reminders to the reviewers, a backup reviewer, and silence once done.

"Due" is decided by the database's clock, which time-machine does not move: stories are set in
the past, and each deadline is fired with ``deadline_fire`` once the story reaches it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from guardian.shortcuts import get_users_with_perms

from apps.notifications.models import Notification
from apps.protection import services
from apps.protection.services import clocks
from apps.timers.models import Deadline
from apps.timers.services import Outcome, deadline_fire
from tests.protection.conftest import file_report

pytestmark = pytest.mark.django_db
RECEIVED = datetime(2025, 8, 1, 10, 0, tzinfo=UTC)


def pending(report, kind):
    return Deadline.objects.filter(
        subject_type="protection.protectionreport",
        subject_id=str(report.pk),
        kind=kind,
        fired_at=None,
        cancelled_at=None,
    )


def fire(report, kind) -> None:
    deadline = pending(report, kind).get()
    with time_machine.travel(deadline.due_at + timedelta(seconds=1), tick=False):
        assert deadline_fire(deadline_id=deadline.pk, token=deadline.token).outcome == Outcome.FIRED


def filed(at=RECEIVED, **kw):
    with time_machine.travel(at, tick=False):
        report, _ = file_report(**kw)
    return report


def mail_to(user, contains: str) -> int:
    return Notification.objects.filter(recipient_key=f"user:{user.pk}", subject__icontains=contains).count()


def test_acknowledgement_is_due_7_days_after_receipt_and_feedback_3_months_after_that(officer):
    report = filed()
    assert report.ack_due_at == RECEIVED + timedelta(days=7)
    assert report.feedback_due_at == datetime(2025, 11, 8, 10, 0, tzinfo=UTC)  # 3 months after the 7 days
    assert pending(report, clocks.ACK_DUE).get().due_at == report.ack_due_at
    assert pending(report, clocks.FEEDBACK_DUE).get().due_at == report.feedback_due_at


@pytest.mark.parametrize(
    "acknowledged,due",
    [
        (datetime(2025, 11, 30, 9, 0, tzinfo=UTC), datetime(2026, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2027, 11, 30, 9, 0, tzinfo=UTC), datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),  # leap year
        (datetime(2025, 5, 31, 9, 0, tzinfo=UTC), datetime(2025, 8, 31, 9, 0, tzinfo=UTC)),
    ],
)
def test_feedback_counts_calendar_months_from_the_acknowledgement(officer, acknowledged, due):
    report = filed(at=acknowledged - timedelta(days=2))
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    with time_machine.travel(acknowledged, tick=False):
        report = services.report_acknowledge(
            report=report, actor=officer, text="Received, we are looking into it."
        )
    assert report.feedback_due_at == due
    assert pending(report, clocks.FEEDBACK_DUE).get().due_at == due
    assert not pending(report, clocks.ACK_DUE).exists() and not pending(report, clocks.ACK_REMINDER).exists()


def test_reviewers_are_reminded_before_each_due_date_and_told_when_it_passes(officer, second_officer):
    report = filed()
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    assert pending(report, clocks.ACK_REMINDER).get().due_at == report.ack_due_at - timedelta(days=2)
    fire(report, clocks.ACK_REMINDER)
    fire(report, clocks.ACK_DUE)
    assert mail_to(officer, "within 2 days") == 1 and mail_to(officer, "overdue for acknowledgement") == 1
    assert mail_to(second_officer, "within 2 days") == 0  # reviewers only, once there are some
    fire(report, clocks.FEEDBACK_REMINDER)
    assert mail_to(officer, "due in 14 days") == 1


def test_reminders_stop_once_the_event_is_recorded(officer):
    report = filed()
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    with time_machine.travel(RECEIVED + timedelta(days=1), tick=False):
        services.report_acknowledge(report=report, actor=officer, text="Received.")
        services.report_send_feedback(
            report=report, actor=officer, text="We spoke to the team; the rota is reversed."
        )
    for kind in (clocks.ACK_DUE, clocks.ACK_REMINDER, clocks.FEEDBACK_DUE, clocks.FEEDBACK_REMINDER):
        assert not pending(report, kind).exists(), kind
    assert mail_to(officer, "within") == mail_to(officer, "overdue") == 0


def test_a_case_nobody_opens_gets_a_backup_reviewer(officer, second_officer):
    report = filed()
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    fire(report, clocks.UNOPENED)
    assert set(get_users_with_perms(report, only_with_perms_in=["review_protectionreport"])) == {
        officer,
        second_officer,
    }
    assert mail_to(second_officer, "backup reviewer") == 1


def test_an_opened_case_gets_no_backup(officer, second_officer):
    report = filed()
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    services.report_mark_opened(report=report, actor=officer)
    assert not pending(report, clocks.UNOPENED).exists()
